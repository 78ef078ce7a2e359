"""Payment rules and the refund policy, on a throwaway SQLite file: no network."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from payment_svc import domain, handlers
from svckit import migrate
from svckit.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/payment.db", producer="payment")
    migrate.upgrade(database, "payment_svc")
    return database


def test_approving_twice_returns_the_same_payment(db: Database) -> None:
    first = handlers.approve_payment(db, "r1", "g1", "room-1", 300)
    again = handlers.approve_payment(db, "r1", "g1", "room-1", 300)
    assert first == again and first.status == "approved"
    assert len(handlers.list_payments(db, "g1", "", 10, 0)) == 1


def test_the_same_reservation_with_other_terms_is_refused(db: Database) -> None:
    handlers.approve_payment(db, "r1", "g1", "room-1", 300)
    with pytest.raises(domain.PaymentMismatch):
        handlers.approve_payment(db, "r1", "g1", "room-1", 999)


@pytest.mark.parametrize("amount", [0, -1])
def test_non_positive_amounts_are_refused(db: Database, amount: int) -> None:
    with pytest.raises(domain.InvalidPayment):
        handlers.approve_payment(db, "r1", "g1", "room-1", amount)


def test_cancellation_refunds_once(db: Database) -> None:
    handlers.approve_payment(db, "r1", "g1", "room-1", 300)
    for _ in range(2):
        with db.uow() as uow:
            handlers.on_reservation_cancelled(uow, SimpleNamespace(reservation_id="r1"), None)
            uow.commit()
    [(payment, _)] = handlers.list_payments(db, "", "r1", 10, 0)
    assert payment.status == "refunded"
    with pytest.raises(domain.PaymentNotFound):
        handlers.refund_payment(db, "r-unknown")


def test_an_approval_arriving_after_its_refund_is_refused(db: Database) -> None:
    with pytest.raises(domain.PaymentNotFound):
        handlers.refund_payment(db, "r-late")  # the saga gave up before the approval was processed
    with pytest.raises(domain.PaymentVoided):
        handlers.approve_payment(db, "r-late", "g1", "room-1", 300)
    assert handlers.list_payments(db, "g1", "", 10, 0) == []
