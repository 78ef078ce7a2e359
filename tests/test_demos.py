"""The three demos of the original's operations claims, at small loads, asserted on their shape (never on speed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from svckit.calls import overloaded
from tests.harness import Mesh
from tools.demos import circuit_breaker as demo_circuit_breaker
from tools.demos import load
from tools.demos import rollout as demo_rollout
from tools.demos import self_healing as demo_self_healing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rooms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """Three room replicas behind Envoy, with the graceful drain (as `make run`)."""
    with Mesh.start(demo_rollout.config(tmp_path_factory.mktemp("rooms"))) as mesh:
        yield mesh


async def _burst(mesh: Mesh, n: int) -> list[BaseException | object]:
    async with load.channel(mesh.edge) as channel:
        call = load.register_rooms(channel, mesh.token)
        return await asyncio.gather(*(call(i) for i in range(n)), return_exceptions=True)


def test_circuit_breaker_rejects_fast_above_one_request_and_keeps_serving(tmp_path: Path) -> None:
    with Mesh.start(demo_circuit_breaker.config(tmp_path)) as mesh:
        one, _two, eight = demo_circuit_breaker.measure(mesh, (1, 2, 8), duration_s=1.5, max_requests=5000)
        refused = [r for r in asyncio.run(_burst(mesh, 8)) if isinstance(r, grpc.aio.AioRpcError)]
    print(load.table("circuit breaker (test size)", [one, _two, eight]))
    assert (one.availability, one.overflow) == (100.0, 0)
    assert eight.overflow and eight.overflow >= eight.failed > 0  # every failure is the breaker's
    assert set(eight.failures) == {"UNAVAILABLE"}
    assert eight.percentile(0.5, failures=True) < eight.percentile(0.5)  # rejected at once, not queued
    assert eight.ok > 0 and eight.rate > 0.3 * one.rate  # the successful throughput holds
    assert refused and all(overloaded(e) for e in refused)  # what tells svckit.calls not to retry


def test_graceful_rollout_loses_no_call(rooms: Mesh) -> None:
    result, steps = demo_rollout.measure(rooms, graceful=True, concurrency=4, label="graceful")
    print(load.table("rollout (test size)", [result]), *steps, sep="\n")
    assert result.ok > 0 and result.failed == 0, result.details
    assert [s.program for s in steps] == ["svc:room-0", "svc:room-1", "svc:room-2"]
    for s in steps:  # NOT_SERVING -> Envoy stops routing -> drained and stopped -> SERVING -> routed again
        assert s.unrouted_s is not None and s.serving_s is not None and s.routed_s is not None
        assert s.unrouted_s < s.stopped_s < s.serving_s <= s.routed_s


def test_rollout_without_drain_or_readiness_loses_calls(tmp_path: Path) -> None:
    with Mesh.start(demo_rollout.config(tmp_path, drain=False, readiness=False)) as mesh:
        result, _ = demo_rollout.measure(mesh, graceful=False, concurrency=4, label="no drain, no readiness")
    print(load.table("rollout without drain (test size)", [result]))
    assert result.ok > 0 and result.failed > 0
    # Failed, but fast: nothing hangs, except a call that reaches a replica at the instant it stops without a
    # drain: grpc.aio accepts it and never runs it, and it waits out the stop's grace (5 s, the load's deadline).
    # That is what the drain is for; at most one such call per replica stopped.
    raced = result.failures.get("DEADLINE_EXCEEDED", 0)
    assert set(result.failures) - {"DEADLINE_EXCEEDED"} <= {"UNAVAILABLE", "CANCELLED"} and raced <= 3


def test_killed_replica_is_restarted_and_rejoins(rooms: Mesh) -> None:
    port = rooms.cfg.ports.endpoints["room"][1]
    result, recovery = demo_self_healing.measure(rooms, index=1, concurrency=4)
    print(load.table("self-healing (test size)", [result]), recovery, sep="\n")
    assert recovery.new_pid != recovery.old_pid
    assert recovery.restarted_s <= recovery.serving_s <= recovery.routed_s
    assert rooms.hosts("room")[port] == "healthy"
    assert set(result.failures) <= {"UNAVAILABLE"} and result.availability > 80
