"""Work under way in this process that an event may have to wait for: the event is retried when it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class Underway:
    """Keys of work running in this process (a saga, by its reservation id), each with an event set when it ends.

    A consumer whose handler raised RetryLater(awaits=key) waits here instead of on a redelivery timer when the
    key is underway in this process: its event is then retried as soon as the work has committed (or was undone).
    Work in another process (a replica) is not known here: its events are redelivered after a delay as before.
    """

    def __init__(self) -> None:
        self._ends: dict[str, asyncio.Event] = {}

    @contextmanager
    def running(self, key: str) -> Iterator[None]:
        """The block is the work on `key`; whoever waits for it is woken when the block is left."""
        ended = self._ends[key] = asyncio.Event()
        try:
            yield
        finally:
            del self._ends[key]
            ended.set()

    async def ended(self, key: str, timeout_s: float) -> bool:
        """Wait until the work on `key` ends; False at once when none runs here, or when `timeout_s` passes first."""
        ended = self._ends.get(key)
        if ended is None:
            return False
        try:
            await asyncio.wait_for(ended.wait(), timeout_s)
        except TimeoutError:
            return False
        return True
