"""No double booking through the whole mesh: 20 simultaneous requests for the same nights, one winner."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from bnb.payment.v1 import payment_pb2, payment_pb2_grpc
from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from tests.harness import Mesh

pytestmark = pytest.mark.integration


async def race(mesh: Mesh, n: int) -> tuple[list[object], list[str]]:
    """n guests, each signed in as themselves, ask at once for overlapping nights of one new room."""
    guests = [f"g-{uuid.uuid4()}" for _ in range(n)]
    signed_in = [mesh.auth(g, "guest") for g in guests]  # minted before the race, so that it starts together
    async with grpc.aio.insecure_channel(mesh.edge, options=[("grpc.enable_http_proxy", 0)]) as channel:
        room = await room_pb2_grpc.RoomServiceStub(channel).RegisterRoom(
            room_pb2.RegisterRoomRequest(description="Contested", price_per_night=100), metadata=mesh.auth("h1", "host")
        )
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)

        async def attempt(i: int) -> object:
            request = reservation_pb2.RequestReservationRequest(
                room_id=room.room_id, guest_id=guests[i], check_in="2037-07-01", check_out=f"2037-07-{3 + i % 4:02d}"
            )
            try:
                return await stub.RequestReservation(request, timeout=20, metadata=signed_in[i])
            except grpc.aio.AioRpcError as exc:
                return exc.code()

        return list(await asyncio.gather(*(attempt(i) for i in range(n)))), guests


def test_twenty_simultaneous_requests_one_reservation_one_payment(mesh: Mesh) -> None:
    results, guests = asyncio.run(race(mesh, 20))
    won = [r for r in results if isinstance(r, reservation_pb2.Reservation)]
    assert len(won) == 1, results
    assert [r for r in results if r is not won[0]] == [grpc.StatusCode.ALREADY_EXISTS] * 19
    with mesh.channel() as channel:
        stub = payment_pb2_grpc.PaymentServiceStub(channel)
        found = [
            p
            for g in guests
            for p in stub.ListPayments(payment_pb2.ListPaymentsRequest(), metadata=mesh.auth(g, "guest")).payments
        ]
        listing = reservation_pb2_grpc.ReservationServiceStub(channel)
        kept = [
            r
            for g in guests
            for r in listing.ListReservations(
                reservation_pb2.ListReservationsRequest(), metadata=mesh.auth(g, "guest")
            ).reservations
        ]
        of_the_room = listing.ListReservations(  # as the room's host sees it
            reservation_pb2.ListReservationsRequest(room_id=won[0].room_id), metadata=mesh.auth("h1", "host")
        ).reservations
    assert [p.reservation_id for p in found] == [won[0].reservation_id]
    assert [r.reservation_id for r in kept] == [won[0].reservation_id]
    assert [r.reservation_id for r in of_the_room] == [won[0].reservation_id]
    assert won[0].guest_id in guests
