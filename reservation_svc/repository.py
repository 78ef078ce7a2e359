"""Reservation table and queries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
)

from reservation_svc.domain import ACTIVE, PENDING, Reservation
from svckit.db import now, stamp

metadata = MetaData()
reservations = Table(
    "reservations",
    metadata,
    Column("reservation_id", String(36), primary_key=True),
    Column("room_id", String(64), nullable=False),  # as asked: written (pending) before the room is known
    Column("guest_id", String(100), nullable=False, index=True),
    Column("check_in", Date, nullable=False),
    Column("check_out", Date, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("host_id", String(100), nullable=False, index=True),
    Column("payment_id", String(36), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
FIELDS = list(Reservation.__dataclass_fields__)
# The saga's statements, built once: SQLAlchemy then skips building and keying them per call.
_ADD = reservations.insert()
_GET = select(reservations).where(reservations.c.reservation_id == bindparam("key"))
_SAVE = reservations.update().where(reservations.c.reservation_id == bindparam("key"))
_ACTIVE_COUNT = select(func.count()).where(
    reservations.c.guest_id == bindparam("key"), reservations.c.status.in_(ACTIVE)
)


def add(conn: Connection, reservation: Reservation) -> str:
    """Store the reservation; returns its creation time."""
    created = now()
    conn.execute(_ADD, {**reservation.__dict__, "created_at": created})
    return stamp(created)


def save(conn: Connection, reservation: Reservation) -> None:
    values = {k: v for k, v in reservation.__dict__.items() if k != "reservation_id"}
    conn.execute(_SAVE, {**values, "key": reservation.reservation_id})


def remove(conn: Connection, reservation_id: str) -> None:
    conn.execute(reservations.delete().where(reservations.c.reservation_id == reservation_id))


def _rows(conn: Connection, query: Select, params: dict[str, str] | None = None) -> list[tuple[Reservation, str]]:
    return [
        (Reservation(**{k: r[k] for k in FIELDS}), stamp(r["created_at"]))
        for r in conn.execute(query, params).mappings()
    ]


def get(conn: Connection, reservation_id: str) -> tuple[Reservation, str] | None:
    found = _rows(conn, _GET, {"key": reservation_id})
    return found[0] if found else None


def listing(
    conn: Connection, limit: int, offset: int, guest_id: str = "", host_id: str = "", room_id: str = ""
) -> list[tuple[Reservation, str]]:
    """Reservations, oldest first, of this guest, of this host's rooms and of this room (each when given)."""
    query = select(reservations).order_by(reservations.c.created_at, reservations.c.reservation_id)
    for column, value in (("guest_id", guest_id), ("host_id", host_id), ("room_id", room_id)):
        if value:
            query = query.where(reservations.c[column] == value)
    return _rows(conn, query.limit(limit).offset(offset))


def active_count(conn: Connection, guest_id: str) -> int:
    return conn.execute(_ACTIVE_COUNT, {"key": guest_id}).scalar_one()


def stale_pending(conn: Connection, older_than: dt.datetime) -> list[Reservation]:
    """Sagas that never finished (the process died mid-way): to be compensated."""
    query = select(reservations).where(reservations.c.status == PENDING, reservations.c.created_at < older_than)
    return [r for r, _ in _rows(conn, query)]
