"""Payment commands, queries and the refund policy: plain functions."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import IntegrityError

from payment_svc import domain
from payment_svc import repository as repo
from payment_svc.domain import Payment
from svckit.db import Database
from svckit.logs import correlated
from svckit.uow import UnitOfWork

logger = logging.getLogger(__name__)


def approve_payment(db: Database, reservation_id: str, guest_id: str, room_id: str, amount: int) -> Payment:
    """Approve the reservation's payment; approving again returns the same payment, never a second one."""
    payment = domain.approve(str(uuid.uuid4()), reservation_id, guest_id, room_id, amount)
    try:
        with correlated(reservation_id), db.uow() as uow:
            if repo.by_reservation(uow.conn, reservation_id) is None:
                repo.add(uow.conn, payment)
                uow.emit(domain.event_of(payment), aggregate_id=payment.payment_id)
                uow.commit()
                logger.info("payment %s approved: %s", payment.payment_id, amount)
                return payment
    except IntegrityError:
        pass  # a concurrent retry of the same call won the race: answer with its payment
    existing = get_payment_of(db, reservation_id)
    if existing.status == domain.VOIDED:
        raise domain.PaymentVoided(f"reservation {reservation_id} was undone before its payment: not charged")
    if not existing.same_terms(guest_id, room_id, amount):
        raise domain.PaymentMismatch(f"reservation {reservation_id} already has a payment with other terms")
    return existing


def get_payment_of(db: Database, reservation_id: str) -> Payment:
    with db.read() as conn:
        found = repo.by_reservation(conn, reservation_id)
    if found is None:
        raise domain.PaymentNotFound(f"no payment for reservation {reservation_id!r}")
    return found[0]


def _refund(uow: UnitOfWork, reservation_id: str) -> Payment | None:
    """Refund once; with no payment yet, leave a tombstone so that a late approval is refused."""
    found = repo.by_reservation(uow.conn, reservation_id)
    if found is None:
        repo.add(uow.conn, domain.voided(str(uuid.uuid4()), reservation_id))
        return None
    payment = found[0]
    if payment.status != domain.APPROVED:
        return payment
    payment = payment.refunded()
    repo.set_status(uow.conn, payment)
    uow.emit(domain.event_of(payment), aggregate_id=payment.payment_id)
    logger.info("payment %s refunded", payment.payment_id)
    return payment


def refund_payment(db: Database, reservation_id: str) -> Payment:
    """Refund the reservation's payment; refunding twice refunds once. PaymentNotFound: nothing was charged."""
    for attempt in range(2):
        try:
            with correlated(reservation_id), db.uow() as uow:
                payment = _refund(uow, reservation_id)
                uow.commit()
            break
        except IntegrityError:  # an approval committed between our read and our tombstone: refund it
            if attempt:
                raise
    if payment is None or payment.status == domain.VOIDED:
        raise domain.PaymentNotFound(f"no payment for reservation {reservation_id!r}: nothing charged")
    return payment


def on_reservation_cancelled(uow: UnitOfWork, event: object, _envelope: object) -> None:
    if _refund(uow, event.reservation_id) is None:  # type: ignore[attr-defined]
        logger.warning("cancelled reservation %s had no payment", event.reservation_id)  # type: ignore[attr-defined]


def get_payment(db: Database, payment_id: str, guest_id: str) -> tuple[Payment, str]:
    """The guest's own payment; someone else's is not found, like one that does not exist."""
    with db.read() as conn:
        found = repo.by_id(conn, payment_id)
    if found is None or found[0].guest_id != guest_id:
        raise domain.PaymentNotFound(f"payment {payment_id!r} not found")
    return found


def list_payments(
    db: Database, guest_id: str, reservation_id: str, limit: int, offset: int
) -> list[tuple[Payment, str]]:
    with db.read() as conn:
        return repo.listing(conn, guest_id, reservation_id, limit, offset)


POLICIES = {"reservation": {"ReservationCancelled": on_reservation_cancelled}}
