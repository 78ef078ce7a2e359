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


async def race(edge: str, n: int) -> tuple[list[object], list[str]]:
    async with grpc.aio.insecure_channel(edge, options=[("grpc.enable_http_proxy", 0)]) as channel:
        room = await room_pb2_grpc.RoomServiceStub(channel).RegisterRoom(
            room_pb2.RegisterRoomRequest(host_id="h1", description="Contested", price_per_night=100)
        )
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        guests = [f"g-{uuid.uuid4()}" for _ in range(n)]

        async def attempt(i: int) -> object:
            request = reservation_pb2.RequestReservationRequest(
                room_id=room.room_id, guest_id=guests[i], check_in="2037-07-01", check_out=f"2037-07-{3 + i % 4:02d}"
            )
            try:
                return await stub.RequestReservation(request, timeout=20)
            except grpc.aio.AioRpcError as exc:
                return exc.code()

        return list(await asyncio.gather(*(attempt(i) for i in range(n)))), guests


def test_twenty_simultaneous_requests_one_reservation_one_payment(mesh: Mesh) -> None:
    results, guests = asyncio.run(race(mesh.edge, 20))
    won = [r for r in results if isinstance(r, reservation_pb2.Reservation)]
    assert len(won) == 1, results
    assert [r for r in results if r is not won[0]] == [grpc.StatusCode.ALREADY_EXISTS] * 19
    with mesh.channel() as channel:
        stub = payment_pb2_grpc.PaymentServiceStub(channel)
        found = [p for g in guests for p in stub.ListPayments(payment_pb2.ListPaymentsRequest(guest_id=g)).payments]
        listing = reservation_pb2_grpc.ReservationServiceStub(channel)
        kept = [
            r
            for g in guests
            for r in listing.ListReservations(reservation_pb2.ListReservationsRequest(guest_id=g)).reservations
        ]
    assert [p.reservation_id for p in found] == [won[0].reservation_id]
    assert [r.reservation_id for r in kept] == [won[0].reservation_id]
