"""A consumer that stops (SIGTERM: a rollout, a scale-down) settles the batch in hand and hands back what was
delivered to it and not applied: a replica gets those at once, not after the ack wait."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import nats
import pytest

from svckit import broker, events
from svckit.consumer import consume
from svckit.db import Database
from svckit.policies import ACK_WAIT_S, Subscription
from svckit.server import together
from tests import test_redelivery
from tests.conftest import Nats
from tests.test_redelivery import DURABLE, count, effects, message
from tests.test_waiting_for_work_underway import until

pytestmark = pytest.mark.integration
# SQLite applies a batch on the event loop; PostgreSQL on a database thread, the loop (and a stop) going on.
db = test_redelivery.db
EVENTS = 30
PATIENCE_S = ACK_WAIT_S / 2  # what comes back only after the ack wait fails the test


class Recorded:
    """Records each event in `effects`; with a `gate`, the first one waits for it (a batch still being applied)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate, self.entered, self.calls = gate, threading.Event(), 0

    def __call__(self, uow: Any, event: object, envelope: events.EventEnvelope) -> None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(PATIENCE_S), "the test never opened the gate"
        uow.conn.execute(effects.insert(), {"event_id": envelope.event_id})


async def publish(js: nats.js.JetStreamContext, rooms: range) -> None:
    for i in rooms:
        data, subject, _ = message(f"room-{i}", i)
        await js.publish(subject, data, headers={"Nats-Msg-Id": events.decode(data)[0].event_id})


class Replica:
    """A consumer of DURABLE on a thread and event loop of its own (its handler may block, as SQLite's do)."""

    def __init__(self, url: str, db: Database, policy: Recorded) -> None:
        self.ready = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(url, db, policy),), daemon=True)
        self.thread.start()
        assert self.ready.wait(PATIENCE_S)

    async def _run(self, url: str, db: Database, policy: Recorded) -> None:
        nc = await broker.connect(url, "stopping")
        self.loop, self.task = asyncio.get_running_loop(), asyncio.current_task()
        self.ready.set()
        try:
            await consume(nc, db, Subscription(DURABLE, "room", {"RoomRegistered": policy}))
        except asyncio.CancelledError:
            self.task.uncancel()  # type: ignore[union-attr]  # stopped, as asked: the thread ends quietly
        finally:
            await nc.close()

    def stop(self) -> None:
        """What SIGTERM does to a service's consumers: cancel them."""
        self.loop.call_soon_threadsafe(self.task.cancel)  # type: ignore[union-attr]


async def _scenario(url: str, db: Database) -> tuple[int, int, int]:
    nc = await broker.connect(url, "test")
    js = nc.jetstream()
    await broker.ensure_stream(js, "room", 1)
    gate = threading.Event()
    stopping = Recorded(gate)
    await publish(js, range(1))
    replica = Replica(url, db, stopping)
    assert await asyncio.to_thread(stopping.entered.wait, PATIENCE_S)  # its first batch is being applied
    await publish(js, range(1, EVENTS))  # delivered to it meanwhile: its pull request asked for more

    async def all_delivered() -> bool:
        return (await js.consumer_info("ROOM", DURABLE)).num_ack_pending == EVENTS

    await until(all_delivered)
    replica.stop()
    gate.set()  # the batch in hand ends after the stop was asked for
    await asyncio.to_thread(replica.thread.join, PATIENCE_S)
    assert not replica.thread.is_alive()
    remaining = Recorded()
    consuming = asyncio.create_task(consume(nc, db, Subscription(DURABLE, "room", {"RoomRegistered": remaining})))
    try:

        async def settled() -> bool:
            info = await js.consumer_info("ROOM", DURABLE)
            return count(db, effects) == EVENTS and info.num_ack_pending == 0 and info.num_pending == 0

        await until(settled, PATIENCE_S)
        redelivered = (await js.consumer_info("ROOM", DURABLE)).delivered.consumer_seq - EVENTS
        return stopping.calls, remaining.calls, redelivered
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        await nc.close()


def test_a_stopping_consumer_settles_its_batch_and_hands_back_the_rest(nats_server: Nats, db: Database) -> None:
    stopped, replica, redelivered = asyncio.run(_scenario(nats_server.url, db))
    assert (stopped, replica) == (1, EVENTS - 1)  # its batch acked as it stopped: not redelivered, not redone
    assert redelivered == EVENTS - 1  # the rest came back at once, well within the ack wait
    assert count(db, effects) == EVENTS


def test_the_broker_connection_outlives_every_stopping_job() -> None:
    """The service's jobs (consumers, relay, gauges) end before the connection they share is closed: a consumer
    hands its messages back over it while stopping, and others may end sooner."""
    ended: list[str] = []

    async def scenario() -> None:
        started = asyncio.Semaphore(0)

        async def job(name: str, cleanup: int) -> None:
            started.release()
            try:
                await asyncio.Event().wait()  # runs until cancelled
            finally:
                for _ in range(cleanup):  # a hand-back's round trips
                    await asyncio.sleep(0)
                ended.append(name)

        async def plumbing() -> None:
            try:
                await together([job("gauges", 0), job("consumer", 5)])
            finally:
                ended.append("connection closed")

        running = asyncio.create_task(plumbing())
        for _ in range(2):
            await started.acquire()  # both jobs run
        running.cancel()  # SIGTERM, after the drain
        await asyncio.gather(running, return_exceptions=True)

    asyncio.run(scenario())
    assert ended == ["gauges", "consumer", "connection closed"]


def test_a_job_that_fails_stops_the_others_first() -> None:
    ended: list[str] = []

    async def scenario() -> None:
        async def consumer() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                await asyncio.sleep(0)  # its hand-back
                ended.append("consumer")

        async def relay() -> None:
            await asyncio.sleep(0)
            raise RuntimeError("the relay broke")

        with pytest.raises(RuntimeError, match="the relay broke"):
            await together([consumer(), relay()])
        ended.append("connection closed")

    asyncio.run(scenario())
    assert ended == ["consumer", "connection closed"]
