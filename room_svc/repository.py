"""Room tables and repositories (SQLAlchemy Core); one night per row makes double booking a key violation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    Select,
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
from svckit.compiled import Compiled
from svckit.tables import UtcDateTime

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
    Column("created_at", UtcDateTime(), nullable=False),
)
reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(36), primary_key=True),
    Column("room_id", String(36), ForeignKey("rooms.room_id"), nullable=False, index=True),
    Column("guest_id", String(100), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
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

# The hot path's statements, compiled once (svckit.compiled).
_ADD_ROOM = Compiled(rooms.insert())
_ADD_HOLD = Compiled(holds.insert())
_ADD_NIGHTS = Compiled(room_nights.insert())
_ADD_REVIEW = Compiled(reviews.insert())
_GET_ROOM = Compiled(select(rooms).where(rooms.c.room_id == bindparam("key")))
_SET_ROOM_STATUS = Compiled(rooms.update().where(rooms.c.room_id == bindparam("key")))
_GET_HOLD = Compiled(select(holds).where(holds.c.reservation_id == bindparam("key")))
_SET_HOLD_STATUS = Compiled(holds.update().where(holds.c.reservation_id == bindparam("key")))
_FREE_NIGHTS = Compiled(room_nights.delete().where(room_nights.c.reservation_id == bindparam("key")))
_STAYED = Compiled(
    select(holds.c.reservation_id)
    .where(
        holds.c.room_id == bindparam("room"),
        holds.c.guest_id == bindparam("guest"),
        holds.c.status == HOLD_RESERVED,
    )
    .limit(1)
)
_COUNT_REVIEW = Compiled(
    rooms.update().where(rooms.c.room_id == bindparam("key")).values(review_count=rooms.c.review_count + 1)
)
_REVIEW_COUNT = Compiled(select(rooms.c.review_count).where(rooms.c.room_id == bindparam("key")))
_RESERVED_HOLDS = Compiled(
    select(func.count()).select_from(holds).where(holds.c.room_id == bindparam("key"), holds.c.status == HOLD_RESERVED)
)


class SqlRooms:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, room: Room) -> None:
        _ADD_ROOM.run(self.conn, vars(room))

    def get(self, room_id: str) -> Room | None:
        row = _GET_ROOM.first(self.conn, {"key": room_id})
        return Room(**row) if row else None

    def listing(
        self, limit: int, offset: int, host_id: str = "", free: tuple[dt.date, dt.date] | None = None
    ) -> list[Room]:
        """`free`: (check-in, check-out), only rooms without a held night from check-in up to, not on, check-out."""
        query = select(rooms).order_by(rooms.c.created_at, rooms.c.room_id).limit(limit).offset(offset)
        if host_id:
            query = query.where(rooms.c.host_id == host_id)
        if free is not None:
            nights = room_nights.c
            taken = select(nights.room_id).where(nights.room_id == rooms.c.room_id, nights.night >= free[0])
            query = query.where(~exists(taken.where(nights.night < free[1])))
        return [Room(**row) for row in self.conn.execute(query).mappings()]

    def set_status(self, room_id: str, status: str) -> None:
        _SET_ROOM_STATUS.run(self.conn, {"status": status, "key": room_id})

    def count_review(self, room_id: str) -> int:
        """One more review of the room; its review count now."""
        _COUNT_REVIEW.run(self.conn, {"key": room_id})
        count: int = _REVIEW_COUNT.scalar(self.conn, {"key": room_id})
        return count


class SqlReviews:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, review: Review) -> None:
        _ADD_REVIEW.run(self.conn, vars(review))

    def listing(self, room_id: str, limit: int, offset: int) -> list[Review]:
        query: Select[Any] = select(reviews).order_by(reviews.c.created_at, reviews.c.review_id)
        if room_id:
            query = query.where(reviews.c.room_id == room_id)
        return [Review(**row) for row in self.conn.execute(query.limit(limit).offset(offset)).mappings()]


class SqlHolds:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, reservation_id: str) -> Hold | None:
        row = _GET_HOLD.first(self.conn, {"key": reservation_id})
        return Hold(**row) if row else None

    def add(self, hold: Hold) -> None:
        """Insert the hold and its nights; RoomAlreadyHeld if another hold has any of them."""
        nights = [{"room_id": hold.room_id, "night": n, "reservation_id": hold.reservation_id} for n in hold.nights]
        try:  # no savepoint: the unit of work rolls the whole hold back
            _ADD_HOLD.run(self.conn, vars(hold))
            _ADD_NIGHTS.run(self.conn, nights)
        except IntegrityError:
            raise RoomAlreadyHeld(
                f"room {hold.room_id} is already held for some nights between {hold.check_in} and {hold.check_out}"
            ) from None

    def has_stayed(self, room_id: str, guest_id: str) -> bool:
        """Whether the guest holds a confirmed (reserved, not released) stay in the room."""
        return _STAYED.first(self.conn, {"room": room_id, "guest": guest_id}) is not None

    def set_status(self, reservation_id: str, status: str) -> None:
        _SET_HOLD_STATUS.run(self.conn, {"status": status, "key": reservation_id})

    def free_nights(self, reservation_id: str) -> None:
        _FREE_NIGHTS.run(self.conn, {"key": reservation_id})

    def reserved(self, room_id: str) -> int:
        """How many confirmed reservations hold the room."""
        count: int = _RESERVED_HOLDS.scalar(self.conn, {"key": room_id})
        return count
