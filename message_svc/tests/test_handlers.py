"""The notify policy through the unit of work and through the inbox consumer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from google.protobuf.message import Message
from sqlalchemy import func, select

from bnb.events.v1 import events_pb2 as ev
from message_svc import handlers, repository
from message_svc.delivery import NotificationRelay
from message_svc.domain import MessageFilter
from message_svc.senders import LogSender, Sender
from message_svc.tests.fakes import T0, FakeSender, work, wrap
from svckit.consumer import Subscription, handle
from svckit.db import Database
from svckit.events import subject
from svckit.tables import dead_letters

CONFIRMED = ev.ReservationConfirmed(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
APPROVED = ev.PaymentApproved(payment_id="p1", reservation_id="r1", room_id="room1", guest_id="g1", amount=300)


def apply(db: Database, sender: Sender, event: Message, producer: str, minute: int = 0, event_id: str = "") -> None:
    """Notify in a transaction of its own, then deliver what it stored through `sender`."""
    with work(db)() as uow:
        handlers.notify(uow, event, wrap(event, producer, minute, event_id))
        uow.commit()
    asyncio.run(NotificationRelay(db, work(db), sender).deliver_once())


def stored(db: Database, where: MessageFilter | None = None) -> list:
    return handlers.list_messages(work(db), where or MessageFilter(), 100, 0)


def test_confirmed_reservation_notifies_guest_and_host(db: Database, sender: FakeSender) -> None:
    apply(db, sender, CONFIRMED, "reservation")
    assert {(m.recipient_kind, m.recipient_id, m.reservation_id) for m in stored(db)} == {
        ("guest", "g1", "r1"),
        ("host", "h1", "r1"),
    }
    assert sorted(sender.sent, key=lambda m: m.message_id) == stored(db)


def test_payment_approved_notifies_only_the_guest(db: Database, sender: FakeSender) -> None:
    apply(db, sender, APPROVED, "payment")
    (message,) = stored(db)
    assert (message.recipient_kind, message.recipient_id, message.event_type) == ("guest", "g1", "PaymentApproved")
    assert "300" in message.text


def test_room_registered_and_review_notify_the_host(db: Database, sender: FakeSender) -> None:
    apply(
        db,
        sender,
        ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available"),
        "room",
    )
    apply(
        db, sender, ev.ReviewCreated(room_id="room1", guest_id="g1", rating=5, text="Lovely", host_id="h1"), "room", 1
    )
    texts = [m.text for m in stored(db, MessageFilter(host_id="h1"))]
    assert len(texts) == 2 and "is registered" in texts[0] and "Lovely" in texts[1]


def test_message_time_is_when_the_event_occurred(db: Database, sender: FakeSender) -> None:
    apply(db, sender, CONFIRMED, "reservation", minute=7)
    assert {m.created_at for m in stored(db)} == {T0.replace(minute=7)}


def test_replayed_event_is_neither_stored_nor_sent_twice(db: Database, sender: FakeSender) -> None:
    apply(db, sender, CONFIRMED, "reservation", event_id="e1")
    apply(db, sender, CONFIRMED, "reservation", event_id="e1")  # as after the inbox was lost
    assert len(stored(db)) == 2
    assert len(sender.sent) == 2


def test_log_sender_writes_recipient_message_id_and_text(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="message_svc.senders")
    apply(db, LogSender(), APPROVED, "payment")
    (message,) = stored(db)
    lines = [r.getMessage() for r in caplog.records]
    assert any("guest g1" in line and message.message_id in line and "approved" in line for line in lines), lines


def test_policies_subscribe_to_every_notifying_event_and_no_other() -> None:
    from message_svc.domain import TEMPLATES

    listed = [t for types in handlers.policies().values() for t in types]
    assert sorted(listed) == sorted(TEMPLATES)


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
