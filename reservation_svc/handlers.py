"""The reservation saga (sync half), cancellation, the confirmation policy and queries: plain functions."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from reservation_svc import domain
from reservation_svc import repository as repo
from reservation_svc.domain import Reservation
from svckit import idempotency, metrics
from svckit.caller import Caller
from svckit.consumer import RetryLater
from svckit.db import Database, UnitOfWork
from svckit.idempotency import Key
from svckit.logs import correlated

logger = logging.getLogger(__name__)
COMPENSATION_S = 3.0  # its own budget: undoing must not die with the caller's deadline
# After these a call's effect is unknown (its reply was lost): undo it anyway, which is idempotent.
UNCERTAIN = (domain.DependencyUnavailable, domain.DependencyTimeout)


@dataclass(frozen=True)
class Held:
    host_id: str
    price_per_night: int


class Rooms(Protocol):
    async def hold(self, r: Reservation, deadline: object) -> Held: ...
    async def release(self, reservation_id: str, deadline: object, missing_ok: bool = True) -> None: ...


class Payments(Protocol):
    async def approve(self, r: Reservation, amount: int, deadline: object) -> str: ...
    async def refund(self, reservation_id: str, deadline: object) -> None: ...


@dataclass(frozen=True)
class Saga:
    db: Database
    rooms: Rooms
    payments: Payments
    max_per_guest: int
    deadline: Callable[[float], object]  # a deadline that many seconds from now (svckit.mesh.Deadline)
    max_days_ahead: int = 730  # the latest check-in, in days from today (BNB_MAX_DAYS_AHEAD, from main)


def _begin(db: Database, r: Reservation, max_per_guest: int, key: Key | None = None) -> str:
    with db.uow() as uow:
        uow.lock(f"guest:{r.guest_id}")
        idempotency.claim(uow.conn, key, ref=r.reservation_id)  # committed before the saga: a repeat starts none
        domain.check_limit(repo.active_count(uow.conn, r.guest_id), max_per_guest)
        created = repo.add(uow.conn, r)
        uow.commit()
    return created


def _finish(db: Database, r: Reservation, created: str, key: Key | None) -> None:
    with db.uow() as uow:
        repo.save(uow.conn, r)
        uow.emit(domain.requested(r), aggregate_id=r.reservation_id)
        idempotency.finish(uow.conn, key, (r, created), ref=r.reservation_id)
        uow.commit()


def _forget(db: Database, reservation_id: str, key: Key | None, error: BaseException | None) -> None:
    with db.uow() as uow:
        repo.remove(uow.conn, reservation_id)
        idempotency.undone(uow.conn, reservation_id, key, error)  # the refusal stays under the key, or it is free
        uow.commit()


@metrics.saga_outcome((domain.ReservationError, idempotency.KeyReused, idempotency.InProgress), (idempotency.Replay,))
async def request_reservation(
    saga: Saga,
    room_id: str,
    guest_id: str,
    check_in: str,
    check_out: str,
    today: dt.date,
    deadline: object,
    key: Key | None = None,
) -> tuple[Reservation, str]:
    """Pending row -> hold the room -> approve the payment -> approved; undone on any failure.

    An idempotency key is claimed with the pending row and answered with the approved one (or the refusal).
    """
    r = domain.request(str(uuid.uuid4()), room_id, guest_id, check_in, check_out, today, saga.max_days_ahead)
    with correlated(r.reservation_id):
        created = await saga.db.run(_begin, saga.db, r, saga.max_per_guest, key)
        paying = False
        try:
            hold = await saga.rooms.hold(r, deadline)
            amount = domain.price(r, hold.price_per_night)
            paying = True
            payment_id = await saga.payments.approve(r, amount, deadline)
        except BaseException as exc:
            uncertain = isinstance(exc, UNCERTAIN) or not isinstance(exc, domain.ReservationError)
            if isinstance(exc, domain.ReservationError) and (paying or uncertain) and exc.args:
                # Its timeline (GET /reservations/{id}/timeline) shows the compensation: say which it is.
                exc.args = (f"{exc.args[0]} (reservation {r.reservation_id} was undone)", *exc.args[1:])
            # A hold whose outcome is unknown may still land after its release found nothing (an attempt still
            # running in the room service): then only recovery, long after any attempt, may take "none" for an answer.
            maybe = uncertain and not paying
            undo = _undo(saga, r, held=paying or uncertain, paid=paying and uncertain, key=key, error=exc, maybe=maybe)
            await asyncio.shield(undo)
            raise
        r = domain.approve(r, hold.host_id, payment_id, amount)
        await saga.db.run(_finish, saga.db, r, created, key)
        logger.info("reservation %s approved: room %s, payment %s", r.reservation_id, room_id, payment_id)
        return r, created


async def _undo(
    saga: Saga,
    r: Reservation,
    held: bool,
    paid: bool,
    key: Key | None = None,
    error: BaseException | None = None,
    maybe: bool = False,
) -> bool:
    """Undo each step on its own (both idempotent); what cannot be undone now stays for recover_stale.

    `maybe`: the hold may still be under way; no hold found yet is then no proof that none will be.
    """
    deadline = saga.deadline(COMPENSATION_S)
    steps = {"refund_payment": saga.payments.refund(r.reservation_id, deadline)} if paid else {}
    if held:
        steps["release_room"] = saga.rooms.release(r.reservation_id, deadline, missing_ok=not maybe)
    results = await asyncio.gather(*steps.values(), return_exceptions=True)
    for step, result in zip(steps, results, strict=True):
        metrics.compensated(step, done=not isinstance(result, BaseException))
    if failed := [e for e in results if isinstance(e, BaseException)]:
        logger.warning("could not undo %s now (%s); recovery will retry", r.reservation_id, failed[0])
        return False
    await saga.db.run(_forget, saga.db, r.reservation_id, key, error)
    return True


async def recover_stale(saga: Saga, older_than_s: float) -> int:
    """Compensate sagas a crash left pending: refund and release (both idempotent), then forget them."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_s)
    with saga.db.read() as conn:
        stale = repo.stale_pending(conn, cutoff)
    for r in stale:
        with correlated(r.reservation_id):
            logger.warning("compensating unfinished reservation %s", r.reservation_id)
            if await _undo(saga, r, held=True, paid=True):
                metrics.recovered()
    return len(stale)


def cancel_reservation(
    db: Database, reservation_id: str, guest: Caller, key: Key | None = None
) -> tuple[Reservation, str]:
    """The guest cancels their own reservation; someone else's is not found, like one that does not exist.

    With an idempotency key, the reply is stored under it in the same transaction.
    """
    with correlated(reservation_id), db.uow() as uow:
        idempotency.claim(uow.conn, key)
        uow.lock(f"reservation:{reservation_id}")  # PostgreSQL: a confirmation must not overwrite this cancellation
        found, created = _find(uow.conn, reservation_id, guest)
        r = domain.cancel(found)
        repo.save(uow.conn, r)
        uow.emit(domain.cancelled(r), aggregate_id=r.reservation_id)
        idempotency.finish(uow.conn, key, (r, created))
        uow.commit()
        logger.info("reservation %s cancelled", reservation_id)
    return r, created


def on_payment_approved(uow: UnitOfWork, event: object, _envelope: object) -> None:
    """Confirm a paid reservation; the payment's event can overtake the saga's own commit."""
    uow.lock(f"reservation:{event.reservation_id}")  # type: ignore[attr-defined]  # read what a cancellation wrote
    found = repo.get(uow.conn, event.reservation_id)  # type: ignore[attr-defined]
    if found is None:
        return  # the saga failed and was undone: the refund follows
    if found[0].status == domain.PENDING:
        raise RetryLater(f"reservation {found[0].reservation_id} is still pending")
    if (r := domain.confirm(found[0])) is not None:
        repo.save(uow.conn, r)
        uow.emit(domain.confirmed(r), aggregate_id=r.reservation_id)


def _find(conn: Connection, reservation_id: str, viewer: Caller) -> tuple[Reservation, str]:
    found = repo.get(conn, reservation_id)
    if found is None or not domain.belongs_to(found[0], viewer.role, viewer.subject):
        raise domain.ReservationNotFound(f"reservation {reservation_id!r} not found")
    return found


def get_reservation(db: Database, reservation_id: str, viewer: Caller) -> tuple[Reservation, str]:
    with db.read() as conn:
        return _find(conn, reservation_id, viewer)


def list_reservations(
    db: Database, viewer: Caller, room_id: str, limit: int, offset: int
) -> list[tuple[Reservation, str]]:
    """A guest's own reservations, or those on a host's rooms; of one room when `room_id` is given."""
    mine = {"guest_id": viewer.subject} if viewer.is_guest else {"host_id": viewer.subject}
    with db.read() as conn:
        return repo.listing(conn, limit, offset, room_id=room_id, **mine)


POLICIES = {"payment": {"PaymentApproved": on_payment_approved}}
