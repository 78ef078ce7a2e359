"""Payments: approved once per reservation, refunded at most once; standard library only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

APPROVED, REFUNDED, VOIDED = "approved", "refunded", "voided"


class PaymentError(Exception):
    """A payment rule was broken."""


class InvalidPayment(PaymentError):
    pass


class PaymentNotFound(PaymentError):
    pass


class PaymentMismatch(PaymentError):
    """The reservation already has a payment with other terms."""


class PaymentVoided(PaymentError):
    """The reservation was undone before its approval arrived: it must never be charged."""


@dataclass(frozen=True)
class Payment:
    payment_id: str
    reservation_id: str
    guest_id: str
    room_id: str
    amount: int
    created_at: dt.datetime
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


def approve(
    payment_id: str, reservation_id: str, guest_id: str, room_id: str, amount: int, created_at: dt.datetime
) -> Payment:
    for field, value in (("reservation_id", reservation_id), ("guest_id", guest_id), ("room_id", room_id)):
        if not value.strip():
            raise InvalidPayment(f"{field} is required")
    if amount <= 0:
        raise InvalidPayment(f"amount must be positive, got {amount}")
    return Payment(payment_id, reservation_id, guest_id, room_id, amount, created_at)


def voided(payment_id: str, reservation_id: str, created_at: dt.datetime) -> Payment:
    """A tombstone: a refund came before any approval, so a late approval must be refused."""
    return Payment(payment_id, reservation_id, "", "", 0, created_at, VOIDED)


def event_of(payment: Payment) -> PaymentApproved | PaymentRefunded:
    cls = PaymentApproved if payment.status == APPROVED else PaymentRefunded
    return cls(payment.payment_id, payment.reservation_id, payment.room_id, payment.guest_id, payment.amount)
