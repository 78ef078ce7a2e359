"""The room context's unit of work in memory, for handler tests without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt

from room_svc.domain import HOLD_RESERVED, Hold, Review, Room, RoomAlreadyHeld
from svckit.testing import FakeUnitOfWork


class FakeRooms:
    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}

    def add(self, room: Room) -> None:
        self.rooms[room.room_id] = room

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    def listing(
        self, limit: int, offset: int, host_id: str = "", free: tuple[dt.date, dt.date] | None = None
    ) -> list[Room]:
        assert free is None, "searching by stay is the SQL repository's (test_availability)"
        found = [r for r in self.rooms.values() if not host_id or r.host_id == host_id]
        return found[offset : offset + limit]

    def set_status(self, room_id: str, status: str) -> None:
        self.rooms[room_id] = dataclasses.replace(self.rooms[room_id], status=status)

    def count_review(self, room_id: str) -> int:
        room = self.rooms[room_id]
        self.rooms[room_id] = dataclasses.replace(room, review_count=room.review_count + 1)
        return room.review_count + 1


class FakeReviews:
    def __init__(self) -> None:
        self.reviews: list[Review] = []

    def add(self, review: Review) -> None:
        self.reviews.append(review)

    def listing(self, room_id: str, limit: int, offset: int) -> list[Review]:
        return [r for r in self.reviews if not room_id or r.room_id == room_id][offset : offset + limit]


class FakeHolds:
    def __init__(self) -> None:
        self.holds: dict[str, Hold] = {}
        self.nights: dict[tuple[str, dt.date], str] = {}

    def get(self, reservation_id: str) -> Hold | None:
        return self.holds.get(reservation_id)

    def add(self, hold: Hold) -> None:
        if any((hold.room_id, night) in self.nights for night in hold.nights):
            raise RoomAlreadyHeld(f"room {hold.room_id} is already held")
        self.holds[hold.reservation_id] = hold
        self.nights |= {(hold.room_id, night): hold.reservation_id for night in hold.nights}

    def has_stayed(self, room_id: str, guest_id: str) -> bool:
        return any((h.room_id, h.guest_id, h.status) == (room_id, guest_id, HOLD_RESERVED) for h in self.holds.values())

    def set_status(self, reservation_id: str, status: str) -> None:
        self.holds[reservation_id] = dataclasses.replace(self.holds[reservation_id], status=status)

    def free_nights(self, reservation_id: str) -> None:
        self.nights = {k: r for k, r in self.nights.items() if r != reservation_id}

    def reserved(self, room_id: str) -> int:
        return sum((h.room_id, h.status) == (room_id, HOLD_RESERVED) for h in self.holds.values())


class FakeRoomUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.rooms = FakeRooms()
        self.reviews = FakeReviews()
        self.holds = FakeHolds()
