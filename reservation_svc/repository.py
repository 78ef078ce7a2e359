"""The reservations table and its repository (SQLAlchemy Core)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    func,
    or_,
    select,
)

from reservation_svc.domain import ACTIVE, PENDING, Reservation
from svckit.compiled import Compiled
from svckit.tables import UtcDateTime

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
    Column("created_at", UtcDateTime(), nullable=False),
)
# The saga's statements, compiled once (svckit.compiled).
_ADD = Compiled(reservations.insert())
_GET = Compiled(select(reservations).where(reservations.c.reservation_id == bindparam("key")))
_SAVE = Compiled(reservations.update().where(reservations.c.reservation_id == bindparam("key")))
_REMOVE = Compiled(reservations.delete().where(reservations.c.reservation_id == bindparam("key")))
_ACTIVE_COUNT = Compiled(  # OR, not IN: an IN list is rendered per call, and svckit.compiled renders once
    select(func.count()).where(
        reservations.c.guest_id == bindparam("key"), or_(*(reservations.c.status == s for s in ACTIVE))
    )
)


class SqlReservations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, reservation: Reservation) -> None:
        _ADD.run(self.conn, vars(reservation))

    def save(self, reservation: Reservation) -> None:
        values = {k: v for k, v in vars(reservation).items() if k != "reservation_id"}
        _SAVE.run(self.conn, {**values, "key": reservation.reservation_id})

    def remove(self, reservation_id: str) -> None:
        _REMOVE.run(self.conn, {"key": reservation_id})

    def _rows(self, query: Select[Any], params: dict[str, str] | None = None) -> list[Reservation]:
        return [Reservation(**row) for row in self.conn.execute(query, params).mappings()]

    def get(self, reservation_id: str) -> Reservation | None:
        row = _GET.first(self.conn, {"key": reservation_id})
        return Reservation(**row) if row else None

    def listing(
        self, limit: int, offset: int, guest_id: str = "", host_id: str = "", room_id: str = ""
    ) -> list[Reservation]:
        """Reservations, oldest first, of this guest, of this host's rooms and of this room (each when given)."""
        query = select(reservations).order_by(reservations.c.created_at, reservations.c.reservation_id)
        for column, value in (("guest_id", guest_id), ("host_id", host_id), ("room_id", room_id)):
            if value:
                query = query.where(reservations.c[column] == value)
        return self._rows(query.limit(limit).offset(offset))

    def active_count(self, guest_id: str) -> int:
        count: int = _ACTIVE_COUNT.scalar(self.conn, {"key": guest_id})
        return count

    def stale_pending(self, older_than: dt.datetime) -> list[Reservation]:
        """Sagas that never finished (the process died mid-way): to be compensated."""
        query = select(reservations).where(reservations.c.status == PENDING, reservations.c.created_at < older_than)
        return self._rows(query)
