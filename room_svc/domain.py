"""Rooms, reviews and holds: the room context's rules, standard library only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

AVAILABLE, RESERVED = "available", "reserved"
HELD, HOLD_RESERVED, RELEASED = "held", "reserved", "released"
MAX_NIGHTS = 365
MAX_DESCRIPTION = 2_000  # characters (code points), stored as sent
MAX_REVIEW_TEXT = 4_000
MIN_PRICE, MAX_PRICE = 1, 100_000_000
# C0 and C1 controls and DEL, but tab and line breaks: text can hold anything a person types, never a NUL byte.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class RoomError(Exception):
    """A room rule was broken."""


class InvalidRoom(RoomError):
    pass


class InvalidReview(RoomError):
    pass


class InvalidStay(RoomError):
    pass


class RoomNotFound(RoomError):
    pass


class HoldNotFound(RoomError):
    pass


class NoStay(RoomError):
    """A review needs a confirmed stay of that guest in that room."""


class RoomAlreadyHeld(RoomError):
    """Another reservation holds the room for some of these nights."""


@dataclass(frozen=True)
class Room:
    room_id: str
    host_id: str
    description: str
    price_per_night: int
    created_at: dt.datetime
    status: str = AVAILABLE
    review_count: int = 0


@dataclass(frozen=True)
class Review:
    review_id: str
    room_id: str
    guest_id: str
    rating: int
    text: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Hold:
    reservation_id: str
    room_id: str
    guest_id: str
    check_in: dt.date
    check_out: dt.date
    status: str = HELD

    @property
    def nights(self) -> list[dt.date]:
        """Every night of the stay; check-out is exclusive."""
        days = (self.check_out - self.check_in).days
        return [self.check_in + dt.timedelta(days=i) for i in range(days)]


@dataclass(frozen=True)
class RoomRegistered:
    room_id: str
    host_id: str
    description: str
    price_per_night: int
    room_status: str


@dataclass(frozen=True)
class ReviewCreated:
    review_id: str
    room_id: str
    guest_id: str
    rating: int
    text: str
    review_count: int
    host_id: str


@dataclass(frozen=True)
class RoomReserved:
    room_id: str
    reservation_id: str
    room_status: str
    host_id: str


@dataclass(frozen=True)
class RoomHeld:
    room_id: str
    reservation_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str


@dataclass(frozen=True)
class RoomReleased:
    room_id: str
    reservation_id: str
    room_status: str
    host_id: str


def _text(field: str, value: str, longest: int, error: type[RoomError], required: bool) -> str:
    """The text as sent (never stripped or normalised), if it is within the rules."""
    if required and not value.strip():
        raise error(f"{field} is required")
    if len(value) > longest:
        raise error(f"{field} may be at most {longest} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise error(f"{field} must not contain control characters (tabs and line breaks are fine)")
    return value


def new_room(room_id: str, host_id: str, description: str, price_per_night: int, created_at: dt.datetime) -> Room:
    if not host_id.strip():
        raise InvalidRoom("host_id is required")
    description = _text("description", description, MAX_DESCRIPTION, InvalidRoom, required=True)
    if not MIN_PRICE <= price_per_night <= MAX_PRICE:
        raise InvalidRoom(f"price_per_night must be between {MIN_PRICE} and {MAX_PRICE}, got {price_per_night}")
    return Room(room_id, host_id.strip(), description, price_per_night, created_at)


def new_review(review_id: str, room: Room, guest_id: str, rating: int, text: str, created_at: dt.datetime) -> Review:
    if not guest_id.strip():
        raise InvalidReview("guest_id is required")
    if not 1 <= rating <= 5:
        raise InvalidReview(f"rating must be between 1 and 5, got {rating}")
    text = _text("text", text, MAX_REVIEW_TEXT, InvalidReview, required=False)
    return Review(review_id, room.room_id, guest_id.strip(), rating, text, created_at)


def parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        shown = value if len(value) <= 32 else "(too long)"  # never echo a 60 KiB field back
        raise InvalidStay(f"{field} must be a date YYYY-MM-DD, got {shown!r}") from None


def stay_filter(check_in: str, check_out: str) -> tuple[dt.date, dt.date] | None:
    """The nights a search asks to be free (check-out exclusive), or None when it asks for none."""
    if not check_in and not check_out:
        return None
    if not check_in or not check_out:
        raise InvalidStay("check_in and check_out go together: give both or neither")
    start, end = parse_date(check_in, "check_in"), parse_date(check_out, "check_out")
    if start >= end:
        raise InvalidStay(f"check_in {start} must be before check_out {end}")
    if (end - start).days > MAX_NIGHTS:
        raise InvalidStay(f"a stay may last at most {MAX_NIGHTS} nights")
    return start, end


def new_hold(reservation_id: str, room_id: str, guest_id: str, check_in: str, check_out: str) -> Hold:
    if not reservation_id.strip():
        raise InvalidStay("reservation_id is required")
    start, end = parse_date(check_in, "check_in"), parse_date(check_out, "check_out")
    if start >= end:
        raise InvalidStay(f"check_in {start} must be before check_out {end}")
    if (end - start).days > MAX_NIGHTS:
        raise InvalidStay(f"a stay may last at most {MAX_NIGHTS} nights")
    return Hold(reservation_id, room_id, guest_id, start, end)


def room_status(reserved_holds: int) -> str:
    """A room is reserved while any confirmed reservation holds it."""
    return RESERVED if reserved_holds else AVAILABLE
