"""The measured workloads: reservations through the edge, and how long their events take to reach the view."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

import grpc
import nats

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from bnb.view.v1 import view_pb2, view_pb2_grpc
from tools import load

FIRST_NIGHT = dt.date(2050, 1, 1)
VIEW_TIMEOUT_S = 30.0
POLL_S = 0.005


@dataclass
class Lags:
    """Seconds from a reservation's reply (its commit) to the room view showing it confirmed and reserved."""

    seconds: list[float] = field(default_factory=list)
    missing: int = 0  # never seen within VIEW_TIMEOUT_S


async def rooms(channel: grpc.aio.Channel, n: int) -> list[str]:
    stub = room_pb2_grpc.RoomServiceStub(channel)
    request = room_pb2.RegisterRoomRequest(host_id="h-bench", description="Bench", price_per_night=100)
    replies = []
    for start in range(0, n, 50):
        batch = [stub.RegisterRoom(request, timeout=10) for _ in range(min(50, n - start))]
        replies += await asyncio.gather(*batch)
    return [r.room_id for r in replies]


def _request(room_ids: list[str], i: int) -> reservation_pb2.RequestReservationRequest:
    """The i-th reservation: one night, its own guest, rooms taken in turn, no two on the same night."""
    night = FIRST_NIGHT + dt.timedelta(days=i // len(room_ids))
    return reservation_pb2.RequestReservationRequest(
        room_id=room_ids[i % len(room_ids)], guest_id=f"g-{uuid.uuid4()}",
        check_in=str(night), check_out=str(night + dt.timedelta(days=1)),
    )  # fmt: skip


async def sagas(edge: str, n: int, concurrency: int) -> load.Result:
    """`n` reservations at `concurrency` through the edge (gRPC), over concurrency x 4 rooms."""
    async with load.channel(edge) as channel:
        room_ids = await rooms(channel, concurrency * 4)
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)

        async def reserve(i: int) -> object:
            return await stub.RequestReservation(_request(room_ids, i), timeout=load.CALL_TIMEOUT_S)

        return await load.run(reserve, concurrency, duration_s=300, max_requests=n, label=f"sagas c={concurrency}")


async def event_lags(edge: str, n: int, concurrency: int) -> Lags:
    """Reserve `n` fresh rooms, `concurrency` at a time; poll each room's view until the saga shows there."""
    lags = Lags()
    async with load.channel(edge) as channel:
        room_ids = await rooms(channel, n)
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        views = view_pb2_grpc.RoomViewServiceStub(channel)

        async def shown(room_id: str, reservation_id: str) -> bool:
            try:
                v = await views.GetRoomView(view_pb2.GetRoomViewRequest(room_id=room_id), timeout=5)
            except grpc.aio.AioRpcError:
                return False
            return (v.reservation_id, v.reservation_status, v.room_status) == (reservation_id, "confirmed", "reserved")

        async def one(i: int) -> object:
            reply = await reservations.RequestReservation(_request(room_ids, i), timeout=load.CALL_TIMEOUT_S)
            committed = time.perf_counter()
            while not await shown(room_ids[i], reply.reservation_id):
                if time.perf_counter() - committed > VIEW_TIMEOUT_S:
                    lags.missing += 1
                    return reply
                await asyncio.sleep(POLL_S)
            lags.seconds.append(time.perf_counter() - committed)
            return reply

        await load.run(one, concurrency, duration_s=300, max_requests=n)
    return lags


async def _idle(nats_port: int) -> bool:
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            for info in await js.consumers_info(stream.config.name):
                if info.num_pending or info.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()


async def drained(nats_port: int, timeout_s: float = 300.0) -> float:
    """Seconds until every durable consumer has handled everything published so far (the event backlog)."""
    started = time.monotonic()
    while not await _idle(nats_port):
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"events still pending after {timeout_s:.0f}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started
