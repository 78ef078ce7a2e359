"""The ceiling's bare processes: the saga's hops with empty handlers (`python -m bench.bare <role> ...`).

They check no identity (the edge in front of them verified the token, as for the mesh); the bare reservation
sends the guest on its two internal calls, as the real one does (svckit.caller.on_behalf_of). They run on uvloop,
as the services do (svckit.wiring). bench.floor runs its own roles on the same skeleton (`serve`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import nats
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from nats.js import JetStreamContext
from sqlalchemy import Column, Engine, LargeBinary, MetaData, String, Table, create_engine, event

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2
from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import holds_pb2, holds_pb2_grpc, room_pb2, room_pb2_grpc
from svckit.caller import GUEST, Context, on_behalf_of

CALL_TIMEOUT_S = 3.0
STREAM, SUBJECT = "BENCH", "bench.reservation.approved.v1"
ROLES = ("room", "payment", "reservation")  # the saga's hops; the consumers (message, view) have none
NO_PROXY = [("grpc.enable_http_proxy", 0)]

metadata = MetaData()
reservations = Table(
    "reservations", metadata,
    Column("reservation_id", String, primary_key=True), Column("room_id", String), Column("guest_id", String),
    Column("check_in", String), Column("check_out", String), Column("payment_id", String), Column("status", String),
)  # fmt: skip
outbox = Table(
    "outbox", metadata,
    Column("event_id", String, primary_key=True), Column("subject", String), Column("payload", LargeBinary),
    Column("created_at", String),
)  # fmt: skip


class Rooms(room_pb2_grpc.RoomServiceServicer):
    async def RegisterRoom(self, request: room_pb2.RegisterRoomRequest, _: Context) -> room_pb2.Room:
        return room_pb2.Room(
            room_id=str(uuid.uuid4()), host_id=request.host_id, description=request.description,
            price_per_night=request.price_per_night, status="available",
        )  # fmt: skip


class Holds(holds_pb2_grpc.RoomHoldsServicer):
    async def HoldRoom(self, request: holds_pb2.HoldRoomRequest, _: Context) -> holds_pb2.Hold:
        return holds_pb2.Hold(
            reservation_id=request.reservation_id, room_id=request.room_id, host_id="h-bench",
            price_per_night=100, nights=1, status="held",
        )  # fmt: skip


class Approvals(approvals_pb2_grpc.PaymentApprovalsServicer):
    async def ApprovePayment(self, r: approvals_pb2.ApprovePaymentRequest, _: Context) -> payment_pb2.Payment:
        return payment_pb2.Payment(
            payment_id=str(uuid.uuid4()), reservation_id=r.reservation_id, guest_id=r.guest_id,
            room_id=r.room_id, amount=r.amount, status="approved",
        )  # fmt: skip


def engine(url: str) -> Engine:
    """SQLAlchemy Core on the sync engine; SQLite in WAL with synchronous=NORMAL, as the services run it."""
    eng = create_engine(url)
    if url.startswith("sqlite"):

        @event.listens_for(eng, "connect")
        def _pragmas(conn: Any, _: object) -> None:  # the driver's own connection
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    metadata.create_all(eng)
    return eng


async def approved(
    holds: holds_pb2_grpc.RoomHoldsStub,
    approvals: approvals_pb2_grpc.PaymentApprovalsStub,
    rid: str,
    request: reservation_pb2.RequestReservationRequest,
) -> reservation_pb2.Reservation:
    """Reservation `rid`'s two calls through the mesh listener, on behalf of its guest, and the reply they make."""
    guest = on_behalf_of(request.guest_id, GUEST)
    hold = await holds.HoldRoom(
        holds_pb2.HoldRoomRequest(reservation_id=rid, room_id=request.room_id, guest_id=request.guest_id,
                                  check_in=request.check_in, check_out=request.check_out),
        metadata=guest, timeout=CALL_TIMEOUT_S,
    )  # fmt: skip
    payment = await approvals.ApprovePayment(
        approvals_pb2.ApprovePaymentRequest(reservation_id=rid, guest_id=request.guest_id, room_id=request.room_id,
                                            amount=hold.price_per_night * hold.nights),
        metadata=guest, timeout=CALL_TIMEOUT_S,
    )  # fmt: skip
    return reservation_pb2.Reservation(
        reservation_id=rid, room_id=request.room_id, guest_id=request.guest_id, host_id=hold.host_id,
        check_in=request.check_in, check_out=request.check_out, status="approved",
        payment_id=payment.payment_id, amount=payment.amount,
    )  # fmt: skip


class Reservations(reservation_pb2_grpc.ReservationServiceServicer):
    """Hold the room, approve the payment (both through Envoy's mesh listener), commit row + outbox row, publish."""

    def __init__(self, mesh: grpc.aio.Channel, db: Engine, js: JetStreamContext) -> None:
        self.holds = holds_pb2_grpc.RoomHoldsStub(mesh)
        self.approvals = approvals_pb2_grpc.PaymentApprovalsStub(mesh)
        self.db, self.js = db, js
        self.on_loop = db.url.get_backend_name() == "sqlite"  # a WAL commit without fsync: brief enough for the loop

    def _commit(self, row: dict[str, str], event_id: str, payload: bytes) -> None:
        with self.db.begin() as conn:
            conn.execute(reservations.insert(), row)
            now = dt.datetime.now(dt.UTC).isoformat()
            conn.execute(outbox.insert(), {"event_id": event_id, "subject": SUBJECT, "payload": payload,
                                           "created_at": now})  # fmt: skip

    async def RequestReservation(
        self, request: reservation_pb2.RequestReservationRequest, _: Context
    ) -> reservation_pb2.Reservation:
        rid = str(uuid.uuid4())
        reply = await approved(self.holds, self.approvals, rid, request)
        row = {"reservation_id": rid, "room_id": request.room_id, "guest_id": request.guest_id,
               "check_in": request.check_in, "check_out": request.check_out, "payment_id": reply.payment_id,
               "status": "approved"}  # fmt: skip
        event_id, payload = str(uuid.uuid4()), reply.SerializeToString()
        if self.on_loop:
            self._commit(row, event_id, payload)
        else:
            await asyncio.to_thread(self._commit, row, event_id, payload)
        await self.js.publish(SUBJECT, payload, headers={"Nats-Msg-Id": event_id})  # awaits the PubAck
        return reply


Wiring = Callable[[argparse.Namespace, grpc.aio.Server, contextlib.AsyncExitStack], Awaitable[None]]


async def serve(args: argparse.Namespace, wire: Wiring) -> None:
    """Serve `args.role` (health, the room service's registrations, and what `wire` adds) until SIGTERM."""
    async with contextlib.AsyncExitStack() as closing:  # what the role opened, closed when it stops
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        if args.role == "room":
            room_pb2_grpc.add_RoomServiceServicer_to_server(Rooms(), server)
        await wire(args, server, closing)
        server.add_insecure_port(f"127.0.0.1:{args.port}")
        await server.start()
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop(0)


async def _wire(args: argparse.Namespace, server: grpc.aio.Server, closing: contextlib.AsyncExitStack) -> None:
    if args.role == "room":
        holds_pb2_grpc.add_RoomHoldsServicer_to_server(Holds(), server)
    elif args.role == "payment":
        approvals_pb2_grpc.add_PaymentApprovalsServicer_to_server(Approvals(), server)
    else:
        nc = await nats.connect(args.nats)
        closing.push_async_callback(nc.close)
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["bench.>"])
        mesh = grpc.aio.insecure_channel(args.mesh, options=NO_PROXY)
        closing.push_async_callback(mesh.close)
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(Reservations(mesh, engine(args.db), js), server)


def arguments(roles: Sequence[str], description: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("role", choices=roles)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mesh", default="", help="Envoy's mesh listener, host:port (reservation)")
    parser.add_argument("--nats", default="", help="nats://127.0.0.1:port")
    parser.add_argument(
        "--db", default="", help="a SQLAlchemy URL (bench.bare's reservation), a SQLite file (bench.floor)"
    )
    return parser.parse_args()


def main() -> None:
    uvloop.run(serve(arguments(ROLES, __doc__), _wire))  # the loop the services run on


if __name__ == "__main__":
    main()
