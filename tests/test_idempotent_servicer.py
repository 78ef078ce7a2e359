"""svckit.idempotent at a servicer, with a fake gRPC context over SQLite: what is replayed, kept, refused."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest

from bnb.room.v1 import room_pb2
from svckit import idempotency
from svckit.caller import ROLE_HEADER, SUBJECT_HEADER
from svckit.db import Database
from svckit.idempotency import Key, KeyReused
from svckit.idempotent import HEADER, KEY_ERRORS, REPLAYED_HEADER, BadKey, Keys, idempotent
from svckit.tables import plumbing
from svckit.testing import StandIn


class Taken(Exception):
    """A refusal by the rules (ALREADY_EXISTS): kept under the key."""


class Down(Exception):
    """A passing fault (UNAVAILABLE): the key stays free."""


ERRORS = {Taken: grpc.StatusCode.ALREADY_EXISTS, Down: grpc.StatusCode.UNAVAILABLE, **KEY_ERRORS}


class Aborted(Exception):
    pass


class FakeContext(StandIn):  # stands in for a grpc.aio.ServicerContext
    def __init__(self, *metadata: tuple[str, str], subject: str = "h1") -> None:
        who = ((SUBJECT_HEADER, subject), (ROLE_HEADER, "host")) if subject else ()
        self.metadata = (*who, *metadata)
        self.initial: tuple[tuple[str, str], ...] = ()
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    async def send_initial_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.initial = metadata

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        raise Aborted(details)


class Rooms:
    """A servicer whose handler counts its effects, claiming and answering the key as a real one does."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys = Keys(db, 3600.0, ERRORS)
        self.effects = 0
        self.fail: Exception | None = None

    @idempotent(room_pb2.Room, lambda n: room_pb2.Room(room_id=f"room-{n}"))
    async def RegisterRoom(self, request: room_pb2.RegisterRoomRequest, context: Any, key: Key | None) -> room_pb2.Room:
        if self.fail:
            raise self.fail
        with self.db.uow() as uow:
            idempotency.claim(uow.conn, key)
            self.effects += 1
            idempotency.finish(uow.conn, key, self.effects)
            uow.commit()
        return room_pb2.Room(room_id=f"room-{self.effects}")


@pytest.fixture
def rooms(tmp_path: Path) -> Rooms:
    db = Database(f"sqlite:///{tmp_path}/room.db", producer="room")
    plumbing.create_all(db.engine)  # svckit's tables alone
    return Rooms(db)


def run(call: Coroutine[Any, Any, room_pb2.Room]) -> room_pb2.Room:
    return asyncio.run(call)


LOFT = room_pb2.RegisterRoomRequest(description="Loft", price_per_night=100)


def test_without_a_key_every_call_has_its_effect(rooms: Rooms) -> None:
    first, second = (run(rooms.RegisterRoom(LOFT, FakeContext())) for _ in range(2))
    assert (first.room_id, second.room_id, rooms.effects) == ("room-1", "room-2", 2)


def test_a_repeat_gets_the_first_reply_marked_replayed_and_has_no_effect(rooms: Rooms) -> None:
    first = run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"))))
    context = FakeContext((HEADER, "k1"))
    again = run(rooms.RegisterRoom(room_pb2.RegisterRoomRequest(description="Loft", price_per_night=100), context))
    assert again == first and rooms.effects == 1
    assert context.initial == ((REPLAYED_HEADER, "true"),)


def test_the_same_key_with_another_body_is_refused(rooms: Rooms) -> None:
    run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"))))
    other = room_pb2.RegisterRoomRequest(description="Loft", price_per_night=101)
    with pytest.raises(KeyReused):
        run(rooms.RegisterRoom(other, FakeContext((HEADER, "k1"))))
    assert rooms.effects == 1


def test_another_caller_with_the_same_key_is_another_call(rooms: Rooms) -> None:
    mine = run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"))))
    theirs = run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"), subject="h2")))
    assert (mine.room_id, theirs.room_id, rooms.effects) == ("room-1", "room-2", 2)


def test_a_refusal_by_the_rules_is_replayed_without_calling_again(rooms: Rooms) -> None:
    rooms.fail = Taken("room taken")
    with pytest.raises(Taken):
        run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"))))
    rooms.fail = None
    context = FakeContext((HEADER, "k1"))
    with pytest.raises(Aborted):
        run(rooms.RegisterRoom(LOFT, context))
    assert context.aborted == (grpc.StatusCode.ALREADY_EXISTS, "room taken") and rooms.effects == 0


def test_a_passing_fault_leaves_the_key_free_for_a_retry(rooms: Rooms) -> None:
    rooms.fail = Down("payment unreachable")
    with pytest.raises(Down):
        run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"))))
    rooms.fail = None
    assert run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1")))).room_id == "room-1"


@pytest.mark.parametrize(
    "metadata",
    [((HEADER, ""),), ((HEADER, "a b"),), ((HEADER, "k" * 129),), ((HEADER, "clé"),), ((HEADER, "a"), (HEADER, "b"))],
    ids=["empty", "space", "129 characters", "not ASCII", "two keys"],
)
def test_a_malformed_key_is_refused_before_anything_runs(rooms: Rooms, metadata: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(BadKey):
        run(rooms.RegisterRoom(LOFT, FakeContext(*metadata)))
    assert rooms.effects == 0


def test_a_key_of_128_printable_characters_is_taken(rooms: Rooms) -> None:
    key = "".join(chr(33 + i % 94) for i in range(128))
    first = run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, key))))
    assert run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, key)))) == first and rooms.effects == 1


def test_a_key_without_a_verified_caller_is_not_looked_at(rooms: Rooms) -> None:
    for _ in range(2):  # the real call refuses a caller without a token itself; the key scopes nothing then
        run(rooms.RegisterRoom(LOFT, FakeContext((HEADER, "k1"), subject="")))
    assert rooms.effects == 2
