"""A producing service keeps asking for its stream until the broker takes it (a new cluster's elections)."""

from __future__ import annotations

import asyncio
import functools

import nats.errors
from nats.js.api import StreamConfig, StreamInfo
from nats.js.errors import NotFoundError

from svckit import broker


class ElectingJetStream:
    """Answers JetStream's API with timeouts `busy` times (leaders not elected yet), then creates the stream."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.created: list[tuple[str | None, int | None]] = []

    async def stream_info(self, name: str) -> StreamInfo:
        if self.busy:
            self.busy -= 1
            raise nats.errors.TimeoutError
        raise NotFoundError

    async def add_stream(self, config: StreamConfig) -> None:
        self.created.append((config.name, config.num_replicas))


def test_the_stream_is_asked_for_until_the_cluster_answers() -> None:
    js = ElectingJetStream(busy=3)
    own = functools.partial(broker.ensure_stream, js, "reservation", 3)  # type: ignore[arg-type]
    asyncio.run(broker.persistently(own, "stream RESERVATION", retry_s=0.001))
    assert (js.busy, js.created) == (0, [("RESERVATION", 3)])
