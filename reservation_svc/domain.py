"""Reservations and their life cycle: standard library only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

PENDING, APPROVED, CONFIRMED, CANCELLED = "pending", "approved", "confirmed", "cancelled"
ACTIVE = (PENDING, APPROVED, CONFIRMED)
MAX_NIGHTS = 365
_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone takes 20310110 and 2031-W02-1 too


class ReservationError(Exception):
    """A reservation rule was broken."""


class InvalidReservation(ReservationError):
    pass


class ReservationNotFound(ReservationError):
    pass


class GuestLimitReached(ReservationError):
    """The guest already holds the most active reservations allowed."""


class NotCancellable(ReservationError):
    pass


class RoomNotFound(ReservationError):
    pass


class RoomUnavailable(ReservationError):
    """The room is held by another reservation for some of the nights."""


class PaymentDeclined(ReservationError):
    pass


class DependencyUnavailable(ReservationError):
    """A context the saga needs cannot answer now (down, or its circuit breaker is open)."""


class DependencyTimeout(ReservationError):
    """The request's deadline ran out while a dependency worked."""


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    room_id: str
    guest_id: str
    check_in: dt.date
    check_out: dt.date
    created_at: dt.datetime
    status: str = PENDING
    host_id: str = ""
    payment_id: str = ""
    amount: int = 0

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@dataclass(frozen=True)
class Held:
    """What the room context answered to a hold: the room's host and price."""

    host_id: str
    price_per_night: int


@dataclass(frozen=True)
class ReservationRequested:
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    amount: int
    payment_id: str


@dataclass(frozen=True)
class ReservationConfirmed:
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str


@dataclass(frozen=True)
class ReservationCancelled:
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str


def _date(value: str, field: str) -> dt.date:
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    shown = f", got {value!r}" if len(value) <= 32 else ""  # never echo a 60 KiB field back
    raise InvalidReservation(f"{field} must be a date YYYY-MM-DD{shown}")


def request(
    reservation_id: str,
    room_id: str,
    guest_id: str,
    check_in: str,
    check_out: str,
    today: dt.date,
    max_days_ahead: int,
    created_at: dt.datetime,
) -> Reservation:
    """A new, pending reservation, if the stay is valid: check-in from today to `max_days_ahead` days on."""
    if not room_id.strip():
        raise InvalidReservation("room_id is required")
    start, end = _date(check_in, "check_in"), _date(check_out, "check_out")
    if start >= end:
        raise InvalidReservation(f"check_in {start} must be before check_out {end}")
    if start < today:
        raise InvalidReservation(f"check_in {start} is in the past")
    if (start - today).days > max_days_ahead:
        raise InvalidReservation(f"check_in {start} is more than {max_days_ahead} days ahead")
    if (end - start).days > MAX_NIGHTS:
        raise InvalidReservation(f"a stay may last at most {MAX_NIGHTS} nights")
    return Reservation(reservation_id, room_id.strip(), guest_id, start, end, created_at)


def check_limit(active: int, maximum: int) -> None:
    if active >= maximum:
        raise GuestLimitReached(f"a guest may hold at most {maximum} active reservations")


def price(reservation: Reservation, price_per_night: int) -> int:
    """What the guest pays: nights x price per night."""
    return reservation.nights * price_per_night


def approve(reservation: Reservation, host_id: str, payment_id: str, amount: int) -> Reservation:
    return replace(reservation, status=APPROVED, host_id=host_id, payment_id=payment_id, amount=amount)


def confirm(reservation: Reservation) -> Reservation | None:
    """The paid reservation, confirmed; None when it was cancelled (or confirmed) meanwhile."""
    return replace(reservation, status=CONFIRMED) if reservation.status == APPROVED else None


def belongs_to(r: Reservation, role: str, subject: str) -> bool:
    """Whether `subject` may see the reservation: the guest who made it, or the host of its room."""
    return bool(subject) and subject == {"guest": r.guest_id, "host": r.host_id}.get(role)


def cancel(reservation: Reservation) -> Reservation:
    if reservation.status == CANCELLED:
        raise NotCancellable(f"reservation {reservation.reservation_id} is already cancelled")
    if reservation.status not in (APPROVED, CONFIRMED):
        raise NotCancellable(f"reservation {reservation.reservation_id} is still being processed")
    return replace(reservation, status=CANCELLED)


def requested(r: Reservation) -> ReservationRequested:
    return ReservationRequested(
        r.reservation_id, r.room_id, r.guest_id, r.host_id, str(r.check_in), str(r.check_out), r.amount, r.payment_id
    )


def confirmed(r: Reservation) -> ReservationConfirmed:
    return ReservationConfirmed(r.reservation_id, r.room_id, r.guest_id, r.host_id)


def cancelled(r: Reservation) -> ReservationCancelled:
    return ReservationCancelled(r.reservation_id, r.room_id, r.guest_id, r.host_id)
