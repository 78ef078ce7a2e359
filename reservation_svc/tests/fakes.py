"""The reservation context's unit of work in memory, and the saga's room and payment contexts, faked."""

from __future__ import annotations

import datetime as dt

from reservation_svc import domain
from reservation_svc.domain import ACTIVE, PENDING, Held, Reservation
from svckit.calls import Deadline
from svckit.testing import FakeUnitOfWork


class FakeReservations:
    def __init__(self) -> None:
        self.rows: dict[str, Reservation] = {}

    def add(self, reservation: Reservation) -> None:
        assert reservation.reservation_id not in self.rows
        self.rows[reservation.reservation_id] = reservation

    def save(self, reservation: Reservation) -> None:
        self.rows[reservation.reservation_id] = reservation

    def remove(self, reservation_id: str) -> None:
        self.rows.pop(reservation_id, None)

    def get(self, reservation_id: str) -> Reservation | None:
        return self.rows.get(reservation_id)

    def listing(
        self, limit: int, offset: int, guest_id: str = "", host_id: str = "", room_id: str = ""
    ) -> list[Reservation]:
        wanted = {"guest_id": guest_id, "host_id": host_id, "room_id": room_id}
        found = [r for r in self.rows.values() if all(not v or getattr(r, k) == v for k, v in wanted.items())]
        return found[offset : offset + limit]

    def active_count(self, guest_id: str) -> int:
        return sum(r.guest_id == guest_id and r.status in ACTIVE for r in self.rows.values())

    def stale_pending(self, older_than: dt.datetime) -> list[Reservation]:
        return [r for r in self.rows.values() if r.status == PENDING and r.created_at < older_than]


class FakeReservationUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.reservations = FakeReservations()


class FakeRooms:
    def __init__(self, fail: Exception | None = None) -> None:
        self.held: set[str] = set()
        self.released: list[str] = []
        self.fail = fail

    async def hold(self, r: Reservation, deadline: Deadline) -> Held:
        if self.fail:
            raise self.fail
        self.held.add(r.reservation_id)
        return Held(host_id="h1", price_per_night=100)

    async def release(self, reservation_id: str, deadline: Deadline, missing_ok: bool = True) -> None:
        self.released.append(reservation_id)
        if reservation_id not in self.held and not missing_ok:  # as the room service's NOT_FOUND, seen by MeshRooms
            raise domain.DependencyUnavailable(f"no hold for {reservation_id} yet")
        self.held.discard(reservation_id)


class FakePayments:
    def __init__(self, fail: Exception | None = None) -> None:
        self.approved: dict[str, int] = {}
        self.refunded: list[str] = []
        self.fail = fail

    async def approve(self, r: Reservation, amount: int, deadline: Deadline) -> str:
        if self.fail:
            raise self.fail
        self.approved[r.reservation_id] = amount
        return f"pay-{r.reservation_id}"

    async def refund(self, reservation_id: str, deadline: Deadline) -> None:
        self.refunded.append(reservation_id)
