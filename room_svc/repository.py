"""Room tables and queries (SQLAlchemy Core); one night per row makes double booking a key violation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    exists,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError

from room_svc.domain import HOLD_RESERVED, Hold, Review, Room, RoomAlreadyHeld
from svckit.db import now, stamp

metadata = MetaData()
rooms = Table(
    "rooms",
    metadata,
    Column("room_id", String(36), primary_key=True),
    Column("host_id", String(100), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("price_per_night", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("review_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(36), primary_key=True),
    Column("room_id", String(36), ForeignKey("rooms.room_id"), nullable=False, index=True),
    Column("guest_id", String(100), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
holds = Table(
    "holds",
    metadata,
    Column("reservation_id", String(36), primary_key=True),
    Column("room_id", String(36), ForeignKey("rooms.room_id"), nullable=False, index=True),
    Column("guest_id", String(100), nullable=False),
    Column("check_in", Date, nullable=False),
    Column("check_out", Date, nullable=False),
    Column("status", String(20), nullable=False),
)
room_nights = Table(
    "room_nights",
    metadata,
    Column("room_id", String(36), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("reservation_id", String(36), ForeignKey("holds.reservation_id"), nullable=False, index=True),
)

# The hot path's statements, built once: SQLAlchemy then skips building and keying them per call.
_ADD_ROOM = rooms.insert()
_ADD_HOLD = holds.insert()
_ADD_NIGHTS = room_nights.insert()
_GET_ROOM = select(rooms).where(rooms.c.room_id == bindparam("key"))
_SET_ROOM_STATUS = rooms.update().where(rooms.c.room_id == bindparam("key"))
_GET_HOLD = select(holds).where(holds.c.reservation_id == bindparam("key"))
_SET_HOLD_STATUS = holds.update().where(holds.c.reservation_id == bindparam("key"))
_FREE_NIGHTS = room_nights.delete().where(room_nights.c.reservation_id == bindparam("key"))
_STAYED = (
    select(holds.c.reservation_id)
    .where(
        holds.c.room_id == bindparam("room"), holds.c.guest_id == bindparam("guest"), holds.c.status == HOLD_RESERVED
    )
    .limit(1)
)
_RESERVED_HOLDS = (
    select(func.count()).select_from(holds).where(holds.c.room_id == bindparam("key"), holds.c.status == HOLD_RESERVED)
)


def add_room(conn: Connection, room: Room) -> str:
    """Store the room; returns its creation time."""
    created = now()
    conn.execute(_ADD_ROOM, {**room.__dict__, "created_at": created})
    return stamp(created)


def get_room(conn: Connection, room_id: str) -> tuple[Room, str] | None:
    """The room and its creation time, or None."""
    row = conn.execute(_GET_ROOM, {"key": room_id}).mappings().first()
    if row is None:
        return None
    return _room(row), stamp(row["created_at"])


def list_rooms(
    conn: Connection, limit: int, offset: int, host_id: str = "", free: tuple[dt.date, dt.date] | None = None
) -> list[tuple[Room, str]]:
    """`free`: (check-in, check-out), only rooms without a held night from check-in up to, not on, check-out."""
    query = select(rooms).order_by(rooms.c.created_at, rooms.c.room_id).limit(limit).offset(offset)
    if host_id:
        query = query.where(rooms.c.host_id == host_id)
    if free is not None:
        nights = room_nights.c
        taken = select(nights.room_id).where(nights.room_id == rooms.c.room_id, nights.night >= free[0])
        query = query.where(~exists(taken.where(nights.night < free[1])))
    return [(_room(row), stamp(row["created_at"])) for row in conn.execute(query).mappings()]


def _room(row: dict) -> Room:
    return Room(**{k: row[k] for k in Room.__dataclass_fields__})


def add_review(conn: Connection, review: Review) -> tuple[int, str]:
    """Store the review; returns the room's new review count and the review's creation time."""
    created = now()
    conn.execute(reviews.insert().values(**review.__dict__, created_at=created))
    conn.execute(rooms.update().where(rooms.c.room_id == review.room_id).values(review_count=rooms.c.review_count + 1))
    count = conn.execute(select(rooms.c.review_count).where(rooms.c.room_id == review.room_id)).scalar_one()
    return count, stamp(created)


def list_reviews(conn: Connection, room_id: str, limit: int, offset: int) -> list[tuple[Review, str]]:
    query = select(reviews).order_by(reviews.c.created_at, reviews.c.review_id).limit(limit).offset(offset)
    if room_id:
        query = query.where(reviews.c.room_id == room_id)
    return [
        (Review(**{k: r[k] for k in Review.__dataclass_fields__}), stamp(r["created_at"]))
        for r in conn.execute(query).mappings()
    ]


def get_hold(conn: Connection, reservation_id: str) -> Hold | None:
    row = conn.execute(_GET_HOLD, {"key": reservation_id}).mappings().first()
    return Hold(**row) if row else None


def add_hold(conn: Connection, hold: Hold) -> None:
    """Insert the hold and its nights; RoomAlreadyHeld if another hold has any of them."""
    try:  # no savepoint: the unit of work rolls the whole hold back
        conn.execute(_ADD_HOLD, hold.__dict__)
        conn.execute(
            _ADD_NIGHTS,
            [{"room_id": hold.room_id, "night": n, "reservation_id": hold.reservation_id} for n in hold.nights],
        )
    except IntegrityError:
        raise RoomAlreadyHeld(
            f"room {hold.room_id} is already held for some nights between {hold.check_in} and {hold.check_out}"
        ) from None


def has_stayed(conn: Connection, room_id: str, guest_id: str) -> bool:
    """Whether the guest holds a confirmed (reserved, not released) stay in the room."""
    return conn.execute(_STAYED, {"room": room_id, "guest": guest_id}).first() is not None


def set_hold_status(conn: Connection, reservation_id: str, status: str) -> None:
    conn.execute(_SET_HOLD_STATUS, {"status": status, "key": reservation_id})


def free_nights(conn: Connection, reservation_id: str) -> None:
    conn.execute(_FREE_NIGHTS, {"key": reservation_id})


def reserved_holds(conn: Connection, room_id: str) -> int:
    return conn.execute(_RESERVED_HOLDS, {"key": room_id}).scalar_one()


def set_room_status(conn: Connection, room_id: str, status: str) -> None:
    conn.execute(_SET_ROOM_STATUS, {"status": status, "key": room_id})
