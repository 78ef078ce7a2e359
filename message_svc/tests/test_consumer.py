"""The notify policy through the inbox consumer, on SQLite: a duplicate changes nothing, garbage is a dead letter."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bnb.events.v1 import events_pb2 as ev
from message_svc import handlers, repository
from message_svc.delivery import NotificationRelay
from message_svc.domain import MessageFilter
from message_svc.tests.fakes import FakeSender, work, wrap
from svckit.db import Database
from svckit.events import subject
from svckit.inbox import handle
from svckit.policies import Subscription
from svckit.tables import dead_letters

CONFIRMED = ev.ReservationConfirmed(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")


def stored(db: Database) -> list:
    return handlers.list_messages(work(db), MessageFilter(), 100, 0)


def _sub(producer: str, wakes: list[int] | None = None) -> Subscription:
    policies = handlers.policies(lambda: wakes.append(1)) if wakes is not None else handlers.policies()
    return Subscription(f"message-{producer}-notify", producer, policies[producer])


def test_duplicate_delivery_changes_nothing(db: Database, sender: FakeSender) -> None:
    sub = _sub("reservation")
    data = wrap(CONFIRMED, "reservation").SerializeToString()
    first = handle(db, sub, data, subject("reservation", "ReservationConfirmed"), 1)
    second = handle(db, sub, data, subject("reservation", "ReservationConfirmed"), 1)
    assert (first, second) == ("done", "duplicate")
    assert len(stored(db)) == 2
    assert asyncio.run(NotificationRelay(db, work(db), sender).deliver_once()) == 2 and len(sender.sent) == 2


def test_a_commit_that_stored_notifications_wakes_their_delivery_once(db: Database) -> None:
    wakes: list[int] = []
    data, confirmed = wrap(CONFIRMED, "reservation").SerializeToString(), subject("reservation", "ReservationConfirmed")
    assert handle(db, _sub("reservation", wakes), data, confirmed, 1) == "done"
    assert wakes == [1]  # one commit, two notifications
    assert handle(db, _sub("reservation", wakes), data, confirmed, 1) == "duplicate"
    assert wakes == [1]


def test_garbage_bytes_become_a_dead_letter(db: Database) -> None:
    outcome = handle(db, _sub("payment"), b"\xff\x00 not an envelope", "bnb.payment.PaymentApproved.v1", 9)
    assert outcome == "dead"
    with db.read() as conn:
        consumer, seq = conn.execute(select(dead_letters.c.consumer, dead_letters.c.stream_seq)).one()
    assert (consumer, seq) == ("message-payment-notify", 9)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(repository.messages)).scalar_one() == 0
