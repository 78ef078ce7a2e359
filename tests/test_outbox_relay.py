"""The outbox relay against a real nats-server: PubAck before marking, duplicates dropped, outages survived."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from room_svc.domain import RoomRegistered
from svckit import broker, events, migrate
from svckit.db import Database
from svckit.outbox import OutboxRelay
from svckit.tables import outbox
from tests.conftest import Nats
from tests.test_tracing_context import FakeJetStream

pytestmark = pytest.mark.integration


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/room.db", producer="room")
    migrate.upgrade(database, "room_svc")
    return database


def emit(db: Database, n: int) -> None:
    with db.uow() as uow:
        for i in range(n):
            uow.emit(RoomRegistered(f"room-{i}", "h1", "House", 100, "available"), aggregate_id=f"room-{i}")
        uow.commit()


def unsent(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))).scalar_one()


async def stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info("ROOM")).state.messages
    finally:
        await nc.close()


def test_a_resend_after_a_crash_is_dropped_by_jetstream(nats_server: Nats, db: Database) -> None:
    emit(db, 3)

    async def scenario() -> int:
        nc = await broker.connect(nats_server.url, "test")
        js = nc.jetstream()
        await broker.ensure_stream(js, "room", 1)
        with db.read() as conn:  # the relay published one row, then died before marking it sent
            subject, data, event_id = conn.execute(
                select(outbox.c.subject, outbox.c.data, outbox.c.event_id).order_by(outbox.c.id).limit(1)
            ).one()
        await js.publish(subject, data, headers={"Nats-Msg-Id": event_id})
        sent = await OutboxRelay(db, js).relay_once()  # the restarted relay
        await nc.close()
        return sent

    assert asyncio.run(scenario()) == 3
    assert unsent(db) == 0
    assert asyncio.run(stream_count(nats_server.url)) == 3  # not 4: the duplicate was dropped


def test_relay_waits_out_a_broker_outage_and_loses_nothing(nats_server: Nats, db: Database) -> None:
    async def scenario() -> None:
        nc = await broker.connect(nats_server.url, "test")
        js = nc.jetstream()
        await broker.ensure_stream(js, "room", 1)
        relay = OutboxRelay(db, js)
        nats_server.process.terminate()
        nats_server.process.wait(timeout=20)
        emit(db, 5)
        pending = asyncio.create_task(relay.relay_once())
        done, _ = await asyncio.wait({pending}, timeout=1.5)
        assert not done and unsent(db) == 5  # nothing marked sent without a PubAck
        nats_server.process = await asyncio.to_thread(
            subprocess.Popen, nats_server.process.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert await asyncio.wait_for(pending, 30) == 5
        await nc.close()

    asyncio.run(scenario())
    assert unsent(db) == 0
    assert asyncio.run(stream_count(nats_server.url)) == 5
    with db.read() as conn:
        subjects = {s for (s,) in conn.execute(select(outbox.c.subject))}
    assert subjects == {events.subject("room", "RoomRegistered")}


class FlakyDatabase(Database):
    """Its next `run` fails as a database that just dropped the connection would."""

    fail_next = False

    async def run(self, fn: Any, *args: Any) -> Any:
        if self.fail_next:
            self.fail_next = False
            raise OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly"))
        return await super().run(fn, *args)


def test_events_handed_over_survive_a_failed_poll(tmp_path: Path) -> None:
    db = FlakyDatabase(f"sqlite:///{tmp_path}/room.db", producer="room")
    migrate.upgrade(db, "room_svc")

    async def scenario() -> list[str]:
        js = FakeJetStream()
        relay = OutboxRelay(db, js)  # type: ignore[arg-type]
        emit(db, 2)  # committed: handed over to the relay
        await asyncio.sleep(0)
        db.fail_next = True
        with pytest.raises(OperationalError):
            await relay.relay_once()  # the poll beside them fails
        await relay.relay_once()
        return [headers["Nats-Msg-Id"] for _, _, headers in js.published]

    published = asyncio.run(scenario())
    assert len(published) == len(set(published)) == 2  # each once, none forgotten
    assert unsent(db) == 0
