"""The reservation context's unit of work: what its handlers see of storage, and the SQL one that main.py wires."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import Connection

from reservation_svc.domain import Reservation
from reservation_svc.repository import SqlReservations
from svckit.uow import UnitOfWork, Work


class Reservations(Protocol):
    def add(self, reservation: Reservation) -> None: ...
    def save(self, reservation: Reservation) -> None: ...
    def remove(self, reservation_id: str) -> None: ...
    def get(self, reservation_id: str) -> Reservation | None: ...
    def listing(
        self, limit: int, offset: int, guest_id: str = "", host_id: str = "", room_id: str = ""
    ) -> list[Reservation]: ...
    def active_count(self, guest_id: str) -> int: ...
    def stale_pending(self, older_than: dt.datetime) -> list[Reservation]: ...


class ReservationWork(Work, Protocol):
    @property
    def reservations(self) -> Reservations: ...


class ReservationUnitOfWork(UnitOfWork):
    def _bind(self, conn: Connection) -> None:
        self.reservations = SqlReservations(conn)
