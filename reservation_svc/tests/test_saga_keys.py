"""The saga with an idempotency key, with hand-written fakes for room and payment: one saga per key."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path
from typing import NamedTuple

import grpc
import pytest

from reservation_svc import domain
from reservation_svc.domain import Held, Reservation
from reservation_svc.saga import Saga, _begin, recover_stale, request_reservation
from reservation_svc.service import ERRORS
from reservation_svc.unit_of_work import ReservationUnitOfWork
from svckit import migrate
from svckit.calls import Deadline
from svckit.db import Database
from svckit.idempotency import InProgress, Key, Replay
from svckit.idempotent import Keys

TODAY = dt.date(2030, 1, 1)
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS.value[0]


class Rooms:
    def __init__(self) -> None:
        self.holds: list[str] = []
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None  # set: holding waits for it
        self.holding = asyncio.Event()

    async def hold(self, r: Reservation, deadline: Deadline) -> Held:
        self.holds.append(r.reservation_id)
        self.holding.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise self.fail
        return Held(host_id="h1", price_per_night=100)

    async def release(self, reservation_id: str, deadline: Deadline, missing_ok: bool = True) -> None:
        pass


class Payments:
    def __init__(self) -> None:
        self.approved: list[str] = []
        self.fail: Exception | None = None

    async def approve(self, r: Reservation, amount: int, deadline: Deadline) -> str:
        if self.fail:
            raise self.fail
        self.approved.append(r.reservation_id)
        return f"pay-{r.reservation_id}"

    async def refund(self, reservation_id: str, deadline: Deadline) -> None:
        pass


class World(NamedTuple):
    db: Database
    saga: Saga
    rooms: Rooms
    payments: Payments


@pytest.fixture
def world(tmp_path: Path) -> World:
    db = Database(f"sqlite:///{tmp_path}/reservation.db", producer="reservation", unit=ReservationUnitOfWork)
    migrate.upgrade(db, "reservation_svc")
    rooms, payments = Rooms(), Payments()
    return World(db, Saga(db, ReservationUnitOfWork.on(db), rooms, payments, 10, Deadline), rooms, payments)


def key(world: World) -> Key:
    keeps = Keys(world.db, 3600.0, ERRORS).keeps  # the service's own mapping decides which refusals are kept
    fingerprint = hashlib.sha256(b"room-1 2030-02-01 2030-02-04").hexdigest()
    return Key(
        "g1", "guest", "RequestReservation", "k1", fingerprint, 3600.0, lambda r: r.reservation_id.encode(), keeps
    )


async def reserve(world: World) -> Reservation:
    stay = ("2030-02-01", "2030-02-04")
    return await request_reservation(world.saga, "room-1", "g1", *stay, TODAY, Deadline(5), key=key(world))


def test_a_repeat_replays_the_first_reservation_and_holds_nothing_more(world: World) -> None:
    first = asyncio.run(reserve(world))
    with pytest.raises(Replay) as replay:
        asyncio.run(reserve(world))
    assert replay.value.answer.reply == first.reservation_id.encode()
    assert world.rooms.holds == world.payments.approved == [first.reservation_id]


def test_a_repeat_while_the_saga_runs_is_told_it_is_in_progress(world: World) -> None:
    async def race() -> tuple[Reservation, BaseException | None]:
        world.rooms.gate = gate = asyncio.Event()
        first = asyncio.create_task(reserve(world))
        await world.rooms.holding.wait()  # the first saga has claimed the key and is holding the room
        repeat = None
        try:
            await reserve(world)
        except InProgress as exc:
            repeat = exc
        gate.set()
        return await first, repeat

    first, repeat = asyncio.run(race())
    assert isinstance(repeat, InProgress) and world.rooms.holds == [first.reservation_id]


def test_a_room_taken_is_kept_under_the_key(world: World) -> None:
    world.rooms.fail = domain.RoomUnavailable("room-1 is already held for 2030-02-01")
    with pytest.raises(domain.RoomUnavailable):
        asyncio.run(reserve(world))
    world.rooms.fail = None
    with pytest.raises(Replay) as replay:
        asyncio.run(reserve(world))
    answer = replay.value.answer
    assert (answer.code, answer.message) == (ALREADY_EXISTS, "room-1 is already held for 2030-02-01")
    assert len(world.rooms.holds) == 1 and world.payments.approved == []


def test_a_payment_unreachable_frees_the_key_once_undone(world: World) -> None:
    world.payments.fail = domain.DependencyUnavailable("payment is unavailable")
    with pytest.raises(domain.DependencyUnavailable):
        asyncio.run(reserve(world))
    world.payments.fail = None
    second = asyncio.run(reserve(world))
    assert world.payments.approved == [second.reservation_id] and len(world.rooms.holds) == 2


def test_recovery_of_a_crashed_saga_frees_its_key(world: World) -> None:
    stuck = domain.request("r-stuck", "room-1", "g1", "2030-02-01", "2030-02-04", TODAY, 730, dt.datetime.now(dt.UTC))
    _begin(world.saga.units, stuck, 10, key(world))  # the process died right after this commit
    with pytest.raises(InProgress):
        asyncio.run(reserve(world))
    assert asyncio.run(recover_stale(world.saga, older_than_s=-1)) == 1
    assert asyncio.run(reserve(world)).status == domain.APPROVED
