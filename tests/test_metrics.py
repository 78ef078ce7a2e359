"""Prometheus metrics scraped over HTTP from a private mesh: a saga, a refusal and a compensation, counted exactly."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh, mesh_config
from tests.metrics_helpers import Samples, moved, of, total, value
from tests.test_events import book, new_room, reservation
from tests.test_resilience import RECOVER_AFTER_S, payment_down

pytestmark = pytest.mark.integration

REQUEST = "/bnb.reservation.v1.ReservationService/RequestReservation"
HOLD, RELEASE = "/bnb.room.v1.RoomHolds/HoldRoom", "/bnb.room.v1.RoomHolds/ReleaseRoom"
APPROVE, REFUND = "/bnb.payment.v1.PaymentApprovals/ApprovePayment", "/bnb.payment.v1.PaymentApprovals/RefundPayment"
OUTCOMES, COMPENSATIONS = "bnb_saga_outcomes_total", "bnb_saga_compensations_total"


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A mesh of its own: no other test's sagas move its counters. Stale sagas are compensated after 9 s."""
    cfg = mesh_config(tmp_path_factory.mktemp("metrics"), env={"BNB_RECOVER_AFTER_SECONDS": str(RECOVER_AFTER_S)})
    with Mesh.start(cfg) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def http(counted: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=counted.url, timeout=10, trust_env=False) as client:
        yield client


def reserve(mesh: Mesh, http: httpx.Client, room_id: str, guest: str, check_in: str, check_out: str) -> int:
    body = {"room_id": room_id, "check_in": check_in, "check_out": check_out}
    return http.post("/reservations", json=body, headers=mesh.headers(guest, "guest")).status_code


def test_a_saga_a_refusal_and_a_compensation_move_the_counters_by_exactly_that(counted: Mesh, http: httpx.Client):
    room_id = new_room(counted, http, f"h-{uuid.uuid4()}")
    before = of(counted, "reservation")
    approved = book(counted, http, room_id, guest := f"g-{uuid.uuid4()}", "2040-05-01", "2040-05-03")
    assert reserve(counted, http, room_id, f"g-{uuid.uuid4()}", "2040-05-02", "2040-05-04") == 409  # room held
    with payment_down(counted, "stopped"):
        assert reserve(counted, http, room_id, f"g-{uuid.uuid4()}", "2040-06-01", "2040-06-03") == 503
    after = of(counted, "reservation")

    assert moved(before, after, OUTCOMES, result="approved", reason="") == 1
    assert moved(before, after, OUTCOMES, result="refused", reason="RoomUnavailable") == 1
    assert moved(before, after, OUTCOMES, result="refused", reason="DependencyUnavailable") == 1
    assert total(after, OUTCOMES) - total(before, OUTCOMES) == 3
    # The saga held the room, found payment away, undid the hold at once; the refund must wait for payment.
    assert moved(before, after, COMPENSATIONS, step="release_room", result="done") == 1
    assert moved(before, after, COMPENSATIONS, step="refund_payment", result="failed") == 1
    assert total(after, COMPENSATIONS) - total(before, COMPENSATIONS) == 2

    served = {"OK": 1, "ALREADY_EXISTS": 1, "UNAVAILABLE": 1}
    for code, n in served.items():
        assert moved(before, after, "bnb_grpc_server_requests_total", method=REQUEST, code=code) == n, code
        assert moved(before, after, "bnb_grpc_server_duration_seconds_count", method=REQUEST, code=code) == n
        assert moved(before, after, "bnb_grpc_server_errors_total", method=REQUEST, code=code) == (code != "OK")
    made = {(HOLD, "OK"): 2, (HOLD, "ALREADY_EXISTS"): 1, (APPROVE, "OK"): 1, (APPROVE, "UNAVAILABLE"): 1,
            (RELEASE, "OK"): 1, (REFUND, "UNAVAILABLE"): 1}  # fmt: skip
    for (method, code), n in made.items():
        assert moved(before, after, "bnb_grpc_client_requests_total", method=method, code=code) == n, (method, code)
        assert moved(before, after, "bnb_grpc_client_duration_seconds_count", method=method, code=code) == n
        assert moved(before, after, "bnb_grpc_client_errors_total", method=method, code=code) == (code != "OK")
    assert total(after, "bnb_grpc_client_requests_total") - total(before, "bnb_grpc_client_requests_total") == 7
    assert value(after, "bnb_grpc_server_duration_seconds_bucket", method=REQUEST, code="OK", le="+Inf") >= 1

    # Payment is back: recovery refunds (nothing was charged) and releases again, then forgets the saga.
    recovered = eventually(functools.partial(_once_recovered, counted), RECOVER_AFTER_S + 20)
    assert moved(before, recovered, "bnb_sagas_recovered_total") == 1
    assert moved(before, recovered, COMPENSATIONS, step="refund_payment", result="done") == 1
    assert moved(before, recovered, COMPENSATIONS, step="release_room", result="done") == 2

    # The async half: the approved saga's payment event confirmed it, and the outbox and the consumer drained.
    eventually(lambda: reservation(counted, http, approved["reservation_id"], guest)["status"] == "confirmed")
    durable = "reservation-payment-policy"

    def drained() -> dict | None:
        m = of(counted, "reservation")
        idle = value(m, "bnb_outbox_unsent") == 0 and value(m, "bnb_consumer_pending", durable=durable) == 0
        return m if idle and moved(before, m, "bnb_outbox_published_total") == 2 else None

    settled = eventually(drained)
    assert value(settled, "bnb_outbox_oldest_unsent_age_seconds") == 0
    assert moved(before, settled, "bnb_consumer_handling_seconds_count", durable=durable, type="PaymentApproved") == 1
    assert value(settled, "bnb_dead_letters", durable=durable) == 0
    assert moved(before, settled, "bnb_consumer_dead_letters_total", durable=durable) == 0
    assert value(settled, "bnb_outbox_publish_failures_total") == 0


def test_every_replica_serves_metrics_and_envoy_its_own(counted: Mesh) -> None:
    for service, ports in counted.cfg.metrics_ports.items():
        for i in range(len(ports)):
            assert value(of(counted, service, i), "process_cpu_seconds_total") > 0, service
    room = of(counted, "room")
    assert any(name == "bnb_consumer_pending" for name, _ in room)  # room consumes reservation events
    stats = httpx.get(f"http://127.0.0.1:{counted.cfg.ports.admin}/stats/prometheus", trust_env=False).text
    assert 'envoy_cluster_upstream_rq_total{envoy_cluster_name="reservation"}' in stats


def _once_recovered(mesh: Mesh) -> Samples | None:
    """The reservation service's samples once it counts a recovered saga."""
    samples = of(mesh, "reservation")
    return samples if samples["bnb_sagas_recovered_total", frozenset()] else None
