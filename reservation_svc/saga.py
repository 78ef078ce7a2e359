"""The reservation saga's sync half: a pending row, hold the room, approve the payment, approved; undone on any
failure, and recovered when a crash left it pending. Plain functions over a Saga's parts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from reservation_svc import domain
from reservation_svc.domain import Held, Reservation
from reservation_svc.unit_of_work import ReservationWork
from svckit import idempotency, metrics
from svckit.calls import Deadline
from svckit.idempotency import Key
from svckit.ids import new_id
from svckit.logs import correlated
from svckit.tables import now
from svckit.uow import Runner, Units
from svckit.waits import Underway

logger = logging.getLogger(__name__)
COMPENSATION_S = 3.0  # its own budget: undoing must not die with the caller's deadline
# After these a call's effect is unknown (its reply was lost): undo it anyway, which is idempotent.
UNCERTAIN = (domain.DependencyUnavailable, domain.DependencyTimeout)


class Rooms(Protocol):
    async def hold(self, r: Reservation, deadline: Deadline) -> Held: ...
    async def release(self, reservation_id: str, deadline: Deadline, missing_ok: bool = True) -> None: ...


class Payments(Protocol):
    async def approve(self, r: Reservation, amount: int, deadline: Deadline) -> str: ...
    async def refund(self, reservation_id: str, deadline: Deadline) -> None: ...


@dataclass(frozen=True)
class Saga:
    db: Runner  # where blocking work runs: the service's svckit.db.Database
    units: Units[ReservationWork]
    rooms: Rooms
    payments: Payments
    max_per_guest: int
    deadline: Callable[[float], Deadline]  # a deadline that many seconds from now (svckit.calls.Deadline)
    max_days_ahead: int = 730  # the latest check-in, in days from today (BNB_MAX_DAYS_AHEAD, from main)
    underway: Underway = field(default_factory=Underway)  # sagas running here: their payment's event waits for them


def _begin(units: Units[ReservationWork], r: Reservation, max_per_guest: int, key: Key | None = None) -> None:
    with units() as uow:
        uow.lock(f"guest:{r.guest_id}")
        uow.keys.claim(key, ref=r.reservation_id)  # committed before the saga: a repeat starts none
        domain.check_limit(uow.reservations.active_count(r.guest_id), max_per_guest)
        uow.reservations.add(r)
        uow.commit()


def _finish(units: Units[ReservationWork], r: Reservation, key: Key | None) -> None:
    with units() as uow:
        uow.reservations.save(r)
        uow.emit(domain.requested(r), aggregate_id=r.reservation_id)
        uow.keys.finish(key, r, ref=r.reservation_id)
        uow.commit()


def _forget(units: Units[ReservationWork], reservation_id: str, key: Key | None, error: BaseException | None) -> None:
    with units() as uow:
        uow.reservations.remove(reservation_id)
        uow.keys.undone(reservation_id, key, error)  # the refusal stays under the key, or it is free
        uow.commit()


@metrics.saga_outcome((domain.ReservationError, idempotency.KeyReused, idempotency.InProgress), (idempotency.Replay,))
async def request_reservation(
    saga: Saga,
    room_id: str,
    guest_id: str,
    check_in: str,
    check_out: str,
    today: dt.date,
    deadline: Deadline,
    key: Key | None = None,
) -> Reservation:
    """Pending row -> hold the room -> approve the payment -> approved; undone on any failure.

    An idempotency key is claimed with the pending row and answered with the approved one (or the refusal).
    """
    r = domain.request(new_id(), room_id, guest_id, check_in, check_out, today, saga.max_days_ahead, now())
    with correlated(r.reservation_id), saga.underway.running(r.reservation_id):
        await saga.db.run(_begin, saga.units, r, saga.max_per_guest, key)
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
        await saga.db.run(_finish, saga.units, r, key)
        logger.info("reservation %s approved: room %s, payment %s", r.reservation_id, room_id, payment_id)
        return r


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
    await saga.db.run(_forget, saga.units, r.reservation_id, key, error)
    return True


async def recover_stale(saga: Saga, older_than_s: float) -> int:
    """Compensate sagas a crash left pending: refund and release (both idempotent), then forget them."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_s)
    with saga.units(read_only=True) as uow:
        stale = uow.reservations.stale_pending(cutoff)
    for r in stale:
        with correlated(r.reservation_id):
            logger.warning("compensating unfinished reservation %s", r.reservation_id)
            if await _undo(saga, r, held=True, paid=True):
                metrics.recovered()
    return len(stale)
