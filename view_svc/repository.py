"""The view's tables and repositories (SQLAlchemy Core): one row per room as shown, one per reservation seen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, MetaData, String, Table, Text, bindparam, select

from svckit.compiled import Compiled
from svckit.tables import UtcDateTime
from view_svc.domain import SHOWN, Reservation, RoomView, Stamp
from view_svc.timeline import Step

metadata = MetaData()
room_views = Table(
    "room_views",
    metadata,
    Column("room_id", String(36), primary_key=True),
    Column("host_id", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("room_status", String(20), nullable=False),
    Column("review_count", Integer, nullable=False),
    Column("reservation_id", String(36), nullable=False),
    Column("reservation_status", String(20), nullable=False),
    Column("payment_id", String(36), nullable=False),
    Column("payment_status", String(20), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("status_at", UtcDateTime(), nullable=True),
    Column("status_event_id", String(36), nullable=False),
)
reservations_seen = Table(
    "reservations_seen",
    metadata,
    Column("reservation_id", String(36), primary_key=True),
    Column("room_id", String(36), nullable=False),
    Column("status", String(20), nullable=False),
    Column("payment_id", String(36), nullable=False),
    Column("payment_status", String(20), nullable=False),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Index("ix_reservations_seen_latest", "room_id", "first_seen_at", "reservation_id"),
)

timeline_steps = Table(
    "timeline_steps",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("reservation_id", String(36), nullable=False, index=True),
    Column("room_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("guest_id", String(100), nullable=False),
    Column("host_id", String(100), nullable=False),
)


# The event path's statements, compiled once (svckit.compiled): six of them per event.
_ADD_ROOM = Compiled(room_views.insert())
_ADD_RESERVATION = Compiled(reservations_seen.insert())
_GET_ROOM = Compiled(select(room_views).where(room_views.c.room_id == bindparam("key")))
_UPDATE_ROOM = Compiled(room_views.update().where(room_views.c.room_id == bindparam("key")))
_GET_RESERVATION = Compiled(select(reservations_seen).where(reservations_seen.c.reservation_id == bindparam("key")))
_UPDATE_RESERVATION = Compiled(reservations_seen.update().where(reservations_seen.c.reservation_id == bindparam("key")))
_LATEST = Compiled(
    select(reservations_seen)
    .where(reservations_seen.c.room_id == bindparam("key"), reservations_seen.c.status != "")
    .order_by(reservations_seen.c.first_seen_at.desc(), reservations_seen.c.reservation_id.desc())
    .limit(1)
)
_ADD_STEP = Compiled(timeline_steps.insert())
_STEPS = Compiled(select(timeline_steps).where(timeline_steps.c.reservation_id == bindparam("key")))


def _view(row: Mapping[Any, Any]) -> RoomView:
    fields = {f: row[f] for f in SHOWN}
    stamp = Stamp(row["status_at"], row["status_event_id"]) if row["status_at"] is not None else None
    return RoomView(**fields, status_stamp=stamp)


class SqlRoomViews:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, room_id: str) -> RoomView | None:
        row = _GET_ROOM.first(self.conn, {"key": room_id})
        return _view(row) if row else None

    def save(self, view: RoomView, new: bool) -> None:
        stamp = view.status_stamp
        values = {
            **{f: getattr(view, f) for f in SHOWN},
            "status_at": stamp.at if stamp else None,
            "status_event_id": stamp.event_id if stamp else "",
        }
        if new:
            _ADD_ROOM.run(self.conn, values)
        else:
            del values["room_id"]
            _UPDATE_ROOM.run(self.conn, {**values, "key": view.room_id})

    def listing(self, limit: int, offset: int) -> list[RoomView]:
        # room_id, not a time: rows change all the time, and a page must not skip or repeat one.
        query = select(room_views).order_by(room_views.c.room_id).limit(limit).offset(offset)
        return [_view(row) for row in self.conn.execute(query).mappings()]


class SqlReservationsSeen:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, reservation_id: str) -> Reservation | None:
        row = _GET_RESERVATION.first(self.conn, {"key": reservation_id})
        return Reservation(**row) if row else None

    def save(self, reservation: Reservation, new: bool) -> None:
        values = dict(vars(reservation))
        if new:
            _ADD_RESERVATION.run(self.conn, values)
        else:
            key = values.pop("reservation_id")
            _UPDATE_RESERVATION.run(self.conn, {**values, "key": key})

    def latest(self, room_id: str) -> Reservation | None:
        """The reservation a room shows: the one first seen last, ties broken by the larger reservation id.

        Only reservations the reservation context has announced count: a saga that failed after the payment
        leaves a PaymentApproved and a PaymentRefunded but no reservation, and must not hide a real one.
        """
        row = _LATEST.first(self.conn, {"key": room_id})
        return Reservation(**row) if row else None


class SqlSteps:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, step: Step) -> None:
        """One step of a reservation's timeline; each event is applied once (the consumer's inbox)."""
        _ADD_STEP.run(self.conn, vars(step))

    def of(self, reservation_id: str) -> list[Step]:
        return [Step(**row) for row in _STEPS.rows(self.conn, {"key": reservation_id})]
