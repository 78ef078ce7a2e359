"""The room context's bounds: text lengths, control characters, prices; and text is stored as it was sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bnb.events.v1 import events_pb2 as ev
from room_svc import domain, handlers
from room_svc.unit_of_work import RoomUnitOfWork
from svckit import migrate
from svckit.db import Database
from svckit.events import EventEnvelope
from svckit.uow import Units

# Korean, emoji (4 bytes in UTF-8, with a joiner), quotes, SQL and HTML, a TAG character, tabs and line breaks.
VERBATIM = (
    "  한국의 방 👨\u200d👩\u200d👧 \"quoted\" 'single' `tick`\n'; DROP TABLE rooms; --\t<script>alert(1)</script>"
    " &amp; \U000e0001\r\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Units[RoomUnitOfWork]:
    database = Database(f"sqlite:///{tmp_path}/room.db", producer="room", unit=RoomUnitOfWork)
    migrate.upgrade(database, "room_svc")
    return RoomUnitOfWork.on(database)


def confirmed_stay(db: Units[RoomUnitOfWork], room_id: str, guest_id: str) -> None:
    handlers.hold_room(db, "r1", room_id, guest_id, "2031-01-01", "2031-01-02")
    with db() as uow:
        handlers.on_reservation_confirmed(uow, ev.ReservationConfirmed(reservation_id="r1"), EventEnvelope())
        uow.commit()


def test_text_is_stored_exactly_as_sent(db: Units[RoomUnitOfWork]) -> None:
    room = handlers.register_room(db, "h1", VERBATIM, 100)
    assert handlers.get_room(db, room.room_id).description == VERBATIM
    confirmed_stay(db, room.room_id, "g1")
    handlers.create_review(db, room.room_id, "g1", 5, VERBATIM)
    assert [r.text for r in handlers.list_reviews(db, room.room_id, 10, 0)] == [VERBATIM]


@pytest.mark.parametrize(
    ("description", "price", "message"),
    [
        ("x" * 2001, 1, "description may be at most 2000 characters, got 2001"),
        ("nul\x00byte", 1, "description must not contain control characters (tabs and line breaks are fine)"),
        ("bell\x07", 1, "description must not contain control characters"),
        ("c1\x85control", 1, "description must not contain control characters"),
        ("\n\t ", 1, "description is required"),
        ("x", 0, "price_per_night must be between 1 and 100000000, got 0"),
        ("x", -1, "price_per_night must be between 1 and 100000000, got -1"),
        ("x", 100_000_001, "price_per_night must be between 1 and 100000000, got 100000001"),
        ("x", 2**63 - 1, f"price_per_night must be between 1 and 100000000, got {2**63 - 1}"),
    ],
)
def test_rooms_out_of_bounds_are_refused_and_nothing_is_stored(
    db: Units[RoomUnitOfWork], description: str, price: int, message: str
) -> None:
    with pytest.raises(domain.InvalidRoom) as refused:
        handlers.register_room(db, "h1", description, price)
    assert str(refused.value).startswith(message)
    assert handlers.list_rooms(db, 10, 0, "") == []


def test_the_longest_description_and_the_price_bounds_are_allowed(db: Units[RoomUnitOfWork]) -> None:
    longest = "\U0001f600" * domain.MAX_DESCRIPTION  # characters, not bytes: 8,000 bytes of UTF-8
    for price in (domain.MIN_PRICE, domain.MAX_PRICE):
        assert handlers.register_room(db, "h1", longest, price).description == longest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 4001, "text may be at most 4000 characters, got 4001"),
        ("tab\tis fine, NUL\x00 is not", "text must not contain control characters (tabs and line breaks are fine)"),
    ],
)
def test_reviews_out_of_bounds_are_refused(db: Units[RoomUnitOfWork], text: str, message: str) -> None:
    room = handlers.register_room(db, "h1", "House", 100)
    confirmed_stay(db, room.room_id, "g1")
    with pytest.raises(domain.InvalidReview, match=re.escape(message)):
        handlers.create_review(db, room.room_id, "g1", 5, text)
    assert handlers.list_reviews(db, room.room_id, 10, 0) == []
    longest = "\U000e0001" * domain.MAX_REVIEW_TEXT
    assert handlers.create_review(db, room.room_id, "g1", 5, longest).text == longest
    assert handlers.create_review(db, room.room_id, "g1", 5, "").text == ""  # a rating alone is a review
