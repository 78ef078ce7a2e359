"""Searching rooms by stay: only rooms with none of its nights held; check-out exclusive; a release frees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from room_svc import domain, handlers
from room_svc.unit_of_work import RoomUnitOfWork
from svckit import migrate
from svckit.db import Database
from svckit.uow import Units


@pytest.fixture
def db(tmp_path: Path) -> Units[RoomUnitOfWork]:
    database = Database(f"sqlite:///{tmp_path}/room.db", producer="room", unit=RoomUnitOfWork)
    migrate.upgrade(database, "room_svc")
    return RoomUnitOfWork.on(database)


def free(db: Units[RoomUnitOfWork], check_in: str, check_out: str) -> list[str]:
    return [room.room_id for room in handlers.list_rooms(db, 100, 0, "", check_in, check_out)]


def test_a_held_room_is_not_free_on_its_nights_but_is_from_its_check_out(db: Units[RoomUnitOfWork]) -> None:
    held = handlers.register_room(db, "h1", "Held", 100).room_id
    other = handlers.register_room(db, "h1", "Other", 100).room_id
    handlers.hold_room(db, "r1", held, "g1", "2031-01-10", "2031-01-12")
    assert free(db, "2031-01-10", "2031-01-12") == [other]
    assert free(db, "2031-01-11", "2031-01-15") == [other], "one night in common"
    assert free(db, "2031-01-05", "2031-01-20") == [other], "a stay around the hold"
    assert free(db, "2031-01-12", "2031-01-14") == [held, other], "the check-out day is free"
    assert free(db, "2031-01-08", "2031-01-10") == [held, other], "leaving on its check-in day"
    assert free(db, "", "") == [held, other], "no stay: every room"


def test_a_released_hold_frees_its_nights(db: Units[RoomUnitOfWork]) -> None:
    room = handlers.register_room(db, "h1", "House", 100).room_id
    handlers.hold_room(db, "r1", room, "g1", "2031-02-01", "2031-02-03")
    assert free(db, "2031-02-01", "2031-02-02") == []
    handlers.release_room(db, "r1")
    assert free(db, "2031-02-01", "2031-02-02") == [room]


@pytest.mark.parametrize(
    ("check_in", "check_out"),
    [("2031-01-01", ""), ("", "2031-01-02"), ("2031-01-02", "2031-01-02"), ("tomorrow", "2031-01-02"),
     ("2031-01-01", "x" * 60_000), ("2031-01-01", "2032-06-01")],
)  # fmt: skip
def test_a_stay_that_is_not_one_is_refused(db: Units[RoomUnitOfWork], check_in: str, check_out: str) -> None:
    with pytest.raises(domain.InvalidStay) as caught:
        handlers.list_rooms(db, 10, 0, "", check_in, check_out)
    assert len(str(caught.value)) < 200, "never echoes a long value"
