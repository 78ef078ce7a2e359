"""The projection through the consumer's inbox on SQLite: a duplicate changes nothing, garbage becomes a dead
letter, and the policies cover every event the view reads (test_handlers runs each behaviour on both backends)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bnb.events.v1 import events_pb2 as ev
from svckit.db import Database
from svckit.events import decode
from svckit.inbox import handle
from svckit.policies import Subscription
from svckit.tables import dead_letters, inbox
from view_svc import handlers
from view_svc.main import subscriptions
from view_svc.tests.fakes import all_rows, apply, story, wrap

SUBS = {sub.producer: sub for sub in subscriptions()}


def test_duplicate_delivery_changes_nothing(db: Database) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
    first = wrap(ev.ReservationRequested(payment_id="p1", **ids), 1)
    assert apply(db, first, wrap(ev.ReservationConfirmed(**ids), 2)) == ["done", "done"]
    before = all_rows(db)
    assert apply(db, first) == ["duplicate"]
    assert all_rows(db) == before
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 2


def test_garbage_bytes_become_a_dead_letter(db: Database) -> None:
    sub: Subscription = SUBS["payment"]
    assert handle(db, sub, b"\x08garbage", "bnb.payment.PaymentApproved.v1", 7) == "dead"
    with db.read() as conn:
        assert conn.execute(select(dead_letters.c.consumer, dead_letters.c.stream_seq)).one() == (sub.durable, 7)
    assert all_rows(db) == []


def test_policies_cover_every_event_the_view_reads() -> None:
    assert {p: sorted(types) for p, types in handlers.POLICIES.items()} == {
        "room": ["ReviewCreated", "RoomHeld", "RoomRegistered", "RoomReleased", "RoomReserved"],
        "reservation": ["ReservationCancelled", "ReservationConfirmed", "ReservationRequested"],
        "payment": ["PaymentApproved", "PaymentRefunded"],
    }
    # Every story event decodes to a type some policy handles.
    assert all(decode(e.SerializeToString())[0].type in handlers.POLICIES[e.producer] for e in story())
