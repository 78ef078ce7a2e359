"""The whole mesh on PostgreSQL, one database per service: saga, events, view, cancellation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bnb.reservation.v1 import reservation_pb2
from tests.dbs import database_url, skip_without
from tests.events_helpers import eventually, messages, room_view
from tests.harness import Mesh, mesh_config
from tests.idempotency_helpers import OPS, Op, assert_one_reservation, at_once, call_rest, one_key_race
from tests.test_concurrency import race
from tests.test_events import book, cancel, new_room
from tools import topology

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, httpx.Client]]:
    skip_without("postgres")
    tmp: Path = tmp_path_factory.mktemp("pgmesh")
    with ExitStack() as stack:
        urls = {name: stack.enter_context(database_url("postgres", tmp, name)) for name in topology.load().services}
        mesh = Mesh.start(mesh_config(tmp, database_urls=urls))
        stack.callback(mesh.stop)
        client = stack.enter_context(httpx.Client(base_url=mesh.url, timeout=10, trust_env=False))
        yield mesh, client


def test_saga_events_and_cancellation_on_postgres(pg_http: tuple[Mesh, httpx.Client]) -> None:
    mesh, http = pg_http
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    r = book(mesh, http, room_id, guest)
    assert r["amount"] == "400" and r["created_at"].endswith("+00:00")
    reserved = {"room_status": "reserved", "reservation_status": "confirmed", "payment_status": "approved"}
    eventually(lambda: room_view(http, room_id).items() >= reserved.items(), timeout_s=30)
    assert cancel(mesh, http, r["reservation_id"], guest).status_code == 200
    final = {"room_status": "available", "reservation_status": "cancelled", "payment_status": "refunded"}
    eventually(lambda: room_view(http, room_id).items() >= final.items(), timeout_s=30)
    eventually(lambda: len(messages(mesh, http, guest_id=guest)) == 4, timeout_s=30)
    assert mesh.cfg.database_urls["room"].startswith("postgresql+psycopg://")


def test_no_double_booking_on_postgres(pg_http: tuple[Mesh, httpx.Client]) -> None:
    mesh, _ = pg_http
    results, _ = asyncio.run(race(mesh, 20))
    assert sum(isinstance(r, reservation_pb2.Reservation) for r in results) == 1, results


def test_twenty_identical_reservations_with_one_key_on_postgres(pg_http: tuple[Mesh, httpx.Client]) -> None:
    mesh, http = pg_http
    results, ctx = asyncio.run(one_key_race(mesh, http, 20))
    assert_one_reservation(mesh, http, results, ctx)


@pytest.mark.parametrize("op", [op for op in OPS if op.name != "RequestReservation"], ids=lambda op: op.name)
def test_twenty_one_transaction_calls_with_one_key_on_postgres(pg_http: tuple[Mesh, httpx.Client], op: Op) -> None:
    mesh, http = pg_http  # a repeat waits on the key's primary key for the first transaction, then replays it
    ctx, key = op.prepare(mesh, http, uuid.uuid4().hex[:12]), str(uuid.uuid4())
    results = at_once(20, lambda: call_rest(mesh, http, op, op.fields(ctx), ctx["who"], key))
    assert {(r.code, str(r.reply)) for r in results} == {("OK", str(results[0].reply))}, results
    assert [r.replayed for r in results].count(False) == 1
    assert op.effects(mesh, ctx) == op.once
