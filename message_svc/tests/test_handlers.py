"""The notify policy through the handlers, on a unit of work in memory: who is told what, stored once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from google.protobuf.message import Message

from bnb.events.v1 import events_pb2 as ev
from message_svc import handlers
from message_svc.delivery import NotificationRelay
from message_svc.domain import MessageFilter
from message_svc.senders import LogSender, Sender
from message_svc.tests.fakes import T0, FakeMessageUnitOfWork, FakeSender, wrap
from svckit.testing import Inline

CONFIRMED = ev.ReservationConfirmed(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
APPROVED = ev.PaymentApproved(payment_id="p1", reservation_id="r1", room_id="room1", guest_id="g1", amount=300)


@pytest.fixture
def units() -> FakeMessageUnitOfWork:
    return FakeMessageUnitOfWork()


def apply(
    units: FakeMessageUnitOfWork, sender: Sender, event: Message, producer: str, minute: int = 0, event_id: str = ""
) -> None:
    """Notify in a unit of work of its own, then deliver what it stored through `sender`."""
    with units() as uow:
        handlers.notify(uow, event, wrap(event, producer, minute, event_id))
        uow.commit()
    asyncio.run(NotificationRelay(Inline(), units, sender).deliver_once())


def stored(units: FakeMessageUnitOfWork, where: MessageFilter | None = None) -> list:
    return handlers.list_messages(units, where or MessageFilter(), 100, 0)


def test_confirmed_reservation_notifies_guest_and_host(units: FakeMessageUnitOfWork, sender: FakeSender) -> None:
    apply(units, sender, CONFIRMED, "reservation")
    assert {(m.recipient_kind, m.recipient_id, m.reservation_id) for m in stored(units)} == {
        ("guest", "g1", "r1"),
        ("host", "h1", "r1"),
    }
    assert sorted(sender.sent, key=lambda m: m.message_id) == stored(units)


def test_payment_approved_notifies_only_the_guest(units: FakeMessageUnitOfWork, sender: FakeSender) -> None:
    apply(units, sender, APPROVED, "payment")
    (message,) = stored(units)
    assert (message.recipient_kind, message.recipient_id, message.event_type) == ("guest", "g1", "PaymentApproved")
    assert "300" in message.text


def test_room_registered_and_review_notify_the_host(units: FakeMessageUnitOfWork, sender: FakeSender) -> None:
    apply(
        units,
        sender,
        ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available"),
        "room",
    )
    apply(
        units,
        sender,
        ev.ReviewCreated(room_id="room1", guest_id="g1", rating=5, text="Lovely", host_id="h1"),
        "room",
        1,
    )
    texts = [m.text for m in stored(units, MessageFilter(host_id="h1"))]
    assert len(texts) == 2 and "is registered" in texts[0] and "Lovely" in texts[1]


def test_message_time_is_when_the_event_occurred(units: FakeMessageUnitOfWork, sender: FakeSender) -> None:
    apply(units, sender, CONFIRMED, "reservation", minute=7)
    assert {m.created_at for m in stored(units)} == {T0.replace(minute=7)}


def test_replayed_event_is_neither_stored_nor_sent_twice(units: FakeMessageUnitOfWork, sender: FakeSender) -> None:
    apply(units, sender, CONFIRMED, "reservation", event_id="e1")
    apply(units, sender, CONFIRMED, "reservation", event_id="e1")  # as after the inbox was lost
    assert len(stored(units)) == 2
    assert len(sender.sent) == 2


def test_log_sender_writes_recipient_message_id_and_text(
    units: FakeMessageUnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="message_svc.senders")
    apply(units, LogSender(), APPROVED, "payment")
    (message,) = stored(units)
    lines = [r.getMessage() for r in caplog.records]
    assert any("guest g1" in line and message.message_id in line and "approved" in line for line in lines), lines


def test_policies_subscribe_to_every_notifying_event_and_no_other() -> None:
    from message_svc.domain import TEMPLATES

    listed = [t for types in handlers.policies().values() for t in types]
    assert sorted(listed) == sorted(TEMPLATES)
