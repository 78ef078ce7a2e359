"""The view's tables and repositories (SQLAlchemy Core): one row per room as shown, one per reservation seen."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Index, Integer, MetaData, RowMapping, String, Table, Text, bindparam, select

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
_ADD_STEP = timeline_steps.insert()
_STEPS = select(timeline_steps).where(timeline_steps.c.reservation_id == bindparam("key"))


def _view(row: RowMapping) -> RoomView:
    fields = {f: row[f] for f in SHOWN}
    stamp = Stamp(row["status_at"], row["status_event_id"]) if row["status_at"] is not None else None
    return RoomView(**fields, status_stamp=stamp)


class SqlRoomViews:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, room_id: str) -> RoomView | None:
        row = self.conn.execute(_GET_ROOM, {"key": room_id}).mappings().first()
        return _view(row) if row else None

    def save(self, view: RoomView, new: bool) -> None:
        stamp = view.status_stamp
        values = {
            **{f: getattr(view, f) for f in SHOWN},
            "status_at": stamp.at if stamp else None,
            "status_event_id": stamp.event_id if stamp else "",
        }
        if new:
            self.conn.execute(_ADD_ROOM, values)
        else:
            del values["room_id"]
            self.conn.execute(_UPDATE_ROOM, {**values, "key": view.room_id})

    def listing(self, limit: int, offset: int) -> list[RoomView]:
        # room_id, not a time: rows change all the time, and a page must not skip or repeat one.
        query = select(room_views).order_by(room_views.c.room_id).limit(limit).offset(offset)
        return [_view(row) for row in self.conn.execute(query).mappings()]


class SqlReservationsSeen:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, reservation_id: str) -> Reservation | None:
        row = self.conn.execute(_GET_RESERVATION, {"key": reservation_id}).mappings().first()
        return Reservation(**row) if row else None

    def save(self, reservation: Reservation, new: bool) -> None:
        values = dict(vars(reservation))
        if new:
            self.conn.execute(_ADD_RESERVATION, values)
        else:
            key = values.pop("reservation_id")
            self.conn.execute(_UPDATE_RESERVATION, {**values, "key": key})

    def latest(self, room_id: str) -> Reservation | None:
        """The reservation a room shows: the one first seen last, ties broken by the larger reservation id.

        Only reservations the reservation context has announced count: a saga that failed after the payment
        leaves a PaymentApproved and a PaymentRefunded but no reservation, and must not hide a real one.
        """
        row = self.conn.execute(_LATEST, {"key": room_id}).mappings().first()
        return Reservation(**row) if row else None


class SqlSteps:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, step: Step) -> None:
        """One step of a reservation's timeline; each event is applied once (the consumer's inbox)."""
        self.conn.execute(_ADD_STEP, vars(step))

    def of(self, reservation_id: str) -> list[Step]:
        return [Step(**row) for row in self.conn.execute(_STEPS, {"key": reservation_id}).mappings()]
