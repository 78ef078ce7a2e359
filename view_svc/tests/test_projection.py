"""The projection on SQLite, through the inbox: the SQL repositories give the rows test_handlers pins in memory."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import func, select

from bnb.events.v1 import events_pb2 as ev
from svckit.db import Database
from svckit.events import decode
from svckit.inbox import Subscription, handle
from svckit.tables import dead_letters, inbox
from view_svc import domain, handlers
from view_svc.main import subscriptions
from view_svc.tests.fakes import all_rows, apply, at, story, wrap
from view_svc.tests.test_handlers import STORY_VIEWS

SUBS = {sub.producer: sub for sub in subscriptions()}


def rows(db: Database) -> list[dict]:
    return [dict(zip(domain.SHOWN, row, strict=True)) for row in all_rows(db)]


def row(db: Database, room_id: str) -> dict:
    return next(r for r in rows(db) if r["room_id"] == room_id)


def test_story_gives_the_expected_views(db: Database) -> None:
    apply(db, *story())
    assert rows(db) == STORY_VIEWS


@pytest.mark.parametrize("seed", range(12))
def test_any_arrival_order_gives_the_same_rows(db: Database, seed: int) -> None:
    events = story()
    random.Random(seed).shuffle(events)
    apply(db, *events)
    assert rows(db) == STORY_VIEWS


def test_the_room_shows_its_latest_reservation(db: Database) -> None:
    old: dict[str, Any] = dict(reservation_id="r-old", room_id="room1", guest_id="g1", host_id="h1")
    new: dict[str, Any] = dict(reservation_id="r-new", room_id="room1", guest_id="g2", host_id="h1")
    apply(db, wrap(ev.ReservationRequested(**new), 20), wrap(ev.ReservationConfirmed(**old), 30))
    apply(db, wrap(ev.ReservationRequested(**old), 10))
    assert (row(db, "room1")["reservation_id"], row(db, "room1")["updated_at"]) == ("r-new", at(30))


def test_reservations_first_seen_together_show_the_larger_id(db: Database) -> None:
    for rid in ("r-b", "r-a"):
        apply(db, wrap(ev.ReservationRequested(reservation_id=rid, room_id="room1", guest_id="g1"), 5))
    assert row(db, "room1")["reservation_id"] == "r-b"


def test_a_failed_saga_does_not_hide_the_current_reservation(db: Database) -> None:
    real: dict[str, Any] = dict(reservation_id="r-real", room_id="room1", guest_id="g1")
    apply(db, wrap(ev.ReservationConfirmed(host_id="h1", **real), 10))
    failed: dict[str, Any] = dict(
        payment_id="p-failed", amount=5, reservation_id="r-failed", room_id="room1", guest_id="g2"
    )
    apply(db, wrap(ev.PaymentApproved(**failed), 20), wrap(ev.PaymentRefunded(**failed), 21))
    view = row(db, "room1")
    assert (view["reservation_id"], view["reservation_status"], view["updated_at"]) == ("r-real", "confirmed", at(21))


def test_duplicate_delivery_changes_nothing(db: Database) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
    first = wrap(ev.ReservationRequested(payment_id="p1", **ids), 1)
    assert apply(db, first, wrap(ev.ReservationConfirmed(**ids), 2)) == ["done", "done"]
    before = rows(db)
    assert apply(db, first) == ["duplicate"]
    assert rows(db) == before
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 2


def test_garbage_bytes_become_a_dead_letter(db: Database) -> None:
    sub: Subscription = SUBS["payment"]
    assert handle(db, sub, b"\x08garbage", "bnb.payment.PaymentApproved.v1", 7) == "dead"
    with db.read() as conn:
        assert conn.execute(select(dead_letters.c.consumer, dead_letters.c.stream_seq)).one() == (sub.durable, 7)
    assert rows(db) == []


def test_policies_cover_every_event_the_view_reads() -> None:
    assert {p: sorted(types) for p, types in handlers.POLICIES.items()} == {
        "room": ["ReviewCreated", "RoomHeld", "RoomRegistered", "RoomReleased", "RoomReserved"],
        "reservation": ["ReservationCancelled", "ReservationConfirmed", "ReservationRequested"],
        "payment": ["PaymentApproved", "PaymentRefunded"],
    }
    # Every story event decodes to a type some policy handles.
    assert all(decode(e.SerializeToString())[0].type in handlers.POLICIES[e.producer] for e in story())
