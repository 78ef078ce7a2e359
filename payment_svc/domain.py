"""Payments: approved once per reservation, refunded at most once; standard library only."""

from __future__ import annotations

from dataclasses import dataclass, replace

APPROVED, REFUNDED = "approved", "refunded"


class PaymentError(Exception):
    """A payment rule was broken."""


class InvalidPayment(PaymentError):
    pass


class PaymentNotFound(PaymentError):
    pass


class PaymentMismatch(PaymentError):
    """The reservation already has a payment with other terms."""


@dataclass(frozen=True)
class Payment:
    payment_id: str
    reservation_id: str
    guest_id: str
    room_id: str
    amount: int
    status: str = APPROVED

    def same_terms(self, guest_id: str, room_id: str, amount: int) -> bool:
        return (self.guest_id, self.room_id, self.amount) == (guest_id, room_id, amount)

    def refunded(self) -> Payment:
        return replace(self, status=REFUNDED)


@dataclass(frozen=True)
class PaymentApproved:
    payment_id: str
    reservation_id: str
    room_id: str
    guest_id: str
    amount: int


@dataclass(frozen=True)
class PaymentRefunded:
    payment_id: str
    reservation_id: str
    room_id: str
    guest_id: str
    amount: int


def approve(payment_id: str, reservation_id: str, guest_id: str, room_id: str, amount: int) -> Payment:
    for field, value in (("reservation_id", reservation_id), ("guest_id", guest_id), ("room_id", room_id)):
        if not value.strip():
            raise InvalidPayment(f"{field} is required")
    if amount <= 0:
        raise InvalidPayment(f"amount must be positive, got {amount}")
    return Payment(payment_id, reservation_id, guest_id, room_id, amount)


def event_of(payment: Payment) -> PaymentApproved | PaymentRefunded:
    cls = PaymentApproved if payment.status == APPROVED else PaymentRefunded
    return cls(payment.payment_id, payment.reservation_id, payment.room_id, payment.guest_id, payment.amount)
