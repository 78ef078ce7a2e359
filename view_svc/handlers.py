"""The projection's event policies and the view's queries: plain functions over a unit of work or a Database."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from svckit.db import Database
from svckit.uow import UnitOfWork
from view_svc import domain, timeline
from view_svc import repository as repo
from view_svc.domain import Reservation, RoomView, Stamp
from view_svc.timeline import Step

logger = logging.getLogger(__name__)


def _stamp(envelope: Any) -> Stamp:
    return Stamp(envelope.occurred_at.ToDatetime(tzinfo=dt.UTC), envelope.event_id)


def _change_room(
    uow: UnitOfWork, room_id: str, stamp: Stamp, host_id: str, change: Callable[[RoomView], RoomView]
) -> None:
    found = repo.get_room(uow.conn, room_id)
    view = domain.touched(found or domain.placeholder(room_id, stamp.at), stamp.at, host_id)
    repo.save_room(uow.conn, change(view), new=found is None)


def _room_event(uow: UnitOfWork, event: Any, envelope: Any, change: Callable[[RoomView], RoomView]) -> None:
    # Three consumers write concurrently; one room's changes must not interleave (a no-op on SQLite).
    uow.lock(f"roomview:{event.room_id}")
    _change_room(uow, event.room_id, _stamp(envelope), event.host_id, change)


def _reservation_event(
    uow: UnitOfWork, event: Any, envelope: Any, change: Callable[[Reservation], Reservation]
) -> None:
    if not event.room_id:
        logger.warning("%s %s names no room; the view ignores it", envelope.type, envelope.event_id)
        return
    uow.lock(f"roomview:{event.room_id}")
    stamp = _stamp(envelope)
    found = repo.get_reservation(uow.conn, event.reservation_id)
    reservation = found or domain.first_seen(event.reservation_id, event.room_id, stamp.at)
    reservation = change(domain.seen(reservation, stamp.at, getattr(event, "payment_id", "")))
    repo.save_reservation(uow.conn, reservation, new=found is None)
    latest = repo.latest_reservation(uow.conn, reservation.room_id)
    host_id = getattr(event, "host_id", "")  # payment events do not know the host
    _change_room(uow, reservation.room_id, stamp, host_id, lambda view: domain.showing(view, latest))


def on_room_registered(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    stamp = _stamp(envelope)
    _room_event(uow, event, envelope, lambda v: domain.registered(v, event.description, event.room_status, stamp))


def on_review_created(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _room_event(uow, event, envelope, lambda view: domain.reviewed(view, event.review_count))


def on_room_status_changed(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    stamp = _stamp(envelope)
    _room_event(uow, event, envelope, lambda view: domain.with_status(view, event.room_status, stamp))


def on_reservation_requested(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _reservation_event(uow, event, envelope, lambda r: domain.advanced(r, domain.REQUESTED))


def on_reservation_confirmed(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _reservation_event(uow, event, envelope, lambda r: domain.advanced(r, domain.CONFIRMED))


def on_reservation_cancelled(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _reservation_event(uow, event, envelope, lambda r: domain.advanced(r, domain.CANCELLED))


def on_payment_approved(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _reservation_event(uow, event, envelope, lambda r: domain.paid(r, domain.APPROVED))


def on_payment_refunded(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    _reservation_event(uow, event, envelope, lambda r: domain.paid(r, domain.REFUNDED))


def on_step(uow: UnitOfWork, event: Any, envelope: Any) -> None:
    """Record the event as a step of its reservation's timeline, with who may see it."""
    if not event.reservation_id:
        return
    step = Step(
        envelope.event_id, event.reservation_id, event.room_id, envelope.type, _stamp(envelope).at,
        getattr(event, "guest_id", ""), getattr(event, "host_id", ""),
    )  # fmt: skip
    repo.add_step(uow.conn, step)


def _and_step(policy: Callable[[UnitOfWork, Any, Any], None]) -> Callable[[UnitOfWork, Any, Any], None]:
    def both(uow: UnitOfWork, event: Any, envelope: Any) -> None:
        policy(uow, event, envelope)
        on_step(uow, event, envelope)

    return both


def get_timeline(db: Database, reservation_id: str, role: str, subject: str) -> list[Step]:
    with db.read() as conn:
        return timeline.visible_to(repo.steps(conn, reservation_id), role, subject)


def get_room_view(db: Database, room_id: str) -> RoomView:
    with db.read() as conn:
        found = repo.get_room(conn, room_id)
    if found is None:
        raise domain.RoomViewNotFound(f"no view of room {room_id!r}")
    return found


def list_room_views(db: Database, limit: int, offset: int) -> list[RoomView]:
    with db.read() as conn:
        return repo.listing(conn, limit, offset)


_PROJECTION = {
    "room": {
        "RoomRegistered": on_room_registered,
        "ReviewCreated": on_review_created,
        "RoomReserved": on_room_status_changed,
        "RoomReleased": on_room_status_changed,
    },
    "reservation": {
        "ReservationRequested": on_reservation_requested,
        "ReservationConfirmed": on_reservation_confirmed,
        "ReservationCancelled": on_reservation_cancelled,
    },
    "payment": {"PaymentApproved": on_payment_approved, "PaymentRefunded": on_payment_refunded},
}
# The room views, and each saga step on its reservation's timeline too (RoomHeld only there).
POLICIES = {
    producer: {
        event_type: _and_step(policy) if event_type in timeline.STEPS else policy
        for event_type, policy in policies.items()
    }
    for producer, policies in _PROJECTION.items()
}
POLICIES["room"]["RoomHeld"] = on_step
