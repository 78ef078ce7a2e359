"""Payment rules and the refund policy through the handlers, on a unit of work in memory."""

from __future__ import annotations

import pytest

from bnb.events.v1 import events_pb2 as ev
from payment_svc import domain, handlers
from payment_svc.tests.fakes import FakePaymentUnitOfWork
from svckit.events import EventEnvelope


@pytest.fixture
def units() -> FakePaymentUnitOfWork:
    return FakePaymentUnitOfWork()


def test_approving_twice_returns_the_same_payment(units: FakePaymentUnitOfWork) -> None:
    first = handlers.approve_payment(units, "r1", "g1", "room-1", 300)
    again = handlers.approve_payment(units, "r1", "g1", "room-1", 300)
    assert first == again and first.status == "approved"
    assert len(handlers.list_payments(units, "g1", "", 10, 0)) == 1


def test_the_same_reservation_with_other_terms_is_refused(units: FakePaymentUnitOfWork) -> None:
    handlers.approve_payment(units, "r1", "g1", "room-1", 300)
    with pytest.raises(domain.PaymentMismatch):
        handlers.approve_payment(units, "r1", "g1", "room-1", 999)


@pytest.mark.parametrize("amount", [0, -1])
def test_non_positive_amounts_are_refused(units: FakePaymentUnitOfWork, amount: int) -> None:
    with pytest.raises(domain.InvalidPayment):
        handlers.approve_payment(units, "r1", "g1", "room-1", amount)


def test_cancellation_refunds_once(units: FakePaymentUnitOfWork) -> None:
    handlers.approve_payment(units, "r1", "g1", "room-1", 300)
    for _ in range(2):
        with units() as uow:
            handlers.on_reservation_cancelled(uow, ev.ReservationCancelled(reservation_id="r1"), EventEnvelope())
            uow.commit()
    [payment] = handlers.list_payments(units, "", "r1", 10, 0)
    assert payment.status == "refunded"
    with pytest.raises(domain.PaymentNotFound):
        handlers.refund_payment(units, "r-unknown")


def test_an_approval_arriving_after_its_refund_is_refused(units: FakePaymentUnitOfWork) -> None:
    with pytest.raises(domain.PaymentNotFound):
        handlers.refund_payment(units, "r-late")  # the saga gave up before the approval was processed
    with pytest.raises(domain.PaymentVoided):
        handlers.approve_payment(units, "r-late", "g1", "room-1", 300)
    assert handlers.list_payments(units, "g1", "", 10, 0) == []
