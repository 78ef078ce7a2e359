"""An event that overtakes work still running in its consumer's process is retried when that work ends, not
redelivered on a timer; work elsewhere (another replica) leaves it to JetStream's delayed redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import pytest

from svckit import broker, events
from svckit.consumer import consume
from svckit.db import Database
from svckit.policies import ACK_WAIT_S, Subscription
from svckit.retries import Redelivery, RetryLater
from svckit.tables import plumbing
from svckit.uow import UnitOfWork
from svckit.waits import Underway
from tests.conftest import Nats
from tests.test_redelivery import DURABLE, count, effects, effects_md, message

pytestmark = pytest.mark.integration
SLOW = Redelivery(max_wait_s=60)  # a redelivered wait would show in num_redelivered


class WaitsForTheSaga:
    """Asks to wait for the saga of the room while `pending` holds it; records the event otherwise."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.calls = 0

    def __call__(self, uow: UnitOfWork, event: object, envelope: events.EventEnvelope) -> None:
        self.calls += 1
        room_id = event.room_id  # type: ignore[attr-defined]
        if room_id in self.pending:
            raise RetryLater(f"saga of {room_id} still running", awaits=room_id)
        uow.conn.execute(effects.insert(), {"event_id": envelope.event_id})


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/view.db", producer="view")
    for metadata in (plumbing, effects_md):
        metadata.create_all(database.engine)
    return database


async def until(check: Callable[[], bool | Awaitable[bool]], timeout_s: float = 15.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            result = check()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.01)


async def _scenario(
    url: str, db: Database, underway: Underway, here: bool, ack_wait_s: float = ACK_WAIT_S, runs_s: float = 0.0
) -> tuple[int, int]:
    """One event arrives while its saga runs (`here`: in this process); the saga ends `runs_s` after the event was
    tried. Returns how often the handler ran and how often JetStream redelivered the message."""
    policy = WaitsForTheSaga()
    policy.pending.add("room-1")
    nc = await broker.connect(url, "test")
    js = nc.jetstream()
    await broker.ensure_stream(js, "room", 1)
    data, subject, _ = message("room-1", 1)
    await js.publish(subject, data, headers={"Nats-Msg-Id": events.decode(data)[0].event_id})
    sub = Subscription(DURABLE, "room", {"RoomRegistered": policy}, ack_wait_s=ack_wait_s)
    consuming = asyncio.create_task(consume(nc, db, sub, SLOW, underway if here else None))
    try:
        with underway.running("room-1"):
            await until(lambda: policy.calls >= 1)
            await asyncio.sleep(runs_s)  # the saga runs on: a time span, not a readiness to wait for
            policy.pending.clear()  # the saga commits, then leaves
        await until(lambda: count(db, effects) == 1)
        await until(lambda: _acked(js))
        info = await js.consumer_info("ROOM", DURABLE)
        return policy.calls, info.delivered.consumer_seq - 1  # deliveries after the first
    finally:
        consuming.cancel()
        await nc.close()


async def _acked(js: nats.js.JetStreamContext) -> bool:
    info = await js.consumer_info("ROOM", DURABLE)
    return info.num_ack_pending == 0 and info.num_pending == 0


def test_an_event_waiting_for_a_saga_underway_here_is_retried_when_it_ends(nats_server: Nats, db: Database) -> None:
    calls, redelivered = asyncio.run(_scenario(nats_server.url, db, Underway(), here=True))
    assert (calls, redelivered) == (2, 0)  # tried, then tried again at once: never redelivered
    assert count(db, effects) == 1


def test_an_event_waiting_longer_than_the_ack_wait_is_not_redelivered_meanwhile(
    nats_server: Nats, db: Database
) -> None:
    calls, redelivered = asyncio.run(_scenario(nats_server.url, db, Underway(), True, ack_wait_s=1, runs_s=2.5))
    assert (calls, redelivered) == (2, 0)  # its consumer said it was still at work: JetStream waited
    assert count(db, effects) == 1


def test_without_the_work_underway_here_the_event_is_redelivered(nats_server: Nats, db: Database) -> None:
    calls, redelivered = asyncio.run(_scenario(nats_server.url, db, Underway(), here=False))
    assert calls >= 2 and redelivered >= 1  # JetStream's delayed redelivery brought it back
    assert count(db, effects) == 1


def test_waiting_ends_at_once_for_work_not_underway_and_on_timeout() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        underway = Underway()
        unknown = await underway.ended("nothing", 5)
        with underway.running("slow"):
            timed_out = await underway.ended("slow", 0.05)
            waiter = asyncio.create_task(underway.ended("slow", 5))
            await asyncio.sleep(0)
        return unknown, timed_out, await waiter

    assert asyncio.run(scenario()) == (False, False, True)
