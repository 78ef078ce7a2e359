"""ListMessages: filters, order, pages, and the statuses of bad requests."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from bnb.events.v1 import events_pb2 as ev
from bnb.message.v1 import message_pb2
from message_svc import handlers
from message_svc.main import build
from message_svc.service import MessageService
from message_svc.tests.fakes import FakeSender, wrap
from svckit.config import Settings
from svckit.db import Database


class Aborted(Exception):
    pass


class FakeContext:
    code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple:
        return ()

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        raise Aborted(details)


def seed(db: Database) -> None:
    sender = FakeSender()
    stays = [("r1", "g1", "h1"), ("r2", "g2", "h1"), ("r3", "g1", "h2")]
    for minute, (rid, guest, host) in enumerate(stays):
        event = ev.ReservationConfirmed(reservation_id=rid, room_id="room", guest_id=guest, host_id=host)
        with db.uow() as uow:
            handlers.notify(uow, event, wrap(event, "reservation", minute), sender)
            uow.commit()


def call(db: Database, **fields: object) -> tuple[message_pb2.ListMessagesResponse | None, FakeContext]:
    context = FakeContext()
    try:
        reply = asyncio.run(MessageService(db).ListMessages(message_pb2.ListMessagesRequest(**fields), context))
    except Aborted:
        return None, context
    return reply, context


def test_guest_filter_returns_only_that_guests_messages_oldest_first(db: Database) -> None:
    seed(db)
    reply, _ = call(db, guest_id="g1")
    assert [(m.recipient_kind, m.reservation_id) for m in reply.messages] == [("guest", "r1"), ("guest", "r3")]
    assert reply.messages[0].created_at.startswith("2025-03-01T12:00:00")


def test_host_and_reservation_filters_combine(db: Database) -> None:
    seed(db)
    reply, _ = call(db, host_id="h1", reservation_id="r2")
    assert [(m.recipient_id, m.reservation_id) for m in reply.messages] == [("h1", "r2")]


def test_guest_and_host_together_mean_messages_to_either(db: Database) -> None:
    seed(db)
    reply, _ = call(db, guest_id="g2", host_id="h2")
    assert {(m.recipient_kind, m.recipient_id) for m in reply.messages} == {("guest", "g2"), ("host", "h2")}


def test_pages_cover_every_message_once(db: Database) -> None:
    seed(db)
    first, _ = call(db, page_size=4)
    second, _ = call(db, page_size=4, page_token=first.next_page_token)
    ids = [m.message_id for m in [*first.messages, *second.messages]]
    assert len(ids) == 6 == len(set(ids))
    assert second.next_page_token == ""


@pytest.mark.parametrize("fields", [{"page_token": "!!nope"}, {"page_size": -1}, {"guest_id": "has space"}])
def test_bad_request_is_invalid_argument(db: Database, fields: dict) -> None:
    reply, context = call(db, **fields)
    assert reply is None and context.code == grpc.StatusCode.INVALID_ARGUMENT


def test_build_subscribes_one_durable_notify_consumer_per_producer(tmp_path) -> None:
    settings = Settings.from_env("message", {"BNB_DATA_DIR": str(tmp_path)})
    app = build(settings)
    try:
        assert {s.durable: s.producer for s in app.subscriptions} == {
            "message-room-notify": "room",
            "message-reservation-notify": "reservation",
            "message-payment-notify": "payment",
        }
        assert "bnb.payment.PaymentRefunded.v1" in app.subscriptions[2].config().filter_subjects
        assert app.produces is False
    finally:
        app.db.dispose()
