"""The payment context's unit of work: what its handlers see of storage, and the SQL one that main.py wires."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from payment_svc.domain import Payment
from payment_svc.repository import SqlPayments
from svckit.uow import UnitOfWork, Work


class Payments(Protocol):
    def add(self, payment: Payment) -> None: ...
    def set_status(self, payment: Payment) -> None: ...
    def by_id(self, payment_id: str) -> Payment | None: ...
    def by_reservation(self, reservation_id: str) -> Payment | None: ...
    def listing(self, guest_id: str, reservation_id: str, limit: int, offset: int) -> list[Payment]: ...


class PaymentWork(Work, Protocol):
    @property
    def payments(self) -> Payments: ...


class PaymentUnitOfWork(UnitOfWork):
    def _bind(self, conn: Connection) -> None:
        self.payments = SqlPayments(conn)
