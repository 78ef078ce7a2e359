"""How each event changes a room view; every merge commutes, so arrival order never matters. Stdlib only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

REQUESTED, CONFIRMED, CANCELLED = "requested", "confirmed", "cancelled"
APPROVED, REFUNDED = "approved", "refunded"
# A reservation or payment only moves forward; a late event about an earlier step changes nothing.
RESERVATION_RANK = {"": 0, REQUESTED: 1, CONFIRMED: 2, CANCELLED: 3}
PAYMENT_RANK = {"": 0, APPROVED: 1, REFUNDED: 2}


class ViewError(Exception):
    """A view query was wrong."""


class RoomViewNotFound(ViewError):
    pass


@dataclass(frozen=True, order=True)
class Stamp:
    """When an event occurred; its id breaks ties so that every replica picks the same winner."""

    at: dt.datetime
    event_id: str


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    room_id: str
    first_seen_at: dt.datetime
    status: str = ""
    payment_id: str = ""
    payment_status: str = ""


@dataclass(frozen=True)
class RoomView:
    room_id: str
    updated_at: dt.datetime
    host_id: str = ""
    description: str = ""
    room_status: str = ""
    review_count: int = 0
    reservation_id: str = ""
    reservation_status: str = ""
    payment_id: str = ""
    payment_status: str = ""
    status_stamp: Stamp | None = None  # of the event that set room_status


# What a reader sees of a room; the status stamp is bookkeeping of the merge.
SHOWN = [f.name for f in fields(RoomView) if f.name != "status_stamp"]


def placeholder(room_id: str, at: dt.datetime) -> RoomView:
    """A room heard of through a reservation or payment before its RoomRegistered arrived."""
    return RoomView(room_id, updated_at=at)


def touched(view: RoomView, at: dt.datetime, host_id: str = "") -> RoomView:
    """Any event about the room: updated_at is the newest event's time; a room's host never changes."""
    return replace(view, updated_at=max(view.updated_at, at), host_id=view.host_id or host_id)


def with_status(view: RoomView, status: str, stamp: Stamp) -> RoomView:
    """The room status of the newest room event wins, whichever came last."""
    if view.status_stamp is not None and stamp <= view.status_stamp:
        return view
    return replace(view, room_status=status, status_stamp=stamp)


def registered(view: RoomView, description: str, status: str, stamp: Stamp) -> RoomView:
    return with_status(replace(view, description=description), status, stamp)


def reviewed(view: RoomView, review_count: int) -> RoomView:
    # Each ReviewCreated carries the count after it, so the largest seen is the latest.
    return replace(view, review_count=max(view.review_count, review_count))


def showing(view: RoomView, reservation: Reservation | None) -> RoomView:
    """The view with the room's current reservation, as the repository chose it (see latest_reservation)."""
    if reservation is None:
        return view
    return replace(
        view,
        reservation_id=reservation.reservation_id,
        reservation_status=reservation.status,
        payment_id=reservation.payment_id,
        payment_status=reservation.payment_status,
    )


def first_seen(reservation_id: str, room_id: str, at: dt.datetime) -> Reservation:
    return Reservation(reservation_id, room_id, first_seen_at=at)


def seen(reservation: Reservation, at: dt.datetime, payment_id: str = "") -> Reservation:
    """Any event about the reservation: it was first seen at the earliest of their times."""
    # Every event of one reservation names the same payment, so the first one given is the one.
    return replace(
        reservation,
        first_seen_at=min(reservation.first_seen_at, at),
        payment_id=reservation.payment_id or payment_id,
    )


def advanced(reservation: Reservation, status: str) -> Reservation:
    if RESERVATION_RANK[status] <= RESERVATION_RANK.get(reservation.status, 0):
        return reservation
    return replace(reservation, status=status)


def paid(reservation: Reservation, status: str) -> Reservation:
    if PAYMENT_RANK[status] <= PAYMENT_RANK.get(reservation.payment_status, 0):
        return reservation
    return replace(reservation, payment_status=status)
