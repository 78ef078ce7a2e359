"""svckit's metrics without a mesh: the served methods' codes, the saga's outcomes, the inbox and store gauges."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from room_svc.domain import RoomRegistered
from svckit import gauges, grpcmetrics, metrics, serving
from svckit.db import Database
from svckit.idempotency import Answer, Replay
from svckit.inbox import handle, handle_batch
from svckit.policies import Subscription
from svckit.retries import bury
from svckit.tables import plumbing
from svckit.uow import UnitOfWork
from tests.test_consumer_batches import message

DURABLE = "view-room-metrics"
CHECK = "/grpc.health.v1.Health/Check"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/m.db", producer="view")
    plumbing.create_all(database.engine)
    return database


class Health(health_pb2_grpc.HealthServicer):
    async def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> Any:
        if request.service == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such service")
        if request.service == "bug":
            raise RuntimeError("a bug")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def _calls(services: list[str]) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(Health(), serving.wrapping(server, grpcmetrics.server_wraps()))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            for service in services:
                try:
                    check = stub.Check  # type: ignore[attr-defined]  # the health stubs' HealthStub declares no methods
                    await grpcmetrics.client_call(check, health_pb2.HealthCheckRequest(service=service))
                except grpc.aio.AioRpcError:
                    pass
    finally:
        await server.stop(None)


def test_calls_are_counted_by_method_and_the_status_each_side_saw() -> None:
    codes = ("OK", "NOT_FOUND", "UNKNOWN")
    sides = ("server", "client")
    before = {(s, c): sample(f"bnb_grpc_{s}_requests_total", method=CHECK, code=c) for s in sides for c in codes}
    errors = {c: sample("bnb_grpc_server_errors_total", method=CHECK, code=c) for c in codes}
    asyncio.run(_calls(["", "", "missing", "bug"]))
    for side in sides:
        moved = {c: sample(f"bnb_grpc_{side}_requests_total", method=CHECK, code=c) - before[side, c] for c in codes}
        assert moved == {"OK": 2, "NOT_FOUND": 1, "UNKNOWN": 1}, side
    assert {c: sample("bnb_grpc_server_errors_total", method=CHECK, code=c) - errors[c] for c in codes} == {
        "OK": 0, "NOT_FOUND": 1, "UNKNOWN": 1,
    }  # fmt: skip


class Refused(Exception):
    pass


@metrics.saga_outcome((Refused,), (Replay,))
async def saga(ending: BaseException | None) -> str:
    if ending is not None:
        raise ending
    return "approved"


def test_saga_outcomes_count_refusals_by_reason_and_replays_not_at_all() -> None:
    def outcome(result: str, reason: str) -> float:
        return sample("bnb_saga_outcomes_total", result=result, reason=reason)

    before = [outcome("approved", ""), outcome("refused", "Refused"), outcome("refused", "internal")]
    asyncio.run(saga(None))
    for ending in (Refused("held"), ValueError("bug"), Replay(Answer(0, b"", ""))):
        with pytest.raises(type(ending)):
            asyncio.run(saga(ending))
    after = [outcome("approved", ""), outcome("refused", "Refused"), outcome("refused", "internal")]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def test_the_inbox_counts_duplicates_and_each_handling_once(db: Database) -> None:
    def noop(uow: UnitOfWork, event: Any, envelope: Any) -> None:
        pass

    sub = Subscription(DURABLE, "room", {"RoomRegistered": noop})
    handled = ("bnb_consumer_handling_seconds_count", {"durable": DURABLE, "type": "RoomRegistered"})
    first, again = message("r1"), message("r2")
    before = sample(handled[0], **handled[1]), sample("bnb_consumer_duplicates_total", durable=DURABLE)
    assert handle_batch(db, sub, [first, again]) == ["done", "done"]
    assert handle_batch(db, sub, [first]) == ["duplicate"]
    assert handle(db, sub, *again) == "duplicate"
    after = sample(handled[0], **handled[1]), sample("bnb_consumer_duplicates_total", durable=DURABLE)
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)


def test_the_store_gauges_read_unsent_rows_and_dead_letters_at_scrape_time(db: Database) -> None:
    collector = gauges.StoreCollector(db, outbox_rows=True, durables=[DURABLE])
    read = {s.name: s.value for family in collector.collect() for s in family.samples}
    assert read == {"bnb_outbox_unsent": 0, "bnb_outbox_oldest_unsent_age_seconds": 0, "bnb_dead_letters": 0}
    with db.uow() as uow:
        uow.emit(RoomRegistered("r3", "h1", "Loft", 100, "available"), aggregate_id="r3")
        bury(uow.conn, DURABLE, (b"junk", "bnb.room.RoomRegistered.v1", 7), ValueError("undecodable"))
        uow.commit()
    read = {s.name: s.value for family in collector.collect() for s in family.samples}
    assert read["bnb_outbox_unsent"] == 1 and read["bnb_dead_letters"] == 1
    assert 0 <= read["bnb_outbox_oldest_unsent_age_seconds"] < 60


def test_a_process_that_serves_no_metrics_records_none(db: Database) -> None:
    before = sample("bnb_grpc_client_requests_total", method=CHECK, code="OK")
    served_before = sample("bnb_grpc_server_requests_total", method=CHECK, code="OK")
    handled_before = sample("bnb_consumer_handling_seconds_count", durable=DURABLE, type="RoomRegistered")
    metrics.install(False)
    try:
        assert grpcmetrics.server_wraps() == []
        asyncio.run(_calls([""]))  # served and called: neither counted
        sub = Subscription(DURABLE, "room", {"RoomRegistered": lambda uow, event, envelope: None})
        assert handle(db, sub, *message("room-9")) == "done"
    finally:
        metrics.install(True)
    assert sample("bnb_grpc_client_requests_total", method=CHECK, code="OK") == before
    assert sample("bnb_grpc_server_requests_total", method=CHECK, code="OK") == served_before
    assert sample("bnb_consumer_handling_seconds_count", durable=DURABLE, type="RoomRegistered") == handled_before
    assert grpcmetrics.server_wraps() == [grpcmetrics.measured]
