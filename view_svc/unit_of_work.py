"""The view's unit of work: what its handlers see of storage, and the SQL one that main.py wires."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from svckit.uow import UnitOfWork, Work
from view_svc.domain import Reservation, RoomView
from view_svc.repository import SqlReservationsSeen, SqlRoomViews, SqlSteps
from view_svc.timeline import Step


class RoomViews(Protocol):
    def get(self, room_id: str) -> RoomView | None: ...
    def save(self, view: RoomView, new: bool) -> None: ...
    def listing(self, limit: int, offset: int) -> list[RoomView]: ...


class ReservationsSeen(Protocol):
    def get(self, reservation_id: str) -> Reservation | None: ...
    def save(self, reservation: Reservation, new: bool) -> None: ...
    def latest(self, room_id: str) -> Reservation | None: ...


class Steps(Protocol):
    def add(self, step: Step) -> None: ...
    def of(self, reservation_id: str) -> list[Step]: ...


class ViewWork(Work, Protocol):
    @property
    def room_views(self) -> RoomViews: ...
    @property
    def reservations(self) -> ReservationsSeen: ...
    @property
    def steps(self) -> Steps: ...


class ViewUnitOfWork(UnitOfWork):
    def _bind(self, conn: Connection) -> None:
        self.room_views = SqlRoomViews(conn)
        self.reservations = SqlReservationsSeen(conn)
        self.steps = SqlSteps(conn)
