"""The notification relay on SQLite and PostgreSQL: committed notifications sent once each and marked sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bnb.events.v1 import events_pb2 as ev
from message_svc import handlers
from message_svc.delivery import NotificationRelay
from message_svc.tests.fakes import FakeSender, work, wrap
from message_svc.unit_of_work import MessageUnitOfWork
from svckit import migrate
from svckit.db import Database
from tests.dbs import database_url, kinds, skip_without


@pytest.fixture(params=kinds())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    skip_without(request.param)
    with database_url(request.param, tmp_path, "message") as url:
        database = Database(url, producer="message", unit=MessageUnitOfWork)
        migrate.upgrade(database, "message_svc")
        yield database
        database.dispose()


def test_committed_notifications_are_sent_once_each_oldest_first_and_marked(db: Database) -> None:
    for minute in (2, 1):
        event = ev.PaymentApproved(payment_id=f"p{minute}", reservation_id=f"r{minute}", guest_id="g1", amount=9)
        with work(db)() as uow:
            handlers.notify(uow, event, wrap(event, "payment", minute))
            uow.commit()
    sender = FakeSender()
    relay = NotificationRelay(db, work(db), sender, batch=1)
    assert [asyncio.run(relay.deliver_once()) for _ in range(3)] == [1, 1, 0]
    assert [n.reservation_id for n in sender.sent] == ["r1", "r2"]  # by when their events occurred
    with work(db)(read_only=True) as uow:
        assert uow.messages.unsent(10) == []
