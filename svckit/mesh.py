"""Synchronous calls through Envoy's mesh listener: deadlines passed on, bounded retries of idempotent calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

logger = logging.getLogger(__name__)

T = TypeVar("T")
MARGIN_S = 0.05  # left to the caller to undo its work when a dependency runs out of time
MIN_CALL_S = 0.01


class Deadline:
    """An absolute point in time; every call made for one request shares it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    @classmethod
    def of(cls, context: grpc.aio.ServicerContext, default_s: float) -> Deadline:
        """The incoming call's deadline less a margin, or `default_s` when the caller set none."""
        remaining = context.time_remaining()
        if remaining is None or remaining > 1e6:
            return cls(default_s)
        return cls(max(remaining - MARGIN_S, 0.0))

    def remaining(self) -> float:
        return self.at - time.monotonic()


def channel(addr: str) -> grpc.aio.Channel:
    """One channel to the mesh listener per process; `no_proxy`-proof (no HTTP proxy for loopback)."""
    return grpc.aio.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])


def overloaded(exc: grpc.aio.AioRpcError) -> bool:
    """Envoy's circuit breaker answered: retrying would only add to the overload."""
    metadata = list(exc.trailing_metadata() or ()) + list(exc.initial_metadata() or ())
    return any(key == "x-envoy-overloaded" for key, _ in metadata)


def no_healthy_upstream(exc: grpc.aio.AioRpcError) -> bool:
    """Envoy has no replica to route to (all failing health checks or ejected): the breaker is open."""
    return exc.code() == grpc.StatusCode.UNAVAILABLE and exc.details() == "no healthy upstream"


def _retriable(exc: BaseException) -> bool:
    """UNAVAILABLE from a replica or a lost connection; not when Envoy's breaker already said no."""
    if not isinstance(exc, grpc.aio.AioRpcError) or exc.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    return not (overloaded(exc) or no_healthy_upstream(exc))


async def call(
    rpc: Callable[..., Awaitable[T]], request: object, deadline: Deadline, *, idempotent: bool, attempts: int = 3
) -> T:
    """Call `rpc` within `deadline`; an idempotent call is retried on UNAVAILABLE with jittered backoff.

    Raises grpc.aio.AioRpcError; DEADLINE_EXCEEDED when the deadline is already spent.
    """

    async def once() -> T:
        remaining = deadline.remaining()
        if remaining < MIN_CALL_S:
            raise DeadlineSpent()
        return await rpc(request, timeout=remaining)

    if not idempotent:
        return await once()
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.02, max=0.2),
        retry=retry_if_exception(lambda e: _retriable(e) and deadline.remaining() > 0.1),
        reraise=True,
    ):
        with attempt:
            return await once()
    raise AssertionError("unreachable")  # pragma: no cover


class DeadlineSpent(grpc.aio.AioRpcError):
    """Raised before calling when nothing of the deadline is left."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), details="deadline spent"
        )
