"""The view's tables and queries (SQLAlchemy Core): one row per room as shown, one per reservation seen."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table, Text, bindparam, select

from view_svc.domain import Reservation, RoomView, Stamp
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
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("status_at", DateTime(timezone=True), nullable=True),
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
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_reservations_seen_latest", "room_id", "first_seen_at", "reservation_id"),
)

timeline_steps = Table(
    "timeline_steps",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("reservation_id", String(36), nullable=False, index=True),
    Column("room_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("guest_id", String(100), nullable=False),
    Column("host_id", String(100), nullable=False),
)

# What a reader sees of a room; the status stamp is bookkeeping of the merge.
VIEW_FIELDS = [f for f in RoomView.__dataclass_fields__ if f != "status_stamp"]
RESERVATION_FIELDS = list(Reservation.__dataclass_fields__)


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _view(row: Any) -> RoomView:
    fields = {f: row[f] for f in VIEW_FIELDS}
    fields["updated_at"] = _utc(row["updated_at"])
    stamp = Stamp(_utc(row["status_at"]), row["status_event_id"]) if row["status_at"] is not None else None
    return RoomView(**fields, status_stamp=stamp)


# The event path's statements, built once: SQLAlchemy then skips building and keying them per event.
_ADD_ROOM = room_views.insert()
_ADD_RESERVATION = reservations_seen.insert()
_GET_ROOM = select(room_views).where(room_views.c.room_id == bindparam("key"))
_UPDATE_ROOM = room_views.update().where(room_views.c.room_id == bindparam("key"))
_GET_RESERVATION = select(reservations_seen).where(reservations_seen.c.reservation_id == bindparam("key"))
_UPDATE_RESERVATION = reservations_seen.update().where(reservations_seen.c.reservation_id == bindparam("key"))
_LATEST = (
    select(reservations_seen)
    .where(reservations_seen.c.room_id == bindparam("key"), reservations_seen.c.status != "")
    .order_by(reservations_seen.c.first_seen_at.desc(), reservations_seen.c.reservation_id.desc())
    .limit(1)
)


def get_room(conn: Connection, room_id: str) -> RoomView | None:
    row = conn.execute(_GET_ROOM, {"key": room_id}).mappings().first()
    return _view(row) if row else None


def save_room(conn: Connection, view: RoomView, new: bool) -> None:
    stamp = view.status_stamp
    values = {
        **{f: getattr(view, f) for f in VIEW_FIELDS},
        "status_at": stamp.at if stamp else None,
        "status_event_id": stamp.event_id if stamp else "",
    }
    if new:
        conn.execute(_ADD_ROOM, values)
    else:
        del values["room_id"]
        conn.execute(_UPDATE_ROOM, {**values, "key": view.room_id})


def listing(conn: Connection, limit: int, offset: int) -> list[RoomView]:
    # room_id, not a time: rows change all the time, and a page must not skip or repeat one.
    query = select(room_views).order_by(room_views.c.room_id).limit(limit).offset(offset)
    return [_view(row) for row in conn.execute(query).mappings()]


def all_rows(conn: Connection) -> list[tuple]:
    """Every room view as a tuple of its public fields, by room_id: to compare a rebuild with the live view."""
    rows = conn.execute(select(room_views).order_by(room_views.c.room_id)).mappings()
    return [tuple(getattr(view, f) for f in VIEW_FIELDS) for view in map(_view, rows)]


def _reservation(row: Any) -> Reservation:
    return Reservation(**{**{f: row[f] for f in RESERVATION_FIELDS}, "first_seen_at": _utc(row["first_seen_at"])})


def get_reservation(conn: Connection, reservation_id: str) -> Reservation | None:
    row = conn.execute(_GET_RESERVATION, {"key": reservation_id}).mappings().first()
    return _reservation(row) if row else None


def save_reservation(conn: Connection, reservation: Reservation, new: bool) -> None:
    values = dict(reservation.__dict__)
    if new:
        conn.execute(_ADD_RESERVATION, values)
    else:
        key = values.pop("reservation_id")
        conn.execute(_UPDATE_RESERVATION, {**values, "key": key})


def latest_reservation(conn: Connection, room_id: str) -> Reservation | None:
    """The reservation a room shows: the one first seen last, ties broken by the larger reservation id.

    Only reservations the reservation context has announced count: a saga that failed after the payment
    leaves a PaymentApproved and a PaymentRefunded but no reservation, and must not hide a real one.
    """
    row = conn.execute(_LATEST, {"key": room_id}).mappings().first()
    return _reservation(row) if row else None


_ADD_STEP = timeline_steps.insert()
_STEPS = select(timeline_steps).where(timeline_steps.c.reservation_id == bindparam("key"))
STEP_FIELDS = list(Step.__dataclass_fields__)


def add_step(conn: Connection, step: Step) -> None:
    """One step of a reservation's timeline; each event is applied once (the consumer's inbox)."""
    conn.execute(_ADD_STEP, step.__dict__)


def steps(conn: Connection, reservation_id: str) -> list[Step]:
    rows = conn.execute(_STEPS, {"key": reservation_id}).mappings()
    return [Step(**{**{f: row[f] for f in STEP_FIELDS}, "at": _utc(row["at"])}) for row in rows]
