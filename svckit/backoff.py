"""Again and again until it works, backing off: the relays' way with a broker or a sender that is away.

(svckit.broker.persistently is start-up's way: a fixed interval, any error, until the broker is there.)"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

T = TypeVar("T")


async def with_backoff(
    attempt: Callable[[], Awaitable[T]], retry_on: type[Exception], wait_s: tuple[float, float], log: logging.Logger
) -> T:
    """`await attempt()` until it returns; after each `retry_on` a warning, then a random exponential backoff
    (`wait_s`: its scale and its longest wait). Any other exception is raised at once.

    The first try is made outside tenacity: setting its retrying up costs about 28 us, more than a relay's whole
    pass when nothing fails (each commit's events, each batch of notifications). Only a failure pays for it, and
    its first backoff is the one that try would have had.
    """
    try:
        return await attempt()
    except retry_on as exc:
        failure: Exception | None = exc

    def warn(state: RetryCallState) -> None:
        log.warning("%s; retrying", state.outcome and state.outcome.exception())

    async for retrying in AsyncRetrying(
        wait=wait_random_exponential(multiplier=wait_s[0], max=wait_s[1]),
        retry=retry_if_exception_type(retry_on),
        before_sleep=warn,
    ):
        with retrying:
            if failure is not None:  # the first try's: tenacity takes it as its own first attempt
                raised, failure = failure, None
                raise raised
            return await attempt()
    raise AssertionError("not reached: the retrying above ends only by returning or raising")
