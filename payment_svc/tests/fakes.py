"""The payment context's unit of work in memory, for handler tests without a database."""

from __future__ import annotations

from payment_svc.domain import Payment
from svckit.testing import FakeUnitOfWork


class FakePayments:
    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}

    def add(self, payment: Payment) -> None:
        assert all(p.reservation_id != payment.reservation_id for p in self.rows.values()), "one per reservation"
        self.rows[payment.payment_id] = payment

    def set_status(self, payment: Payment) -> None:
        self.rows[payment.payment_id] = payment

    def by_id(self, payment_id: str) -> Payment | None:
        return self.rows.get(payment_id)

    def by_reservation(self, reservation_id: str) -> Payment | None:
        return next((p for p in self.rows.values() if p.reservation_id == reservation_id), None)

    def listing(self, guest_id: str, reservation_id: str, limit: int, offset: int) -> list[Payment]:
        found = [p for p in self.rows.values() if guest_id in ("", p.guest_id)]
        return [p for p in found if reservation_id in ("", p.reservation_id)][offset : offset + limit]


class FakePaymentUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.payments = FakePayments()
