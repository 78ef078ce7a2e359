"""Repository rules that the database enforces, on SQLite and on PostgreSQL, including under concurrency."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from payment_svc import handlers as payments
from payment_svc import repository as payment_repo
from payment_svc.unit_of_work import PaymentUnitOfWork
from reservation_svc import domain as reservation_domain
from reservation_svc import saga as reservations
from reservation_svc.unit_of_work import ReservationUnitOfWork
from room_svc import domain as room_domain
from room_svc import handlers as rooms
from room_svc import repository as room_repo
from room_svc.unit_of_work import RoomUnitOfWork
from svckit import migrate
from svckit.db import Database
from svckit.tables import outbox
from tests.dbs import database_url, kinds, skip_without

pytestmark = pytest.mark.postgres


@pytest.fixture(params=kinds())
def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    skip_without(request.param)
    opened: list[tuple[Database, object]] = []

    def make(producer: str) -> Database:
        cm = database_url(request.param, tmp_path, producer)
        unit = importlib.import_module(f"{producer}_svc.main").UNIT_OF_WORK
        db = Database(cm.__enter__(), producer=producer, unit=unit)
        migrate.upgrade(db, f"{producer}_svc")
        opened.append((db, cm))
        return db

    yield make
    for db, cm in opened:
        db.dispose()
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]


def in_parallel(n: int, work: Callable[[int], object]) -> list[Any]:
    """Run work(i) for i < n on n threads at once; exceptions are returned, not raised."""

    def attempt(i: int) -> Any:
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(attempt, range(n)))


def test_twenty_overlapping_holds_exactly_one_wins(make_db: Callable) -> None:
    db = make_db("room")
    units = RoomUnitOfWork.on(db)
    room = rooms.register_room(units, "h1", "House", 100)
    results = in_parallel(
        20, lambda i: rooms.hold_room(units, f"r{i}", room.room_id, f"g{i}", "2031-01-01", f"2031-01-{2 + i % 5:02d}")
    )
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1
    assert all(isinstance(e, room_domain.RoomAlreadyHeld) for e in lost), lost
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(room_repo.holds)).scalar_one() == 1


def test_released_nights_can_be_held_again_and_checkout_is_exclusive(make_db: Callable) -> None:
    db = make_db("room")
    units = RoomUnitOfWork.on(db)
    room = rooms.register_room(units, "h1", "House", 100)
    rooms.hold_room(units, "a", room.room_id, "g1", "2031-01-01", "2031-01-05")
    rooms.hold_room(units, "b", room.room_id, "g2", "2031-01-05", "2031-01-06")  # arrives as "a" leaves
    with pytest.raises(room_domain.RoomAlreadyHeld):
        rooms.hold_room(units, "c", room.room_id, "g3", "2031-01-04", "2031-01-05")
    assert rooms.hold_room(units, "a", room.room_id, "g1", "2031-01-01", "2031-01-05")[0].status == "held"  # idempotent
    rooms.release_room(units, "a")
    rooms.release_room(units, "a")  # idempotent
    assert rooms.hold_room(units, "c", room.room_id, "g3", "2031-01-04", "2031-01-05")[0].status == "held"


def test_concurrent_approvals_of_one_reservation_make_one_payment(make_db: Callable) -> None:
    db = make_db("payment")
    units = PaymentUnitOfWork.on(db)
    results = in_parallel(10, lambda i: payments.approve_payment(units, "r1", "g1", "room-1", 300))
    ids = {r.payment_id for r in results if not isinstance(r, Exception)}
    assert len(ids) == 1, results
    payments.refund_payment(units, "r1")
    payments.refund_payment(units, "r1")
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(payment_repo.payments)).scalar_one() == 1
        subjects = [s for (s,) in conn.execute(select(outbox.c.subject).order_by(outbox.c.id))]
    assert subjects == ["bnb.payment.PaymentApproved.v1", "bnb.payment.PaymentRefunded.v1"]


def test_guest_limit_holds_under_concurrent_requests(make_db: Callable) -> None:
    db = make_db("reservation")

    def begin(i: int) -> None:
        r = reservation_domain.request(
            f"r{i}", "room-1", "g1", "2031-01-01", "2031-01-02", dt.date(2030, 1, 1), 730, dt.datetime.now(dt.UTC)
        )
        reservations._begin(ReservationUnitOfWork.on(db), r, 3)

    results = in_parallel(12, begin)
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, reservation_domain.GuestLimitReached) for r in results if isinstance(r, Exception))


def test_a_rolled_back_unit_of_work_writes_neither_state_nor_events(make_db: Callable) -> None:
    db = make_db("room")
    with RoomUnitOfWork.on(db)() as uow:
        uow.rooms.add(room_domain.new_room("x", "h1", "House", 100, dt.datetime.now(dt.UTC)))
        uow.emit(room_domain.RoomRegistered("x", "h1", "House", 100, "available"), aggregate_id="x")
        # no commit: leaving the block rolls back
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(room_repo.rooms)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
