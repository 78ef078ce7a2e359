"""Cancellation, the confirmation policy and queries: plain functions (the saga itself is reservation_svc.saga)."""

from __future__ import annotations

import logging

from bnb.events.v1 import events_pb2 as ev
from reservation_svc import domain
from reservation_svc.domain import Reservation
from reservation_svc.unit_of_work import ReservationWork
from svckit.caller import Caller
from svckit.events import EventEnvelope
from svckit.idempotency import Key
from svckit.logs import correlated
from svckit.policies import Policies, on
from svckit.retries import RetryLater
from svckit.uow import Units

logger = logging.getLogger(__name__)


def _key(reservation_id: str) -> str:
    """What a cancellation and a confirmation of one reservation lock (UnitOfWork.lock)."""
    return f"reservation:{reservation_id}"


def cancel_reservation(
    units: Units[ReservationWork], reservation_id: str, guest: Caller, key: Key | None = None
) -> Reservation:
    """The guest cancels their own reservation; someone else's is not found, like one that does not exist.

    With an idempotency key, the reply is stored under it in the same transaction.
    """
    with correlated(reservation_id), units() as uow:
        uow.keys.claim(key)
        uow.lock(_key(reservation_id))  # PostgreSQL: a confirmation must not overwrite this cancellation
        r = domain.cancel(_find(uow, reservation_id, guest))
        uow.reservations.save(r)
        uow.emit(domain.cancelled(r), aggregate_id=r.reservation_id)
        uow.keys.finish(key, r)
        uow.commit()
        logger.info("reservation %s cancelled", reservation_id)
    return r


def locks(event: ev.PaymentApproved) -> list[str]:
    """What on_payment_approved locks, as a cancellation does (svckit.inbox.Subscription.locks)."""
    return [_key(event.reservation_id)]


def on_payment_approved(uow: ReservationWork, event: ev.PaymentApproved, _envelope: EventEnvelope) -> None:
    """Confirm a paid reservation; the payment's event can overtake the saga's own commit."""
    uow.lock(_key(event.reservation_id))  # read what a cancellation wrote, not an older snapshot
    found = uow.reservations.get(event.reservation_id)
    if found is None:
        return  # the saga failed and was undone: the refund follows
    if found.status == domain.PENDING:
        raise RetryLater(f"reservation {found.reservation_id} is still pending", awaits=found.reservation_id)
    if (r := domain.confirm(found)) is not None:
        uow.reservations.save(r)
        uow.emit(domain.confirmed(r), aggregate_id=r.reservation_id)


def _find(uow: ReservationWork, reservation_id: str, viewer: Caller) -> Reservation:
    found = uow.reservations.get(reservation_id)
    if found is None or not domain.belongs_to(found, viewer.role, viewer.subject):
        raise domain.ReservationNotFound(f"reservation {reservation_id!r} not found")
    return found


def get_reservation(units: Units[ReservationWork], reservation_id: str, viewer: Caller) -> Reservation:
    with units(read_only=True) as uow:
        return _find(uow, reservation_id, viewer)


def list_reservations(
    units: Units[ReservationWork], viewer: Caller, room_id: str, limit: int, offset: int
) -> list[Reservation]:
    """A guest's own reservations, or those on a host's rooms; of one room when `room_id` is given."""
    guest_id, host_id = (viewer.subject, "") if viewer.is_guest else ("", viewer.subject)
    with units(read_only=True) as uow:
        return uow.reservations.listing(limit, offset, guest_id, host_id, room_id)


POLICIES: Policies = {"payment": dict([on(ev.PaymentApproved, on_payment_approved)])}
