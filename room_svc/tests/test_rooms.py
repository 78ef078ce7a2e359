"""Room rules and policies, on a throwaway SQLite file: no network."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from room_svc import domain, handlers
from svckit import migrate
from svckit.db import Database, outbox
from svckit.events import decode


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/room.db", producer="room")
    migrate.upgrade(database, "room_svc")
    return database


def published(db: Database) -> list[tuple[str, object]]:
    with db.read() as conn:
        return [(env.type, payload) for env, payload in (decode(d) for (d,) in conn.execute(select(outbox.c.data)))]


def test_registering_a_room_raises_room_registered(db: Database) -> None:
    room, created = handlers.register_room(db, " h1 ", "  House ", 12000)
    assert created.endswith("+00:00")
    assert (room.host_id, room.description, room.status) == ("h1", "  House ", "available")  # text as sent
    [(kind, event)] = published(db)
    assert kind == "RoomRegistered" and event.room_id == room.room_id and event.price_per_night == 12000


@pytest.mark.parametrize(("host", "text", "price"), [("", "x", 1), ("h", " ", 1), ("h", "x", 0), ("h", "x", -5)])
def test_invalid_rooms_are_refused(db: Database, host: str, text: str, price: int) -> None:
    with pytest.raises(domain.InvalidRoom):
        handlers.register_room(db, host, text, price)
    assert handlers.list_rooms(db, 10, 0, "") == [] and published(db) == []


def stay(db: Database, room_id: str, guest_id: str, reservation_id: str, check_in: str = "2031-01-01") -> None:
    """The guest holds the room and the reservation is confirmed."""
    handlers.hold_room(db, reservation_id, room_id, guest_id, check_in, check_in[:-2] + "28")
    with db.uow() as uow:
        handlers.on_reservation_confirmed(uow, SimpleNamespace(reservation_id=reservation_id), None)
        uow.commit()


def test_review_counts_and_rating_bounds(db: Database) -> None:
    room = handlers.register_room(db, "h1", "House", 100)[0]
    for i, guest in enumerate(("g1", "g2", "g3")):
        stay(db, room.room_id, guest, f"r{i}", f"2031-0{i + 1}-01")
    handlers.create_review(db, room.room_id, "g1", 5, "great")
    handlers.create_review(db, room.room_id, "g2", 1, "noisy")
    for bad in (0, 6):
        with pytest.raises(domain.InvalidReview):
            handlers.create_review(db, room.room_id, "g3", bad, "?")
    with pytest.raises(domain.RoomNotFound):
        handlers.create_review(db, "nope", "g1", 3, "?")
    assert handlers.get_room(db, room.room_id)[0].review_count == 2
    assert [e.review_count for k, e in published(db) if k == "ReviewCreated"] == [1, 2]


def test_only_a_guest_with_a_confirmed_stay_may_review(db: Database) -> None:
    room = handlers.register_room(db, "h1", "House", 100)[0]
    other = handlers.register_room(db, "h1", "Loft", 100)[0]
    handlers.hold_room(db, "held", room.room_id, "g1", "2031-01-01", "2031-01-03")  # not confirmed yet
    stay(db, other.room_id, "g2", "elsewhere")  # a stay, in another room
    stay(db, room.room_id, "g3", "gone", "2031-02-01")
    with db.uow() as uow:
        handlers.on_payment_refunded(uow, SimpleNamespace(reservation_id="gone"), None)  # cancelled: released
        uow.commit()
    for guest in ("g1", "g2", "g3", "g4"):
        with pytest.raises(domain.NoStay, match=f"guest {guest} has no confirmed reservation"):
            handlers.create_review(db, room.room_id, guest, 5, "?")
    assert handlers.get_room(db, room.room_id)[0].review_count == 0
    assert "ReviewCreated" not in [k for k, _ in published(db)]
    stay(db, room.room_id, "g1", "again", "2031-04-01")
    assert handlers.create_review(db, room.room_id, "g1", 4, "ok")[0].rating == 4


def test_confirmed_reservation_reserves_the_room_and_refund_frees_it(db: Database) -> None:
    room = handlers.register_room(db, "h1", "House", 100)[0]
    handlers.hold_room(db, "r1", room.room_id, "g1", "2031-01-01", "2031-01-03")
    event = SimpleNamespace(reservation_id="r1")
    for policy in (handlers.on_reservation_confirmed, handlers.on_reservation_confirmed):  # twice: idempotent
        with db.uow() as uow:
            policy(uow, event, None)
            uow.commit()
    assert handlers.get_room(db, room.room_id)[0].status == "reserved"
    with db.uow() as uow:
        handlers.on_payment_refunded(uow, event, None)
        uow.commit()
    assert handlers.get_room(db, room.room_id)[0].status == "available"
    kinds = [k for k, _ in published(db)]
    assert kinds == ["RoomRegistered", "RoomHeld", "RoomReserved", "RoomReleased"]


def test_a_stay_must_have_at_least_one_night(db: Database) -> None:
    room = handlers.register_room(db, "h1", "House", 100)[0]
    for check_in, check_out in [("2031-01-02", "2031-01-02"), ("2031-01-03", "2031-01-01"), ("x", "2031-01-01")]:
        with pytest.raises(domain.InvalidStay):
            handlers.hold_room(db, "r1", room.room_id, "g1", check_in, check_out)
