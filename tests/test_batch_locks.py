"""Batches of events that lock the same keys in other orders, at once on PostgreSQL: none deadlocks.

The view's three consumers (and their replicas) each apply a fetched batch in one transaction, and each event's
handler locks its room. Two batches holding one room each and waiting for the other's deadlocked: PostgreSQL
aborted one after a second, and its events were redelivered later. A batch now takes its events' locks first,
in one order (svckit.inbox.Subscription.locks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from svckit import events
from svckit.db import Database
from svckit.inbox import handle_batch
from svckit.policies import Subscription
from svckit.tables import inbox, plumbing
from svckit.uow import UnitOfWork
from tests.dbs import database_url, skip_without
from tests.test_consumer_batches import message
from tests.test_redelivery import count, effects, effects_md

pytestmark = pytest.mark.postgres
MEET_S = 1.0  # how long a handler waits for the other batch to hold a lock too (it never does, once locks are sorted)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    skip_without("postgres")
    with database_url("postgres", tmp_path, "batch_locks") as url:
        database = Database(url, producer="view")
        for metadata in (plumbing, effects_md):
            metadata.create_all(database.engine)
        yield database
        database.dispose()


class Meeting:
    """A handler that locks its room, and on the first event of each batch waits for the other batch to be there."""

    def __init__(self) -> None:
        self.calls = 0
        self.arrived = [threading.Event(), threading.Event()]
        self.batch = threading.local()

    def __call__(self, uow: UnitOfWork, event: Any, envelope: events.EventEnvelope) -> None:
        self.calls += 1
        uow.lock(f"room:{event.room_id}")
        if not getattr(self.batch, "met", False):
            self.batch.met = True
            me = self.batch.index
            self.arrived[me].set()
            self.arrived[1 - me].wait(MEET_S)
        uow.conn.execute(effects.insert(), {"event_id": envelope.event_id})

    def run(self, db: Database, sub: Subscription, index: int, batch: list[tuple[bytes, str, int]]) -> list[Any]:
        self.batch.index = index
        return handle_batch(db, sub, batch)


def test_two_batches_locking_two_rooms_in_opposite_orders_apply_every_event_once(db: Database) -> None:
    meeting = Meeting()
    sub = Subscription("view-room-test", "room", {"RoomRegistered": meeting}, lambda e: [f"room:{e.room_id}"])
    batches = [[message("a"), message("b")], [message("b"), message("a")]]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(meeting.run, [db, db], [sub, sub], [0, 1], batches))
    assert outcomes == [["done", "done"], ["done", "done"]]
    # Deadlocked, one batch would have been aborted and replayed one by one: its handler called again.
    assert meeting.calls == 4
    assert (count(db, effects), count(db, inbox)) == (4, 4)
