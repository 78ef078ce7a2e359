"""The benchmark's own arithmetic: targets, CPU tables, /proc accounting, the load tool's summary; and the
ceiling's edge, which verifies tokens as the mesh's does."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import grpc
import jwt
import pytest

from bench import procs, report, rest, workloads
from bench.ceiling import Ceiling, envoy
from bench.overhead import Overhead
from bench.runs import Figures
from bnb.room.v1 import room_pb2, room_pb2_grpc
from tests.harness import Mesh
from tools.demos import load
from tools.launcher import tokens
from tools.render import envoy_config


def test_a_target_says_missed_beside_its_ceiling_and_ratio() -> None:
    line = str(report.Target("saga throughput", 100.0, 400, "res/s", at_least=True, ceiling=500.0))
    assert "500.00" in line and "0.20" in line and ">= 400" in line and line.endswith("MISSED")


def test_an_unjudged_figure_is_printed_without_a_verdict() -> None:
    target = report.Target("saga latency p50", 30.0, None, "ms")
    assert target.met and str(target).endswith("-")


def test_the_tracing_budget_compares_each_round_with_the_turn_beside_it() -> None:
    # The machine's speed moves from round to round; each ratio is of two turns taken one after the other.
    rounds = {"uninstrumented": [10.0, 20.0, 12.0], "unset": [10.1, 20.4, 12.6], "traced": [11.0, 23.0, 14.4]}
    lines = report.tracing(Overhead(rounds, 200, 1234), judged=True)
    assert [(t.name.strip(), round(t.value, 4), t.met) for t in lines] == [
        ("CPU per saga, tracing unset (side by side)", 12.6, True),  # the median round
        ("unset over uninstrumented", 0.02, True),  # ratios 1.01, 1.02, 1.05 (the medians' ratio: 1.05)
        ("CPU per saga, tracing on (100 % sampled)", 14.4, True),
        ("tracing on over unset", 0.1275, True),  # 23.0 / 20.4
    ]
    rounds["traced"][:2] = [11.7, 23.5]  # ratios 1.158, 1.152, 1.143
    assert not report.tracing(Overhead(rounds, 200, 1234), judged=True)[3].met
    text = str(Overhead(rounds, 200, 1234))
    assert "1234 spans" in text and "unset over uninstrumented: median of the paired rounds +2.0%" in text


def test_the_floor_is_printed_beside_the_ceiling_unjudged_and_the_mesh_against_it() -> None:
    def figures(label: str, rate: float, cpu_s: float) -> Figures:
        sagas = load.Result(label, 32, ok=1000, elapsed_s=1000 / rate)
        return Figures(label, {}, load.Result(label, 1, ok=3, latencies_ms=[2.0, 3.0, 9.0]), sagas, {"x": cpu_s}, 0.0)

    lines = report.floor(figures("floor", 500, 4.0), figures("ceiling", 800, 2.0), figures("mesh", 300, 6.0))
    assert [(t.name.strip(), t.value, t.ceiling, t.met) for t in lines] == [
        ("floor: saga throughput at c=32", 500, 800, True),
        ("floor: saga latency p50 at c=1", 3.0, 3.0, True),
        ("floor: CPU per saga", 4.0, 2.0, True),  # ms: 4 s over 1,000 sagas
        ("mesh's saga throughput / the floor's", 0.6, None, True),
    ]
    assert all(str(t).endswith("-") for t in lines)  # no target: nothing to miss


def test_the_lag_run_shows_its_reads_of_the_view_and_its_own_cpu_per_saga() -> None:
    lags = workloads.Lags(seconds=[0.010, 0.020, 0.030, 0.040], missing=1, reads=[0.001, 0.002, 0.004, 0.050])
    sagas = load.Result("mesh c=32", 32, ok=1000, elapsed_s=4.0)
    mesh = Figures("mesh", {}, load.Result("mesh c=1", 1, ok=1, latencies_ms=[5.0]), sagas, {"view-0": 2.0}, 0.1,
                   lags, lag_cpu={"view-0": 0.05, "nats": 0.025})  # fmt: skip
    bare = Figures("ceiling", {}, load.Result("ceiling c=1", 1), load.Result("ceiling c=32", 32, ok=10), {}, 0.0)
    text = report.details(mesh, bare)
    assert "each of its 4 reads of the room view (the polls): median 3.0 ms, p99 50.0 ms" in text
    header, *rows = text.split("the room view's reads\n", 1)[1].splitlines()[:4]
    assert header.split() == ["process", "mesh", "ceiling", "mesh,", "lag", "run"]
    # c=32: 2 s over 1,000 sagas; the lag run: over its 5 reservations (4 shown, 1 never), 50 ms and 25 ms of CPU
    assert [row.split() for row in rows] == [["view", "2.00", "-", "10.00"], ["nats", "-", "-", "5.00"],
                                             ["total", "2.00", "0.00", "15.00"]]  # fmt: skip


def test_the_interval_of_the_paired_median_is_taken_from_the_ranked_ratios() -> None:
    rounds = {"unset": [10.0] * 9, "traced": [10.0 + i for i in range(9)]}  # ratios 1.0 .. 1.8
    assert Overhead(rounds, 200, 0).interval("traced", "unset") == (1.1, 1.7)  # the 2nd and 8th of 9
    assert Overhead(rounds, 200, 0).paired("traced", "unset") == 1.4


def test_the_cpu_table_sums_replicas_per_service_and_totals() -> None:
    table = report.cpu_table("t", {"mesh": ({"room-0": 1.0, "room-1": 1.0, "nats": 0.5}, 1000)})
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[2:]}
    assert rows == {"room": "2.00", "nats": "0.50", "total": "2.50"}


def test_a_child_counts_for_the_program_it_was_started_by() -> None:
    code = "import time; print('up', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"  # running: its pages are resident
        owners = procs.owned({os.getpid(): "bench"})
        assert owners[child.pid][0] == "bench" and owners[child.pid][1].rss > 0
        assert procs.owned({os.getpid(): "bench", child.pid: "child"})[child.pid][0] == "child"
    finally:
        child.kill()
        child.wait()


def test_the_precise_meter_counts_every_thread_of_a_process() -> None:
    # Two threads spin 0.3 s of CPU each (by their own thread clocks), then stay alive, as a service's do.
    code = (
        "import threading, time\n"
        "spun, stay = threading.Barrier(3), threading.Event()\n"
        "def spin():\n"
        "    end = time.thread_time() + 0.3\n"
        "    while time.thread_time() < end: pass\n"
        "    spun.wait(); stay.wait()\n"
        "[threading.Thread(target=spin, daemon=True).start() for _ in range(2)]\n"
        "spun.wait(); print('spun', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "spun\n"
        precise, ticked = procs.precise_cpu_s(child.pid), procs.scan()[child.pid].cpu_s
    finally:
        child.kill()
        child.wait()
    assert 0.6 <= precise < 0.6 + 0.5  # the spins, and the interpreter's start-up
    assert abs(precise - ticked) < 0.1  # the same CPU as /proc/PID/stat's ticks, where no network is involved
    assert procs.precise_cpu_s(child.pid) == 0.0  # gone


HEY = """
Summary:
  Total:\t10.0312 secs
  Requests/sec:\t1500.1
Latency distribution:
  50% in 0.0300 secs
  99% in 0.0812 secs
Status code distribution:
  [200]\t14000 responses
  [503]\t12 responses
Error distribution:
  [3]\tPost "http://127.0.0.1:1/rooms": dial tcp: connection refused
"""


def test_hey_summary_gives_successes_errors_and_p99() -> None:
    result = rest.parse_hey(HEY, 100)
    assert (result.ok, result.failed, round(result.p99_ms, 1)) == (14000, 15, 81.2)
    assert round(result.rate) == 1396


def test_hey_sends_the_hosts_token_with_the_body() -> None:
    command = rest.hey_command("http://127.0.0.1:1/rooms", 100, 10, "t0k3n")
    assert command[command.index("-H") + 1] == "authorization: Bearer t0k3n"
    assert json.loads(command[command.index("-d") + 1])["host_id"] == workloads.HOST


def _jwt_provider(config: dict) -> dict:
    edge = next(listener for listener in config["static_resources"]["listeners"] if listener["name"] == "edge")
    hcm = edge["filter_chains"][0]["filters"][0]["typed_config"]
    jwt_authn = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.jwt_authn")
    return jwt_authn["typed_config"]["providers"]["bnb"]


def test_the_ceilings_edge_verifies_tokens_of_its_own_key(tmp_path: Path) -> None:
    ports = envoy_config.Ports(1, 2, 3, {name: [4] for name in ("room", "reservation", "payment", "message", "view")})
    provider = _jwt_provider(envoy(tmp_path / "ceiling", ports))
    keys = jwt.PyJWKSet.from_json(Path(provider["local_jwks"]["filename"]).read_text())
    ours, theirs = tokens.mint(tmp_path / "ceiling", "g1", "guest"), tokens.mint(tmp_path / "mesh", "g1", "guest")
    claims = jwt.decode(ours, keys.keys[0], algorithms=["ES256"], audience=provider["audiences"])
    assert (claims["sub"], claims["iss"]) == ("g1", provider["issuer"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(theirs, keys.keys[0], algorithms=["ES256"], audience=provider["audiences"])


async def _register(edge: str, metadata: load.Metadata) -> grpc.StatusCode:
    async with load.channel(edge) as channel:
        stub = room_pb2_grpc.RoomServiceStub(channel)
        request = room_pb2.RegisterRoomRequest(host_id=workloads.HOST, description="x", price_per_night=1)
        try:
            await stub.RegisterRoom(request, metadata=metadata, timeout=5)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK


@pytest.mark.integration
def test_the_ceiling_runs_sagas_with_its_tokens_and_refuses_others(tmp_path: Path) -> None:
    with Ceiling.start(tmp_path / "ceiling", f"sqlite:///{tmp_path / 'reservation.db'}") as ceiling:
        result = asyncio.run(workloads.sagas(ceiling.edge, 40, 4, ceiling.token))
        foreign = load.bearer(tokens.mint(tmp_path / "elsewhere", workloads.HOST, "host"))
        codes = [asyncio.run(_register(ceiling.edge, m)) for m in ((), foreign)]
    assert (result.ok, result.failed) == (40, 0), result.details
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2


@pytest.mark.integration
def test_the_floor_makes_every_write_and_event_of_the_mesh_for_each_saga(tmp_path: Path) -> None:
    with Ceiling.start(tmp_path / "floor", "", floor=True) as floor:
        result = asyncio.run(workloads.sagas(floor.edge, 40, 4, floor.token))
        asyncio.run(workloads.drained(floor.nats_port))
        found = {role: _floor_rows(tmp_path / "floor" / f"{role}.db") for role in floor.roles}
    assert (result.ok, result.failed) == (40, 0), result.details
    # (rows, outbox rows, inbox rows) per role: the five events published once each, their nine deliveries handled
    assert found == {
        "room": (80, 80, 40),  # held; reserved on ReservationConfirmed
        "payment": (40, 40, 0),  # approved
        "reservation": (80, 80, 40),  # pending then approved (one row); confirmed on PaymentApproved
        "view": (200, 0, 200),  # all five
        "message": (80, 0, 80),  # ReservationConfirmed, PaymentApproved
    }


def _floor_rows(path: Path) -> tuple[int, ...]:
    with sqlite3.connect(path) as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("rows", "outbox", "inbox"))


@pytest.mark.integration
def test_the_lag_run_times_each_read_of_the_view_within_its_reservations_lag(mesh: Mesh) -> None:
    lags = asyncio.run(workloads.paced_lags(mesh.edge, 20.0, 1.0, mesh.token))
    assert (len(lags.seconds), lags.missing, lags.failed) == (20, 0, 0)
    assert len(lags.reads) >= 20  # each reservation read at least once, until it showed confirmed and reserved
    assert 0 < min(lags.reads) and max(lags.reads) <= max(lags.seconds)
