"""The projection's event policies and the view's queries: plain functions over the view's units of work."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from bnb.events.v1 import events_pb2 as ev
from svckit.events import EventEnvelope
from svckit.policies import Policies, on
from svckit.uow import Units
from view_svc import domain, timeline
from view_svc.domain import Reservation, RoomView, Stamp
from view_svc.timeline import Step
from view_svc.unit_of_work import ViewWork

logger = logging.getLogger(__name__)
RoomEvent = ev.RoomRegistered | ev.ReviewCreated | ev.RoomReserved | ev.RoomReleased
ReservationEvent = (
    ev.ReservationRequested
    | ev.ReservationConfirmed
    | ev.ReservationCancelled
    | ev.PaymentApproved
    | ev.PaymentRefunded
)


class OfReservation(Protocol):
    """An event of a saga's: a step on its reservation's timeline."""

    @property
    def reservation_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...


S = TypeVar("S", bound=OfReservation)


def _room_key(room_id: str) -> str:
    return f"roomview:{room_id}"


def locks(event: Message) -> list[str]:
    """The lock an event's handler takes: its room's, if it names one (svckit.inbox.Subscription.locks)."""
    room_id: str = getattr(event, "room_id", "")
    return [_room_key(room_id)] if room_id else []


def _stamp(envelope: EventEnvelope) -> Stamp:
    return Stamp(envelope.occurred_at.ToDatetime(tzinfo=dt.UTC), envelope.event_id)


def _change_room(
    uow: ViewWork, room_id: str, stamp: Stamp, host_id: str, change: Callable[[RoomView], RoomView]
) -> None:
    found = uow.room_views.get(room_id)
    view = domain.touched(found or domain.placeholder(room_id, stamp.at), stamp.at, host_id)
    uow.room_views.save(change(view), new=found is None)


def _room_event(
    uow: ViewWork, event: RoomEvent, envelope: EventEnvelope, change: Callable[[RoomView], RoomView]
) -> None:
    # Three consumers write concurrently; one room's changes must not interleave (a no-op on SQLite).
    uow.lock(_room_key(event.room_id))
    _change_room(uow, event.room_id, _stamp(envelope), event.host_id, change)


def _reservation_event(
    uow: ViewWork, event: ReservationEvent, envelope: EventEnvelope, change: Callable[[Reservation], Reservation]
) -> None:
    if not event.room_id:
        logger.warning("%s %s names no room; the view ignores it", envelope.type, envelope.event_id)
        return
    uow.lock(_room_key(event.room_id))
    stamp = _stamp(envelope)
    found = uow.reservations.get(event.reservation_id)
    reservation = found or domain.first_seen(event.reservation_id, event.room_id, stamp.at)
    reservation = change(domain.seen(reservation, stamp.at, getattr(event, "payment_id", "")))
    uow.reservations.save(reservation, new=found is None)
    latest = uow.reservations.latest(reservation.room_id)
    host_id = getattr(event, "host_id", "")  # payment events do not know the host
    _change_room(uow, reservation.room_id, stamp, host_id, lambda view: domain.showing(view, latest))


def on_room_registered(uow: ViewWork, event: ev.RoomRegistered, envelope: EventEnvelope) -> None:
    stamp = _stamp(envelope)
    _room_event(uow, event, envelope, lambda v: domain.registered(v, event.description, event.room_status, stamp))


def on_review_created(uow: ViewWork, event: ev.ReviewCreated, envelope: EventEnvelope) -> None:
    _room_event(uow, event, envelope, lambda view: domain.reviewed(view, event.review_count))


def on_room_status_changed(uow: ViewWork, event: ev.RoomReserved | ev.RoomReleased, envelope: EventEnvelope) -> None:
    stamp = _stamp(envelope)
    _room_event(uow, event, envelope, lambda view: domain.with_status(view, event.room_status, stamp))


def _advanced(status: str) -> Callable[[ViewWork, ReservationEvent, EventEnvelope], None]:
    def policy(uow: ViewWork, event: ReservationEvent, envelope: EventEnvelope) -> None:
        _reservation_event(uow, event, envelope, lambda r: domain.advanced(r, status))

    return policy


def _paid(status: str) -> Callable[[ViewWork, ReservationEvent, EventEnvelope], None]:
    def policy(uow: ViewWork, event: ReservationEvent, envelope: EventEnvelope) -> None:
        _reservation_event(uow, event, envelope, lambda r: domain.paid(r, status))

    return policy


on_reservation_requested = _advanced(domain.REQUESTED)
on_reservation_confirmed = _advanced(domain.CONFIRMED)
on_reservation_cancelled = _advanced(domain.CANCELLED)
on_payment_approved = _paid(domain.APPROVED)
on_payment_refunded = _paid(domain.REFUNDED)


def on_step(uow: ViewWork, event: OfReservation, envelope: EventEnvelope) -> None:
    """Record the event as a step of its reservation's timeline, with who may see it."""
    if not event.reservation_id:
        return
    step = Step(
        envelope.event_id, event.reservation_id, event.room_id, envelope.type, _stamp(envelope).at,
        getattr(event, "guest_id", ""), getattr(event, "host_id", ""),
    )  # fmt: skip
    uow.steps.add(step)


def _and_step(policy: Callable[[ViewWork, S, EventEnvelope], None]) -> Callable[[ViewWork, S, EventEnvelope], None]:
    def both(uow: ViewWork, event: S, envelope: EventEnvelope) -> None:
        policy(uow, event, envelope)
        on_step(uow, event, envelope)

    return both


def get_timeline(units: Units[ViewWork], reservation_id: str, role: str, subject: str) -> list[Step]:
    with units(read_only=True) as uow:
        return timeline.visible_to(uow.steps.of(reservation_id), role, subject)


def get_room_view(units: Units[ViewWork], room_id: str) -> RoomView:
    with units(read_only=True) as uow:
        found = uow.room_views.get(room_id)
    if found is None:
        raise domain.RoomViewNotFound(f"no view of room {room_id!r}")
    return found


def list_room_views(units: Units[ViewWork], limit: int, offset: int) -> list[RoomView]:
    with units(read_only=True) as uow:
        return uow.room_views.listing(limit, offset)


# The room views, and each saga step on its reservation's timeline too (timeline.STEPS; RoomHeld only there).
POLICIES: Policies = {
    "room": dict([
        on(ev.RoomRegistered, on_room_registered),
        on(ev.ReviewCreated, on_review_created),
        on(ev.RoomHeld, on_step),
        on(ev.RoomReserved, _and_step(on_room_status_changed)),
        on(ev.RoomReleased, _and_step(on_room_status_changed)),
    ]),
    "reservation": dict([
        on(ev.ReservationRequested, _and_step(on_reservation_requested)),
        on(ev.ReservationConfirmed, _and_step(on_reservation_confirmed)),
        on(ev.ReservationCancelled, _and_step(on_reservation_cancelled)),
    ]),
    "payment": dict([
        on(ev.PaymentApproved, _and_step(on_payment_approved)),
        on(ev.PaymentRefunded, _and_step(on_payment_refunded)),
    ]),
}  # fmt: skip
