"""Payment commands, queries and the refund policy: plain functions over the context's units of work."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from bnb.events.v1 import events_pb2 as ev
from payment_svc import domain
from payment_svc.domain import Payment
from payment_svc.unit_of_work import PaymentWork
from svckit.events import EventEnvelope
from svckit.ids import new_id
from svckit.logs import correlated
from svckit.policies import Policies, on
from svckit.tables import now
from svckit.uow import Units

logger = logging.getLogger(__name__)


def approve_payment(
    units: Units[PaymentWork], reservation_id: str, guest_id: str, room_id: str, amount: int
) -> Payment:
    """Approve the reservation's payment; approving again returns the same payment, never a second one."""
    payment = domain.approve(new_id(), reservation_id, guest_id, room_id, amount, now())
    try:
        with correlated(reservation_id), units() as uow:
            if uow.payments.by_reservation(reservation_id) is None:
                uow.payments.add(payment)
                uow.emit(domain.event_of(payment), aggregate_id=payment.payment_id)
                uow.commit()
                logger.info("payment %s approved: %s", payment.payment_id, amount)
                return payment
    except IntegrityError:
        pass  # a concurrent retry of the same call won the race: answer with its payment
    existing = get_payment_of(units, reservation_id)
    if existing.status == domain.VOIDED:
        raise domain.PaymentVoided(f"reservation {reservation_id} was undone before its payment: not charged")
    if not existing.same_terms(guest_id, room_id, amount):
        raise domain.PaymentMismatch(f"reservation {reservation_id} already has a payment with other terms")
    return existing


def get_payment_of(units: Units[PaymentWork], reservation_id: str) -> Payment:
    with units(read_only=True) as uow:
        found = uow.payments.by_reservation(reservation_id)
    if found is None:
        raise domain.PaymentNotFound(f"no payment for reservation {reservation_id!r}")
    return found


def _refund(uow: PaymentWork, reservation_id: str) -> Payment | None:
    """Refund once; with no payment yet, leave a tombstone so that a late approval is refused."""
    payment = uow.payments.by_reservation(reservation_id)
    if payment is None:
        uow.payments.add(domain.voided(new_id(), reservation_id, now()))
        return None
    if payment.status != domain.APPROVED:
        return payment
    payment = payment.refunded()
    uow.payments.set_status(payment)
    uow.emit(domain.event_of(payment), aggregate_id=payment.payment_id)
    logger.info("payment %s refunded", payment.payment_id)
    return payment


def refund_payment(units: Units[PaymentWork], reservation_id: str) -> Payment:
    """Refund the reservation's payment; refunding twice refunds once. PaymentNotFound: nothing was charged."""
    for attempt in range(2):
        try:
            with correlated(reservation_id), units() as uow:
                payment = _refund(uow, reservation_id)
                uow.commit()
            break
        except IntegrityError:  # an approval committed between our read and our tombstone: refund it
            if attempt:
                raise
    if payment is None or payment.status == domain.VOIDED:
        raise domain.PaymentNotFound(f"no payment for reservation {reservation_id!r}: nothing charged")
    return payment


def on_reservation_cancelled(uow: PaymentWork, event: ev.ReservationCancelled, _envelope: EventEnvelope) -> None:
    if _refund(uow, event.reservation_id) is None:
        logger.warning("cancelled reservation %s had no payment", event.reservation_id)


def get_payment(units: Units[PaymentWork], payment_id: str, guest_id: str) -> Payment:
    """The guest's own payment; someone else's is not found, like one that does not exist."""
    with units(read_only=True) as uow:
        found = uow.payments.by_id(payment_id)
    if found is None or found.guest_id != guest_id:
        raise domain.PaymentNotFound(f"payment {payment_id!r} not found")
    return found


def list_payments(
    units: Units[PaymentWork], guest_id: str, reservation_id: str, limit: int, offset: int
) -> list[Payment]:
    with units(read_only=True) as uow:
        return uow.payments.listing(guest_id, reservation_id, limit, offset)


POLICIES: Policies = {"reservation": dict([on(ev.ReservationCancelled, on_reservation_cancelled)])}
