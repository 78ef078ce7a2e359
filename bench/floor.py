"""The floor: the ceiling's hops doing the durable work the mesh's behaviour requires, with no domain logic.

Every write the saga makes, every event it publishes and every delivery the consumers handle, as the mesh does
them, and nothing else (no identity, idempotency, limits, locks, metrics, logs, projection or notifications):

- room: HoldRoom commits a row and RoomHeld's outbox row, then publishes it; ReservationConfirmed, delivered,
  commits a row, its inbox row and RoomReserved's outbox row, then publishes it;
- payment: ApprovePayment commits a row and PaymentApproved's outbox row, then publishes it;
- reservation: a pending row, the hold, the approval, then the row approved with ReservationRequested's outbox
  row, published; PaymentApproved, delivered, commits a row, its inbox row and ReservationConfirmed;
- view: the five events, a row and an inbox row each; message: ReservationConfirmed and PaymentApproved, alike.

In the mesh's way (uvloop, SQLite's own cursor, svckit.pull's standing pull request, a batch in one transaction,
each message acked), and on SQLite only. Its throughput against the ceiling's, in the same run, is what the
mesh's behaviour leaves for its domain logic and plumbing (`make bench` prints it; issue 8's ratio is the mesh's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections.abc import Sequence

import grpc
import nats
import uvloop
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from bench import bare
from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2
from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import holds_pb2, holds_pb2_grpc
from svckit import pull
from svckit.caller import Context

PRODUCERS = ("room", "reservation", "payment")
ROLES = (*PRODUCERS, "view", "message")
# consumer -> producer -> (the event kinds it takes, the kind it emits for each, if any)
CONSUMES: dict[str, dict[str, tuple[list[str], str | None]]] = {
    "reservation": {"payment": (["approved"], "reservation.confirmed")},
    "room": {"reservation": (["confirmed"], "room.reserved")},
    "view": {"room": (["held", "reserved"], None), "reservation": (["requested", "confirmed"], None),
             "payment": (["approved"], None)},
    "message": {"reservation": (["confirmed"], None), "payment": (["approved"], None)},
}  # fmt: skip
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, state TEXT, data BLOB)",
    "CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, subject TEXT, data BLOB, created_at REAL)",
    "CREATE TABLE IF NOT EXISTS inbox (consumer TEXT, event_id TEXT, handled_at REAL, PRIMARY KEY (consumer,"
    " event_id))",
)
Event = tuple[str, str, bytes]  # event id, subject, data


def stream(producer: str) -> str:
    return f"FLOOR_{producer.upper()}"


class Node:
    """One floor process's database (SQLite, written on the loop) and JetStream."""

    def __init__(self, path: str, js: JetStreamContext) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for statement in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", *SCHEMA):
            self.db.execute(statement)
        self.js = js

    def write(self, rows: Sequence[tuple[str, str, bytes]], emits: Sequence[tuple[str, bytes]] = (),
              handled: Sequence[tuple[str, str]] = ()) -> list[Event]:  # fmt: skip
        """One transaction: the rows, the inbox rows of what was `handled`, the outbox rows of what it `emits`."""
        at, events = time.time(), [(str(uuid.uuid4()), f"floor.{kind}", data) for kind, data in emits]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO inbox VALUES (?, ?, ?)", [(c, e, at) for c, e in handled])
            self.db.executemany("INSERT INTO rows VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET state=excluded.state",
                                rows)  # fmt: skip
            self.db.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?)", [(*event, at) for event in events])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return events

    async def publish(self, events: list[Event]) -> None:
        """Each event with its id for JetStream's duplicate window, pipelined; every PubAck awaited."""
        acks = [await self.js.publish_async(subject, data, headers={"Nats-Msg-Id": e}) for e, subject, data in events]
        await asyncio.gather(*acks)

    async def commit(self, rows: Sequence[tuple[str, str, bytes]], emits: Sequence[tuple[str, bytes]]) -> None:
        await self.publish(self.write(rows, emits))

    async def consume(self, nc: Client, role: str, producer: str, kinds: list[str], emits: str | None) -> None:
        """A durable pull consumer: each batch applied in one transaction, what it emitted published, each acked."""
        durable = f"{role}-{producer}"
        subjects = [f"floor.{producer}.{kind}" for kind in kinds]
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, filter_subjects=subjects)
        await self.js.add_consumer(stream(producer), config)
        async for msgs in pull.batches(nc, stream(producer), durable):
            await self._apply(durable, msgs, emits)

    async def _apply(self, durable: str, msgs: list[Msg], emits: str | None) -> None:
        handled = [(durable, (m.headers or {}).get("Nats-Msg-Id", "")) for m in msgs]
        rows = [(eid, "seen", m.data) for (_, eid), m in zip(handled, msgs, strict=True)]
        await self.publish(self.write(rows, [(emits, m.data) for m in msgs] if emits else [], handled))
        for m in msgs:
            await m.ack()


class Holds(holds_pb2_grpc.RoomHoldsServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    async def HoldRoom(self, request: holds_pb2.HoldRoomRequest, _: Context) -> holds_pb2.Hold:
        hold = holds_pb2.Hold(
            reservation_id=request.reservation_id, room_id=request.room_id, host_id="h-bench",
            price_per_night=100, nights=1, status="held",
        )  # fmt: skip
        data = hold.SerializeToString()
        await self.node.commit([(request.reservation_id, "held", data)], [("room.held", data)])
        return hold


class Approvals(approvals_pb2_grpc.PaymentApprovalsServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    async def ApprovePayment(self, r: approvals_pb2.ApprovePaymentRequest, _: Context) -> payment_pb2.Payment:
        payment = payment_pb2.Payment(
            payment_id=str(uuid.uuid4()), reservation_id=r.reservation_id, guest_id=r.guest_id,
            room_id=r.room_id, amount=r.amount, status="approved",
        )  # fmt: skip
        data = payment.SerializeToString()
        await self.node.commit([(r.reservation_id, "approved", data)], [("payment.approved", data)])
        return payment


class Reservations(reservation_pb2_grpc.ReservationServiceServicer):
    def __init__(self, mesh: grpc.aio.Channel, node: Node) -> None:
        self.holds = holds_pb2_grpc.RoomHoldsStub(mesh)
        self.approvals = approvals_pb2_grpc.PaymentApprovalsStub(mesh)
        self.node = node

    async def RequestReservation(
        self, request: reservation_pb2.RequestReservationRequest, _: Context
    ) -> reservation_pb2.Reservation:
        rid = str(uuid.uuid4())
        self.node.write([(rid, "pending", request.SerializeToString())])
        reply = await bare.approved(self.holds, self.approvals, rid, request)
        data = reply.SerializeToString()
        await self.node.commit([(rid, "approved", data)], [("reservation.requested", data)])
        return reply


async def wire(args: argparse.Namespace, server: grpc.aio.Server, closing: contextlib.AsyncExitStack) -> None:
    """Add the role's servicers to `server` and start its consumers; what they open is closed with `closing`."""
    role = args.role
    nc = await nats.connect(args.nats)
    closing.push_async_callback(nc.close)
    js = nc.jetstream()
    for producer in {role, *CONSUMES.get(role, {})} & set(PRODUCERS):  # the same config: whoever starts first makes it
        await js.add_stream(name=stream(producer), subjects=[f"floor.{producer}.>"])
    node = Node(args.db, js)
    if role == "room":
        holds_pb2_grpc.add_RoomHoldsServicer_to_server(Holds(node), server)
    elif role == "payment":
        approvals_pb2_grpc.add_PaymentApprovalsServicer_to_server(Approvals(node), server)
    elif role == "reservation":
        channel = grpc.aio.insecure_channel(args.mesh, options=bare.NO_PROXY)
        closing.push_async_callback(channel.close)
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(Reservations(channel, node), server)
    for producer, (kinds, emits) in CONSUMES.get(role, {}).items():
        closing.callback(asyncio.create_task(node.consume(nc, role, producer, kinds, emits)).cancel)


def main() -> None:
    uvloop.run(bare.serve(bare.arguments(ROLES, __doc__), wire))  # `python -m bench.floor <role> ...`


if __name__ == "__main__":
    main()
