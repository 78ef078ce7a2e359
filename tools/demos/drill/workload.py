"""The drill's load: guests reserve rooms through the edge, cancel some, and ask for some nights already taken."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from tools.demos import load

CALL_TIMEOUT_S = 8.0  # above the saga's own deadline (5 s): the service answers first
SLOT_DAYS = 4  # each fresh reservation has a slot of its own: up to 3 nights, then a free day
CANCEL_SHARE = 0.3  # of accepted reservations, cancelled by their guest at once
CONFLICT_SHARE = 0.1  # of reservations, asking for a stay someone holds: must be refused (ALREADY_EXISTS)
PER_GUEST = 3  # reservations per guest, well under MAX_RESERVATIONS_PER_GUEST
# A guest whose request failed waits this long before the next, as any client backs off: failures come back in
# microseconds, and a guest asking again at once would count each outage in thousands of failed requests.
BACKOFF_S = 0.1
# A connection of its own per guest (spread over the edge Envoys), dialled again within 0.2 s when lost, as a REST
# client dials for its next request; gRPC's default waits 1 s and more, which would be the client's outage.
CHANNEL_OPTIONS = [
    ("grpc.enable_http_proxy", 0),
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 200),
]


@dataclass(frozen=True)
class Call:
    """One request of the load: what it was, when it started and ended (monotonic), and its gRPC code."""

    kind: str  # "reserve", "conflict" or "cancel"
    started: float
    ended: float
    code: str

    @property
    def ok(self) -> bool:
        """Answered as it should be: a refusal of taken nights is the right answer to a conflict."""
        return self.code == "OK" or (self.kind == "conflict" and self.code == "ALREADY_EXISTS")


@dataclass(frozen=True)
class Stay:
    room_id: str
    check_in: dt.date
    check_out: dt.date
    guest: str


@dataclass
class Ledger:
    """What the guests were told: the drill's expectations of the mesh's final state."""

    rooms: dict[str, int] = field(default_factory=dict)  # room id -> price per night
    accepted: dict[str, Stay] = field(default_factory=dict)  # reservation id -> its stay
    cancelled: set[str] = field(default_factory=set)  # cancellations answered OK
    cancel_unknown: set[str] = field(default_factory=set)  # cancellations that failed: done or not
    calls: list[Call] = field(default_factory=list)


class Workload:
    """`workers` guests' sessions in parallel, each on a channel of its own, until stopped."""

    def __init__(self, edge: str, mint: Callable[[str, str], str], rooms: int = 50, seed: int = 0) -> None:
        self.edge, self.mint, self.room_count = edge, mint, rooms
        self.run = uuid.uuid4().hex[:8]
        self.ledger = Ledger()
        self.random = random.Random(seed)
        self._slot = 0
        self._first = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
        self._tokens: dict[str, load.Metadata] = {}

    def _auth(self, subject: str, role: str) -> load.Metadata:
        if subject not in self._tokens:
            self._tokens[subject] = load.bearer(self.mint(subject, role))
        return self._tokens[subject]

    def _keyed(self, subject: str, role: str) -> load.Metadata:
        return (*self._auth(subject, role), ("idempotency-key", uuid.uuid4().hex))

    async def register_rooms(self) -> None:
        """The drill's own rooms, by a host of its own, at prices from 100 to 149 a night."""
        host = f"drill-host-{self.run}"
        async with grpc.aio.insecure_channel(self.edge, options=CHANNEL_OPTIONS) as channel:
            stub = room_pb2_grpc.RoomServiceStub(channel)
            for i in range(self.room_count):
                price = 100 + i
                request = room_pb2.RegisterRoomRequest(
                    host_id=host, description=f"drill room {i}", price_per_night=price
                )
                room = await stub.RegisterRoom(request, metadata=self._keyed(host, "host"), timeout=CALL_TIMEOUT_S)
                self.ledger.rooms[room.room_id] = price

    def _fresh(self, guest: str) -> Stay:
        k, self._slot = self._slot, self._slot + 1
        room = list(self.ledger.rooms)[k % self.room_count]
        check_in = self._first + dt.timedelta(days=SLOT_DAYS * (k // self.room_count))
        return Stay(room, check_in, check_in + dt.timedelta(days=1 + k % 3), guest)

    def _taken(self, guest: str) -> Stay | None:
        held = [s for rid, s in self.ledger.accepted.items() if rid not in self.ledger.cancelled]
        if not held:
            return None
        stay = self.random.choice(held)
        return Stay(stay.room_id, stay.check_in, stay.check_out, guest)

    async def _call(
        self, kind: str, rpc: Callable[..., Awaitable[object]], request: object, metadata: object
    ) -> object:
        started, reply, code = time.monotonic(), None, "OK"
        try:
            reply = await rpc(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name
        call = Call(kind, started, time.monotonic(), code)
        self.ledger.calls.append(call)
        if not call.ok:
            await asyncio.sleep(BACKOFF_S)
        return reply

    async def _session(self, worker: int, stop: asyncio.Event) -> None:
        async with grpc.aio.insecure_channel(self.edge, options=CHANNEL_OPTIONS) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            n = 0
            while not stop.is_set():
                guest, n = f"drill-guest-{self.run}-{worker}-{n // PER_GUEST}", n + 1
                taken = self._taken(guest) if self.random.random() < CONFLICT_SHARE else None
                conflict = taken is not None
                stay = taken if taken is not None else self._fresh(guest)
                request = reservation_pb2.RequestReservationRequest(
                    room_id=stay.room_id, guest_id=guest, check_in=str(stay.check_in), check_out=str(stay.check_out)
                )
                kind = "conflict" if conflict else "reserve"
                reply = await self._call(kind, stub.RequestReservation, request, self._keyed(guest, "guest"))
                if not isinstance(reply, reservation_pb2.Reservation):
                    continue
                self.ledger.accepted[reply.reservation_id] = stay
                if self.random.random() < CANCEL_SHARE:
                    cancel = reservation_pb2.CancelReservationRequest(reservation_id=reply.reservation_id)
                    done = await self._call("cancel", stub.CancelReservation, cancel, self._keyed(guest, "guest"))
                    (self.ledger.cancelled if done else self.ledger.cancel_unknown).add(reply.reservation_id)

    async def run_until(self, stop: asyncio.Event, workers: int) -> None:
        await asyncio.gather(*(self._session(i, stop) for i in range(workers)))
