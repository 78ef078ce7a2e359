"""The measured workloads: reservations through the edge, how long their events take to reach the view, the backlog.

Every call but the room view's reads carries a token the edge verifies: one host registers the rooms, and each
reservation is its own guest's (no guest comes near MAX_RESERVATIONS_PER_GUEST), every token minted before the
load starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import nats
from nats.js import JetStreamContext

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from bnb.view.v1 import view_pb2, view_pb2_grpc
from tools.demos import load

# Tomorrow: a check-in may be at most BNB_MAX_DAYS_AHEAD (730) days ahead, and a run books fresh rooms.
FIRST_NIGHT = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
VIEW_TIMEOUT_S = 30.0
POLL_S = 0.005
DRAIN_POLL_S = 0.02
SETTLE_S = 0.2
Ready = Callable[[], Awaitable[object]] | None
HOST = "h-bench"  # registers every room, by gRPC and by REST


@dataclass
class Lags:
    """Seconds from a reservation's reply (its commit) to the room view showing it confirmed and reserved."""

    seconds: list[float] = field(default_factory=list)
    missing: int = 0  # never seen within VIEW_TIMEOUT_S
    failures: Counter[str] = field(default_factory=Counter)  # the reservation itself failed: gRPC code -> count
    offered_s: float = 0.0  # from the first start to the last: the pacer kept its rate if it is n / rate
    reads: list[float] = field(default_factory=list)  # seconds each poll of the room view took, through the edge

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


async def rooms(channel: grpc.aio.Channel, n: int, mint: load.Mint) -> list[str]:
    stub = room_pb2_grpc.RoomServiceStub(channel)
    request = room_pb2.RegisterRoomRequest(host_id=HOST, description="Bench", price_per_night=100)
    auth = load.bearer(mint(HOST, "host"))
    replies = []
    for start in range(0, n, 50):
        batch = [stub.RegisterRoom(request, metadata=auth, timeout=10) for _ in range(min(50, n - start))]
        replies += await asyncio.gather(*batch)
    return [r.room_id for r in replies]


@dataclass(frozen=True)
class Guest:
    guest_id: str
    auth: load.Metadata  # the guest's token, as gRPC metadata


def guests(n: int, mint: load.Mint) -> list[Guest]:
    """`n` guests of their own, each with a token minted now (not while the load runs)."""
    ids = [f"g-{uuid.uuid4()}" for _ in range(n)]
    return [Guest(guest_id, load.bearer(mint(guest_id, "guest"))) for guest_id in ids]


def _request(room_ids: list[str], i: int, guest: Guest) -> reservation_pb2.RequestReservationRequest:
    """The i-th reservation: one night, by `guest`, rooms taken in turn, no two on the same night."""
    night = FIRST_NIGHT + dt.timedelta(days=i // len(room_ids))
    return reservation_pb2.RequestReservationRequest(
        room_id=room_ids[i % len(room_ids)], guest_id=guest.guest_id,
        check_in=str(night), check_out=str(night + dt.timedelta(days=1)),
    )  # fmt: skip


async def sagas(edge: str, n: int, concurrency: int, mint: load.Mint, ready: Ready = None) -> load.Result:
    """`n` reservations at `concurrency` through the edge (gRPC), over concurrency x 4 rooms, by `n` guests whose
    tokens `mint` makes; `ready` is awaited once the rooms are registered, just before the first reservation."""
    async with load.channel(edge) as channel:
        room_ids = await rooms(channel, concurrency * 4, mint)
        by = guests(n, mint)
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)

        async def reserve(i: int) -> object:
            request = _request(room_ids, i, by[i])
            return await stub.RequestReservation(request, metadata=by[i].auth, timeout=load.CALL_TIMEOUT_S)

        if ready:
            await ready()
        return await load.run(reserve, concurrency, duration_s=300, max_requests=n, label=f"sagas c={concurrency}")


async def _shown(views: view_pb2_grpc.RoomViewServiceStub, room_id: str, reservation_id: str) -> bool:
    try:
        v = await views.GetRoomView(view_pb2.GetRoomViewRequest(room_id=room_id), timeout=5)
    except grpc.aio.AioRpcError:
        return False
    return (v.reservation_id, v.reservation_status, v.room_status) == (reservation_id, "confirmed", "reserved")


async def paced_lags(edge: str, rate_per_s: float, duration_s: float, mint: load.Mint, ready: Ready = None) -> Lags:
    """Open loop: one reservation of a fresh room every 1/rate s whatever the replies, each polled in the room
    view until it shows confirmed and reserved. The poll interval grows with the wait (POLL_S, then a fifth of
    the time waited), so that slow events do not flood the view with reads."""
    n = round(rate_per_s * duration_s)
    lags = Lags()
    async with load.channel(edge) as channel:
        room_ids = await rooms(channel, n, mint)
        by = guests(n, mint)
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        views = view_pb2_grpc.RoomViewServiceStub(channel)  # a public read: no token

        async def one(i: int) -> None:
            request = _request(room_ids, i, by[i])
            try:
                reply = await reservations.RequestReservation(request, metadata=by[i].auth, timeout=load.CALL_TIMEOUT_S)
            except grpc.aio.AioRpcError as exc:
                lags.failures[exc.code().name] += 1
                return
            committed = read = time.perf_counter()
            while not await _shown(views, room_ids[i], reply.reservation_id):
                lags.reads.append((now := time.perf_counter()) - read)
                waited = now - committed
                if waited > VIEW_TIMEOUT_S:
                    lags.missing += 1
                    return
                await asyncio.sleep(max(POLL_S, waited / 5))
                read = time.perf_counter()
            lags.reads.append((shown := time.perf_counter()) - read)
            lags.seconds.append(shown - committed)

        if ready:
            await ready()
        loop = asyncio.get_running_loop()
        tasks, started = [], loop.time()
        for i in range(n):
            await asyncio.sleep(max(0.0, started + i / rate_per_s - loop.time()))  # the pacer's schedule
            tasks.append(asyncio.create_task(one(i)))
        lags.offered_s = loop.time() - started
        await asyncio.gather(*tasks)
    return lags


async def _state(js: JetStreamContext) -> tuple[bool, int]:
    """Whether every durable consumer has nothing pending or unacked; and the streams' total last sequence."""
    idle, last = True, 0
    for stream in await js.streams_info():
        last += stream.state.last_seq
        for info in await js.consumers_info(stream.config.name or ""):
            idle = idle and not (info.num_pending or info.num_ack_pending)
    return idle, last


async def drained(nats_port: int, timeout_s: float = 300.0) -> float:
    """Seconds until every durable consumer has handled everything published so far (the event backlog), to
    DRAIN_POLL_S. Idle must hold for SETTLE_S with no new message, so that an event still in some outbox (the
    next step of a saga) does not pass for the end; the seconds count to the start of that quiet spell."""
    started = time.monotonic()
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    try:
        js = nc.jetstream()
        quiet: tuple[float, int] | None = None  # since when, and at which last sequence
        while True:
            idle, last = await _state(js)
            now = time.monotonic()
            if not idle:
                quiet = None
            elif quiet is None or quiet[1] != last:
                quiet = (now, last)
            elif now - quiet[0] >= SETTLE_S:
                return quiet[0] - started
            if now - started > timeout_s:
                raise TimeoutError(f"events still pending after {timeout_s:.0f}s")
            await asyncio.sleep(DRAIN_POLL_S)
    finally:
        await nc.close()
