"""A consumer off the saga's path may let a batch wait for more events (svckit.pull.batches' linger): what
arrives meanwhile joins the first event's batch; without a linger each event is handed on as it comes."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from svckit import broker, events, pull
from svckit.policies import Subscription
from tests.conftest import Nats
from tests.test_redelivery import message

pytestmark = pytest.mark.integration
LATER_S = 0.1  # the second event comes this long after the first


async def _first_batch(url: str, linger_s: float) -> tuple[int, float]:
    """How many events the first batch held, and how long after the first publish it was handed on."""
    nc = await broker.connect(url, "linger")
    js = nc.jetstream()
    try:
        await broker.ensure_stream(js, "room", 1)
        sub = Subscription("view-room-linger", "room", {"RoomRegistered": lambda *_: None})
        stream = events.stream_name("room")
        await js.add_consumer(stream, sub.config())
        loop = asyncio.get_running_loop()

        async def publish(i: int) -> None:
            data, subject, _ = message(f"room-{i}", i)
            await js.publish(subject, data, headers={"Nats-Msg-Id": events.decode(data)[0].event_id})

        async def later() -> None:
            await asyncio.sleep(LATER_S)
            await publish(2)

        async with contextlib.aclosing(pull.batches(nc, stream, sub.durable, linger_s=linger_s)) as batches:
            await publish(1)
            started = loop.time()
            second = asyncio.create_task(later())
            first = await asyncio.wait_for(anext(batches), 10)
            took = loop.time() - started
            await second
        return len(first), took
    finally:
        await nc.close()


def test_a_lingering_batch_takes_in_what_arrives_meanwhile(nats_server: Nats) -> None:
    held, took = asyncio.run(_first_batch(nats_server.url, linger_s=3 * LATER_S))
    assert held == 2
    assert took >= 3 * LATER_S


def test_without_a_linger_the_first_event_goes_on_alone(nats_server: Nats) -> None:
    held, _ = asyncio.run(_first_batch(nats_server.url, linger_s=0.0))
    assert held == 1
