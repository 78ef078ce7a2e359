"""Sync calls under real faults: payment down or frozen, a slow payment, a dead replica."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
import pytest

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import holds_pb2, holds_pb2_grpc
from svckit.caller import GUEST, on_behalf_of
from tests.harness import Mesh, mesh_config
from tools.launcher import probes
from tools.render.envoy_config import Variant

APPROVE = "/bnb.payment.v1.PaymentApprovals/ApprovePayment"


RECOVER_AFTER_S = 9  # > saga deadline (5 s) + compensation budget (3 s), as reservation_svc requires


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A mesh whose Envoy can delay ApprovePayment on demand; stale sagas are compensated after 9 s."""
    cfg = mesh_config(
        tmp_path_factory.mktemp("faulty"), variant=Variant(faults={"approve": APPROVE}),
        env={"BNB_RECOVER_AFTER_SECONDS": str(RECOVER_AFTER_S)},
    )  # fmt: skip
    with Mesh.start(cfg) as mesh:
        yield mesh


@pytest.fixture
def http(faulty: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=faulty.url, timeout=10, trust_env=False) as client:
        yield client


def new_room(mesh: Mesh, http: httpx.Client) -> str:
    body = {"description": "Sturdy", "price_per_night": 100}
    reply = http.post("/rooms", json=body, headers=mesh.headers("h-res", "host"))
    assert reply.status_code == 200, reply.text
    return reply.json()["room_id"]


def reserve(mesh: Mesh, http: httpx.Client, room_id: str, guest: str, stay: tuple[str, str]) -> httpx.Response:
    body = {"room_id": room_id, "check_in": stay[0], "check_out": stay[1]}
    return http.post("/reservations", json=body, headers=mesh.headers(guest, "guest"))


def written(mesh: Mesh, http: httpx.Client, guest: str) -> tuple[list[dict], list[dict]]:
    """The guest's reservations and payments, as the guest sees them."""
    as_guest = mesh.headers(guest, "guest")
    reservations, payments = http.get("/reservations", headers=as_guest), http.get("/payments", headers=as_guest)
    assert reservations.status_code == payments.status_code == 200, (reservations.text, payments.text)
    return reservations.json()["reservations"], payments.json()["payments"]


def nights_free(mesh: Mesh, room_id: str, stay: tuple[str, str]) -> bool:
    """Ask room itself, as the saga would (through the mesh listener, for a guest the edge verified): can another
    reservation hold these nights? (then let them go)"""
    probe = f"probe-{uuid.uuid4()}"
    with grpc.insecure_channel(f"127.0.0.1:{mesh.cfg.ports.mesh}", options=[("grpc.enable_http_proxy", 0)]) as ch:
        holds = holds_pb2_grpc.RoomHoldsStub(ch)
        request = holds_pb2.HoldRoomRequest(reservation_id=probe, room_id=room_id, guest_id="probe",
                                            check_in=stay[0], check_out=stay[1])  # fmt: skip
        try:
            holds.HoldRoom(request, timeout=5, metadata=on_behalf_of("probe", GUEST))
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.ALREADY_EXISTS:
                return False
            raise
        holds.ReleaseRoom(holds_pb2.ReleaseRoomRequest(reservation_id=probe), timeout=5)
        return True


GRPC_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def delayed_approval_timeouts(mesh: Mesh) -> list[float]:
    """The grpc-timeout (s) of every ApprovePayment that Envoy's fault filter delayed (response flag DI)."""
    found = re.findall(r'ApprovePayment HTTP/2" \d+ \S*DI\S* .* grpc-timeout=(\d+)([HMSmun]) ', mesh.log("envoy"))
    return [int(value) * GRPC_TIMEOUT_UNITS[unit] for value, unit in found]


@contextmanager
def payment_down(mesh: Mesh, how: str) -> Iterator[None]:
    """Payment stopped (connections refused) or frozen by SIGSTOP (health checks time out), until Envoy sees it."""
    program, port = "svc:payment-0", mesh.cfg.ports.endpoints["payment"][0]
    pid = mesh.pid(program)
    if how == "stopped":
        mesh.ctl("stop", program)
    else:
        os.kill(pid, signal.SIGSTOP)
    try:
        probes.wait_until(lambda: mesh.hosts("payment")[port] != "healthy", 10, "Envoy seeing payment down")
        yield
    finally:
        if how == "stopped":
            mesh.ctl("start", program)
        else:
            os.kill(pid, signal.SIGCONT)
        probes.wait_until(lambda: mesh.hosts("payment")[port] == "healthy", 30, "Envoy routing to payment again")


@pytest.mark.integration
@pytest.mark.parametrize("how", ["stopped", "frozen"])
def test_payment_down_fails_fast_reads_go_on_and_nothing_stays(faulty: Mesh, http: httpx.Client, how: str) -> None:
    room_id, guest, stay = new_room(faulty, http), f"g-{uuid.uuid4()}", ("2045-03-01", "2045-03-03")
    with payment_down(faulty, how):
        started = time.monotonic()
        reply = reserve(faulty, http, room_id, guest, stay)
        elapsed = time.monotonic() - started
        assert reply.status_code == 503, reply.text
        assert reply.json()["code"] == 14 and "payment is unavailable" in reply.json()["message"]
        assert elapsed < 0.5  # the breaker is open: no waiting for a timeout
        for path in (f"/rooms/{room_id}", f"/reviews?room_id={room_id}", "/roomviews"):  # public
            assert http.get(path).status_code == 200, path
        as_guest = faulty.headers(guest, "guest")
        assert http.get("/messages", params={"guest_id": guest}, headers=as_guest).status_code == 200
    # Payment is back: whatever the failed saga left pending is compensated, nothing was charged.
    probes.wait_until(lambda: written(faulty, http, guest) == ([], []), RECOVER_AFTER_S + 20, "the failed saga undone")
    assert reserve(faulty, http, room_id, f"g-{uuid.uuid4()}", stay).json()["status"] == "approved"


@pytest.mark.integration
def test_a_replica_slow_to_answer_its_health_check_stays_in_rotation(faulty: Mesh, http: httpx.Client) -> None:
    # A busy replica answers its health check late, behind the calls in hand: it must not be ejected for that
    # (envoy/mesh.toml [policy.health_check]). Payment frozen for 1 s, then let go, answers the check in flight.
    pid, port = faulty.pid("svc:payment-0"), faulty.cfg.ports.endpoints["payment"][0]
    counters = "cluster.payment.health_check."
    before = faulty.stats(counters)
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(1.0)  # the fault itself: how long the replica does not answer
    finally:
        os.kill(pid, signal.SIGCONT)
    resumed = faulty.stats(counters)[counters + "success"]
    probes.wait_until(lambda: faulty.stats(counters)[counters + "success"] > resumed, 10, "a health check answered")
    after = faulty.stats(counters)
    assert after[counters + "failure"] == before[counters + "failure"]
    assert faulty.hosts("payment")[port] == "healthy"
    room_id, stay = new_room(faulty, http), ("2045-06-01", "2045-06-03")
    assert reserve(faulty, http, room_id, f"g-{uuid.uuid4()}", stay).json()["status"] == "approved"


@pytest.mark.integration
def test_payment_down_releases_the_room_hold_at_once(faulty: Mesh, http: httpx.Client) -> None:
    room_id, stay = new_room(faulty, http), ("2045-04-01", "2045-04-03")
    with payment_down(faulty, "stopped"):
        assert reserve(faulty, http, room_id, f"g-{uuid.uuid4()}", stay).status_code == 503
        assert nights_free(faulty, room_id, stay)  # not only once recovery runs, after payment is back


@pytest.mark.integration
def test_deadline_shorter_than_a_slow_payment_is_deadline_exceeded_and_writes_nothing(
    faulty: Mesh, http: httpx.Client
) -> None:
    room_id, guest, stay = new_room(faulty, http), f"g-{uuid.uuid4()}", ("2045-05-01", "2045-05-04")
    request = reservation_pb2.RequestReservationRequest(room_id=room_id, check_in=stay[0], check_out=stay[1])
    as_guest = faulty.auth(guest, "guest")
    faulty.runtime({"fault.approve.delay_percent": 100, "fault.approve.delay_ms": 3000})
    try:
        with faulty.channel() as channel, pytest.raises(grpc.RpcError) as failed:
            started = time.monotonic()
            reservation_pb2_grpc.ReservationServiceStub(channel).RequestReservation(
                request, timeout=0.8, metadata=as_guest
            )
        elapsed = time.monotonic() - started
    finally:
        faulty.runtime({"fault.approve.delay_percent": 0})
    assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 1.5  # the caller's 0.8 s were passed on (less a margin), not a fresh 5 s saga deadline
    assert faulty.stats("http.mesh.fault.delays_injected")["http.mesh.fault.delays_injected"] >= 1
    # Envoy's access log shows the deadline the approval carried: the caller's, less what was spent and a margin.
    probes.wait_until(lambda: delayed_approval_timeouts(faulty) != [], 5, "the approval in Envoy's access log")
    assert all(0.5 < t < 0.8 for t in delayed_approval_timeouts(faulty))
    # The approval never left Envoy; the saga undid its hold and its pending row at once.
    probes.wait_until(lambda: written(faulty, http, guest) == ([], []), 5, "nothing written for the guest")
    assert nights_free(faulty, room_id, stay)


@pytest.mark.integration
def test_dead_replica_is_ejected_and_idempotent_calls_retry_elsewhere(tmp_path: Path) -> None:
    # Without health checks only outlier detection can find the dead replica: the breaker's own job.
    with (
        Mesh.start(mesh_config(tmp_path, replicas={"room": 3}, variant=Variant(health_checks=False))) as mesh,
        httpx.Client(base_url=mesh.url, timeout=10, trust_env=False) as http,
    ):
        room_id = new_room(mesh, http)
        mesh.ctl("stop", "svc:room-1")
        replies = [reserve(mesh, http, room_id, f"g-{uuid.uuid4()}", (f"2046-01-{d:02d}", f"2046-01-{d + 1:02d}"))
                   for d in range(1, 25)]  # fmt: skip
        assert [r.status_code for r in replies] == [200] * 24  # every HoldRoom that met the dead one went elsewhere
        stats = mesh.stats("cluster.room.")
        assert stats["cluster.room.upstream_rq_retry_success"] >= 1
        assert stats["cluster.room.outlier_detection.ejections_enforced_total"] >= 1
        assert "failed_outlier_check" in mesh.hosts("room")[mesh.cfg.ports.endpoints["room"][1]]
