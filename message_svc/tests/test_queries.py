"""ListMessages: filters, order, pages, and the statuses of bad requests."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from bnb.events.v1 import events_pb2 as ev
from bnb.message.v1 import message_pb2
from message_svc import handlers
from message_svc.main import build
from message_svc.service import MessageService
from message_svc.tests.fakes import work, wrap
from svckit.caller import on_behalf_of
from svckit.config import Settings
from svckit.db import Database
from svckit.testing import StandIn


class Aborted(Exception):
    pass


class FakeContext(StandIn):  # stands in for a grpc.aio.ServicerContext
    code: grpc.StatusCode | None = None

    def __init__(self, who: tuple[str, str] | None) -> None:
        self.metadata = on_behalf_of(*who) if who else ()

    def invocation_metadata(self) -> tuple:
        return self.metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        raise Aborted(details)


def seed(db: Database) -> None:
    stays = [("r1", "g1", "h1"), ("r2", "g2", "h1"), ("r3", "g1", "h2")]
    for minute, (rid, guest, host) in enumerate(stays):
        event = ev.ReservationConfirmed(reservation_id=rid, room_id="room", guest_id=guest, host_id=host)
        with work(db)() as uow:
            handlers.notify(uow, event, wrap(event, "reservation", minute))
            uow.commit()


def call(db: Database, who: tuple[str, str] | None, **fields: Any) -> tuple[Any, FakeContext]:
    """ListMessages as `who` (subject, role), as the edge would have verified them; None: no caller."""
    context = FakeContext(who)
    try:
        reply = asyncio.run(
            MessageService(db, work(db)).ListMessages(message_pb2.ListMessagesRequest(**fields), context)
        )
    except Aborted:
        return None, context
    return reply, context


G1, H1 = ("g1", "guest"), ("h1", "host")


@pytest.mark.parametrize("fields", [{}, {"guest_id": "g1"}])
def test_a_guest_gets_only_their_own_messages_oldest_first(db: Database, fields: dict) -> None:
    seed(db)
    reply, _ = call(db, G1, **fields)
    assert [(m.recipient_kind, m.reservation_id) for m in reply.messages] == [("guest", "r1"), ("guest", "r3")]
    assert reply.messages[0].created_at.startswith("2025-03-01T12:00:00")


def test_a_host_gets_their_own_and_the_reservation_filter_narrows_them(db: Database) -> None:
    seed(db)
    reply, _ = call(db, H1)
    assert [(m.recipient_id, m.reservation_id) for m in reply.messages] == [("h1", "r1"), ("h1", "r2")]
    reply, _ = call(db, H1, reservation_id="r2")
    assert [(m.recipient_id, m.reservation_id) for m in reply.messages] == [("h1", "r2")]
    reply, _ = call(db, ("h2", "host"), reservation_id="r2")  # another host's reservation: nothing of it
    assert list(reply.messages) == []


@pytest.mark.parametrize(
    ("who", "fields", "code"),
    [
        (None, {}, grpc.StatusCode.UNAUTHENTICATED),
        (G1, {"guest_id": "g2"}, grpc.StatusCode.PERMISSION_DENIED),
        (G1, {"host_id": "g1"}, grpc.StatusCode.PERMISSION_DENIED),
        (H1, {"guest_id": "h1"}, grpc.StatusCode.PERMISSION_DENIED),
        (("a1", "admin"), {}, grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_someone_elses_messages_are_refused(db: Database, who: tuple | None, fields: dict, code: Any) -> None:
    seed(db)
    reply, context = call(db, who, **fields)
    assert reply is None and context.code == code


def test_pages_cover_every_message_once(db: Database) -> None:
    seed(db)
    first, _ = call(db, H1, page_size=1)
    second, _ = call(db, H1, page_size=1, page_token=first.next_page_token)
    third, _ = call(db, H1, page_size=1, page_token=second.next_page_token)
    ids = [m.message_id for m in [*first.messages, *second.messages, *third.messages]]
    assert len(ids) == 2 == len(set(ids))
    assert third.next_page_token == ""


@pytest.mark.parametrize("fields", [{"page_token": "!!nope"}, {"page_size": -1}, {"reservation_id": "has space"}])
def test_bad_request_is_invalid_argument(db: Database, fields: dict) -> None:
    reply, context = call(db, G1, **fields)
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
        assert "bnb.payment.PaymentRefunded.v1" in (app.subscriptions[2].config().filter_subjects or [])
        assert app.produces is False
    finally:
        app.db.dispose()
