"""The saga's sync half with hand-written fakes for room, payment and the unit of work: no network, no database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bnb.events.v1 import events_pb2 as ev
from reservation_svc import domain, handlers
from reservation_svc.domain import Reservation
from reservation_svc.saga import Rooms, Saga, _begin, recover_stale, request_reservation
from reservation_svc.tests.fakes import FakePayments, FakeReservationUnitOfWork, FakeRooms
from svckit.caller import Caller
from svckit.calls import Deadline
from svckit.events import EventEnvelope
from svckit.testing import Inline

GUEST_G1 = Caller("g1", "guest")

TODAY = dt.date(2030, 1, 1)


@pytest.fixture
def db() -> FakeReservationUnitOfWork:
    return FakeReservationUnitOfWork()


def make_saga(uow: FakeReservationUnitOfWork, rooms: Rooms, payments: FakePayments, max_per_guest: int = 10) -> Saga:
    return Saga(Inline(), uow, rooms, payments, max_per_guest, Deadline)


def request(saga: Saga, guest: str = "g1", check_in: str = "2030-02-01", check_out: str = "2030-02-04") -> Reservation:
    return asyncio.run(request_reservation(saga, "room-1", guest, check_in, check_out, TODAY, Deadline(5)))


def rows(db: FakeReservationUnitOfWork) -> list[Reservation]:
    return list(db.reservations.rows.values())


def events(db: FakeReservationUnitOfWork) -> list[str]:
    return [f"bnb.reservation.{type(event).__name__}.v1" for event in db.events]


def test_reservation_is_approved_with_nights_times_price(db: FakeReservationUnitOfWork) -> None:
    rooms, payments = FakeRooms(), FakePayments()
    r = request(make_saga(db, rooms, payments, 10))
    assert (r.status, r.amount, r.host_id, r.payment_id) == ("approved", 300, "h1", f"pay-{r.reservation_id}")
    assert payments.approved == {r.reservation_id: 300}
    assert rows(db) == [r]
    assert events(db) == ["bnb.reservation.ReservationRequested.v1"]


def test_failed_payment_releases_the_hold_and_leaves_nothing(db: FakeReservationUnitOfWork) -> None:
    rooms, payments = FakeRooms(), FakePayments(fail=domain.DependencyUnavailable("payment is unavailable"))
    with pytest.raises(domain.DependencyUnavailable):
        request(make_saga(db, rooms, payments, 10))
    assert rooms.held == set() and len(rooms.released) == 1
    assert payments.refunded == rooms.released  # an approval whose reply was lost is refunded too
    assert rows(db) == [] and events(db) == []


def test_unavailable_room_leaves_nothing_and_charges_nothing(db: FakeReservationUnitOfWork) -> None:
    rooms, payments = FakeRooms(fail=domain.RoomUnavailable("held")), FakePayments()
    with pytest.raises(domain.RoomUnavailable):
        request(make_saga(db, rooms, payments, 10))
    assert payments.approved == {} and payments.refunded == [] and rooms.released == []
    assert rows(db) == []


def test_guest_limit_counts_active_reservations_only(db: FakeReservationUnitOfWork) -> None:
    saga = make_saga(db, FakeRooms(), FakePayments(), 2)
    first = request(saga, check_in="2030-03-01", check_out="2030-03-02")
    request(saga, check_in="2030-03-05", check_out="2030-03-06")
    with pytest.raises(domain.GuestLimitReached):
        request(saga, check_in="2030-03-08", check_out="2030-03-09")
    handlers.cancel_reservation(db, first.reservation_id, GUEST_G1)
    assert request(saga, check_in="2030-03-08", check_out="2030-03-09").status == "approved"


def test_past_or_inverted_stays_are_refused_before_any_call(db: FakeReservationUnitOfWork) -> None:
    rooms = FakeRooms()
    saga = make_saga(db, rooms, FakePayments(), 10)
    for check_in, check_out in [("2029-12-31", "2030-01-02"), ("2030-02-03", "2030-02-01")]:
        with pytest.raises(domain.InvalidReservation):
            request(saga, check_in=check_in, check_out=check_out)
    assert rooms.held == set() and rows(db) == []


def test_interrupted_saga_is_compensated_by_recovery(db: FakeReservationUnitOfWork) -> None:
    rooms, payments = FakeRooms(), FakePayments()
    stuck = domain.request("r-stuck", "room-1", "g1", "2030-02-01", "2030-02-02", TODAY, 730, dt.datetime.now(dt.UTC))
    _begin(db, stuck, 10)  # the process died right after this commit
    saga = make_saga(db, rooms, payments, 10)
    assert asyncio.run(recover_stale(saga, older_than_s=-1)) == 1
    assert rooms.released == ["r-stuck"] and payments.refunded == ["r-stuck"]
    assert rows(db) == []


def test_payment_event_confirms_and_cancellation_is_final(db: FakeReservationUnitOfWork) -> None:
    r = request(make_saga(db, FakeRooms(), FakePayments(), 10))
    approved = ev.PaymentApproved(reservation_id=r.reservation_id)
    db.locked.clear()
    with db() as uow:
        handlers.on_payment_approved(uow, approved, EventEnvelope())
        uow.commit()
    assert db.locked == handlers.locks(approved)  # what svckit.inbox takes before the handler
    assert handlers.get_reservation(db, r.reservation_id, GUEST_G1).status == "confirmed"
    assert handlers.cancel_reservation(db, r.reservation_id, GUEST_G1).status == "cancelled"
    with pytest.raises(domain.NotCancellable, match="already cancelled"):
        handlers.cancel_reservation(db, r.reservation_id, GUEST_G1)
    assert events(db)[-2:] == ["bnb.reservation.ReservationConfirmed.v1", "bnb.reservation.ReservationCancelled.v1"]


def test_recovery_must_wait_longer_than_any_saga() -> None:
    from reservation_svc.main import ReservationSettings
    from svckit.config import SettingsError

    with pytest.raises(SettingsError, match="BNB_RECOVER_AFTER_SECONDS"):
        ReservationSettings.from_env({"BNB_SAGA_DEADLINE_SECONDS": "5", "BNB_RECOVER_AFTER_SECONDS": "6"})
    assert ReservationSettings.from_env({}).recover_after_s == 30


def test_a_lost_hold_reply_is_released_but_a_refused_hold_is_not(db: FakeReservationUnitOfWork) -> None:
    lost = FakeRooms(fail=domain.DependencyTimeout("room did not answer in time"))
    with pytest.raises(domain.DependencyTimeout):
        request(make_saga(db, lost, FakePayments(), 10))
    assert len(lost.released) == 1  # the hold may exist: releasing is idempotent
    assert [r.status for r in rows(db)] == ["pending"]  # it may also still land: recovery releases again, later
    asyncio.run(recover_stale(make_saga(db, lost, FakePayments(), 10), older_than_s=-1))
    assert rows(db) == [] and len(lost.released) == 2
    refused = FakeRooms(fail=domain.RoomNotFound("no such room"))
    with pytest.raises(domain.RoomNotFound):
        request(make_saga(db, refused, FakePayments(), 10))
    assert refused.released == [] and rows(db) == []


def test_a_release_still_happens_when_the_refund_cannot(db: FakeReservationUnitOfWork) -> None:
    class DownPayments(FakePayments):
        async def refund(self, reservation_id: str, deadline: object) -> None:
            raise domain.DependencyUnavailable("payment is unavailable")

    rooms = FakeRooms()
    payments = DownPayments(fail=domain.DependencyUnavailable("payment is unavailable"))
    with pytest.raises(domain.DependencyUnavailable):
        request(make_saga(db, rooms, payments, 10))
    assert rooms.held == set()  # the room is free at once
    assert [r.status for r in rows(db)] == ["pending"]  # the refund is left to recovery
