"""What the idempotency tests share: the four keyed RPCs, a call over REST or gRPC, and their effects in the DBs."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
from google.protobuf import json_format
from sqlalchemy import Engine, create_engine, func, select

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from payment_svc.repository import payments
from reservation_svc.repository import reservations
from room_svc.repository import holds, reviews, room_nights, rooms
from svckit.events import decode
from svckit.tables import outbox
from tests.harness import Mesh
from tests.test_events import book, confirmed_stay, new_room

Ctx = dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """A call's answer, alike over REST and gRPC: the gRPC code's name, the reply (as JSON) or the message."""

    code: str
    reply: dict[str, Any]
    message: str
    replayed: bool


@dataclass(frozen=True)
class Op:
    """A keyed RPC: who calls it, what it needs first, its request (and another one), its effects."""

    name: str
    role: str
    prepare: Callable[[Mesh, httpx.Client, str], Ctx]  # tag -> the ids the call needs, its caller under "who"
    fields: Callable[[Ctx], dict[str, Any]]
    other: Callable[[Ctx], dict[str, Any]]  # another request of the same caller
    rest: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]  # fields -> path, body
    stub: type
    request: type
    effects: Callable[[Mesh, Ctx], dict[str, int]]
    once: dict[str, int]  # the effects of one call


@functools.cache
def _engine(url: str) -> Engine:
    return create_engine(url)


def count(mesh: Mesh, service: str, query: Any) -> int:
    url = mesh.cfg.database_urls.get(service) or f"sqlite:///{mesh.cfg.data_dir}/{service}.db"
    with _engine(url).connect() as conn:
        return conn.execute(query).scalar_one()


def _rows(table: Any, **where: str) -> Any:
    return select(func.count()).select_from(table).where(*(table.c[k] == v for k, v in where.items()))


def _cancellations(mesh: Mesh, ctx: Ctx) -> dict[str, int]:
    url = mesh.cfg.database_urls.get("reservation") or f"sqlite:///{mesh.cfg.data_dir}/reservation.db"
    with _engine(url).connect() as conn:
        found = conn.execute(select(outbox.c.data).where(outbox.c.subject.like("%ReservationCancelled%"))).all()
    return {"cancelled": sum(decode(data)[0].aggregate_id == ctx["reservation"] for (data,) in found)}


def _room(mesh: Mesh, http: httpx.Client, tag: str) -> Ctx:
    return {"who": f"g-{tag}", "room": new_room(mesh, http, f"h-{tag}")}


def _booked(mesh: Mesh, http: httpx.Client, tag: str) -> Ctx:
    ctx = _room(mesh, http, tag)
    return {**ctx, "reservation": book(mesh, http, ctx["room"], ctx["who"], **STAY)["reservation_id"]}


def _stayed(mesh: Mesh, http: httpx.Client, tag: str) -> Ctx:
    ctx = _room(mesh, http, tag)
    confirmed_stay(mesh, http, ctx["room"], ctx["who"], **STAY)
    return ctx


_IN = dt.date.today() + dt.timedelta(days=200)  # within BNB_MAX_DAYS_AHEAD (730)
STAY = {"check_in": str(_IN), "check_out": str(_IN + dt.timedelta(days=3))}
LONGER = {**STAY, "check_out": str(_IN + dt.timedelta(days=4))}
OPS = [
    Op("RegisterRoom", "host", lambda m, h, tag: {"who": f"h-{tag}"},
       lambda c: {"description": "Idempotent loft", "price_per_night": 300},
       lambda c: {"description": "Idempotent loft", "price_per_night": 301},
       lambda f: ("/rooms", f), room_pb2_grpc.RoomServiceStub, room_pb2.RegisterRoomRequest,
       lambda m, c: {"rooms": count(m, "room", _rows(rooms, host_id=c["who"]))}, {"rooms": 1}),
    Op("RequestReservation", "guest", _room,
       lambda c: {"room_id": c["room"], **STAY}, lambda c: {"room_id": c["room"], **LONGER},
       lambda f: ("/reservations", f), reservation_pb2_grpc.ReservationServiceStub,
       reservation_pb2.RequestReservationRequest,
       lambda m, c: {"reservations": count(m, "reservation", _rows(reservations, guest_id=c["who"])),
                     "payments": count(m, "payment", _rows(payments, guest_id=c["who"])),
                     "holds": count(m, "room", _rows(holds, room_id=c["room"])),
                     "nights": count(m, "room", _rows(room_nights, room_id=c["room"]))},
       {"reservations": 1, "payments": 1, "holds": 1, "nights": 3}),
    Op("CancelReservation", "guest", _booked,
       lambda c: {"reservation_id": c["reservation"]},
       lambda c: {"reservation_id": c["reservation"], "guest_id": c["who"]},
       lambda f: (f"/reservations/{f['reservation_id']}:cancel", {k: v for k, v in f.items() if k != "reservation_id"}),
       reservation_pb2_grpc.ReservationServiceStub, reservation_pb2.CancelReservationRequest,
       _cancellations, {"cancelled": 1}),
    Op("CreateReview", "guest", _stayed,
       lambda c: {"room_id": c["room"], "rating": 5, "text": "Quiet"},
       lambda c: {"room_id": c["room"], "rating": 4, "text": "Quiet"},
       lambda f: ("/reviews", f), room_pb2_grpc.RoomServiceStub, room_pb2.CreateReviewRequest,
       lambda m, c: {"reviews": count(m, "room", _rows(reviews, room_id=c["room"], guest_id=c["who"]))},
       {"reviews": 1}),
]  # fmt: skip


def call_rest(mesh: Mesh, http: httpx.Client, op: Op, fields: dict[str, Any], who: str, key: str) -> Outcome:
    path, body = op.rest(fields)
    headers = {**mesh.headers(who, op.role), **({"Idempotency-Key": key} if key else {})}
    reply = http.post(path, json=body, headers=headers)
    replayed = reply.headers.get("idempotent-replayed") == "true"
    if reply.status_code == 200:
        return Outcome("OK", reply.json(), "", replayed)
    error = reply.json()
    return Outcome(_name(error["code"]), {}, error["message"], replayed)


def call_grpc(mesh: Mesh, channel: grpc.Channel, op: Op, fields: dict[str, Any], who: str, key: str) -> Outcome:
    metadata = (*mesh.auth(who, op.role), *((("idempotency-key", key),) if key else ()))
    method = getattr(op.stub(channel), op.name)
    try:
        reply, call = method.with_call(json_format.ParseDict(fields, op.request()), metadata=metadata, timeout=20)
    except grpc.RpcError as exc:
        return Outcome(exc.code().name, {}, exc.details() or "", False)
    replayed = ("idempotent-replayed", "true") in (call.initial_metadata() or ())
    as_json = json_format.MessageToDict(reply, preserving_proto_field_name=True)
    return Outcome("OK", as_json, "", replayed)


def _name(number: int) -> str:
    return next(code.name for code in grpc.StatusCode if code.value[0] == number)


def at_once(n: int, work: Callable[[], Outcome]) -> list[Outcome]:
    """n calls of work() started together, on n threads."""
    start = threading.Barrier(n)

    def one(_: int) -> Outcome:
        start.wait()
        return work()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


async def one_key_race(mesh: Mesh, http: httpx.Client, n: int) -> tuple[list[Any], Ctx]:
    """n identical reservation requests of one guest with one key, at once over gRPC: replies or (code, details)."""
    ctx = _room(mesh, http, uuid.uuid4().hex[:12])
    metadata = (*mesh.auth(ctx["who"], "guest"), ("idempotency-key", str(uuid.uuid4())))
    request = reservation_pb2.RequestReservationRequest(room_id=ctx["room"], **STAY)
    async with grpc.aio.insecure_channel(mesh.edge, options=[("grpc.enable_http_proxy", 0)]) as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)

        async def attempt() -> Any:
            try:
                return await stub.RequestReservation(request, metadata=metadata, timeout=20)
            except grpc.aio.AioRpcError as exc:
                return exc.code(), exc.details()

        results = list(await asyncio.gather(*(attempt() for _ in range(n))))
        ctx["retry"] = (await stub.RequestReservation(request, metadata=metadata, timeout=20)).reservation_id
    return results, ctx


def assert_one_reservation(mesh: Mesh, http: httpx.Client, results: list[Any], ctx: Ctx) -> None:
    """One saga ran: every reply is its reservation, the others were told it is in progress; one payment."""
    won = [r for r in results if isinstance(r, reservation_pb2.Reservation)]
    waited = [r for r in results if not isinstance(r, reservation_pb2.Reservation)]
    assert won and all(r == won[0] for r in won), results
    assert {(code, "still in progress" in details) for code, details in waited} <= {(grpc.StatusCode.ABORTED, True)}
    rid, guest = won[0].reservation_id, ctx["who"]
    assert ctx["retry"] == rid  # a retry once the first has finished: its reservation again
    listed = http.get("/payments", headers=mesh.headers(guest, "guest")).json()["payments"]
    assert [p["reservation_id"] for p in listed] == [rid]
    kept = http.get("/reservations", headers=mesh.headers(guest, "guest")).json()["reservations"]
    assert [r["reservation_id"] for r in kept] == [rid]
    assert OPS[1].effects(mesh, ctx) == OPS[1].once  # one hold of the room, its three nights
