"""One trace per request across gRPC and NATS, received by a real OTLP/gRPC receiver from a private mesh."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.events_helpers import eventually, room_view
from tests.harness import Mesh, mesh_config
from tests.otlp_receiver import Receiver, Span, receiving, tree
from tests.test_events import book, cancel, confirmed_stay, new_room, reservation

pytestmark = pytest.mark.integration
SERVICES = {"room", "reservation", "payment", "message", "view"}
PRODUCERS = {  # who writes each event the saga and its undoing publish
    **dict.fromkeys(("RoomHeld", "RoomReserved", "RoomReleased"), "room"),
    **dict.fromkeys(("ReservationRequested", "ReservationConfirmed", "ReservationCancelled"), "reservation"),
    **dict.fromkeys(("PaymentApproved", "PaymentRefunded"), "payment"),
}
SERVER, CLIENT, CONSUMER = 2, 3, 5  # opentelemetry.proto.trace.v1.Span.SpanKind


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, httpx.Client, Receiver]]:
    with receiving() as (receiver, port):
        env = {"BNB_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with Mesh.start(mesh_config(tmp_path_factory.mktemp("traced"), env=env)) as mesh:
            with httpx.Client(base_url=mesh.url, timeout=10, trust_env=False) as http:
                yield mesh, http, receiver


def _linked(spans: list[Span]) -> list[str]:
    """The spans whose parent is not in their trace: only the root's may be missing."""
    ids = {s.span_id for s in spans}
    return [f"{s.service}: {s.name}" for s in spans if s.parent_id and s.parent_id not in ids]


def _crossings(spans: list[Span]) -> dict[str, set[str]]:
    """Per consumed event: producer->consumer, the parent being the producer's span whose transaction wrote the
    event (a call it served or an event it handled): the link across NATS."""
    by_id = {s.span_id: s for s in spans}
    found: dict[str, set[str]] = {}
    for s in spans:
        if s.kind == CONSUMER:
            parent = by_id.get(s.parent_id)
            event = s.name.removeprefix("process ")
            assert parent is not None and parent.service == PRODUCERS[event], tree(spans)
            assert parent.kind in (SERVER, CONSUMER), tree(spans)  # a call served, or an event handled
            found.setdefault(event, set()).add(f"{parent.service}->{s.service}")
    return found


def _logged(mesh: Mesh, program: str, line: str) -> bool:
    return line in mesh.log(program)


def test_a_reservation_is_one_trace_across_all_five_services(traced: tuple[Mesh, httpx.Client, Receiver]) -> None:
    mesh, http, receiver = traced
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    eventually(lambda: room_view(http, room_id))
    client_trace, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    http.headers["traceparent"] = f"00-{client_trace}-{client_span}-01"  # the client's own trace: kept
    try:
        r = book(mesh, http, room_id, guest)
    finally:
        del http.headers["traceparent"]
    eventually(lambda: reservation(mesh, http, r["reservation_id"], guest)["status"] == "confirmed")
    expected = {
        ("reservation", "bnb.reservation.v1.ReservationService/RequestReservation", SERVER),
        ("reservation", "bnb.room.v1.RoomHolds/HoldRoom", CLIENT),
        ("room", "bnb.room.v1.RoomHolds/HoldRoom", SERVER),
        ("payment", "bnb.payment.v1.PaymentApprovals/ApprovePayment", SERVER),
        ("reservation", "bnb.payment.v1.PaymentApprovals/ApprovePayment", CLIENT),
        ("reservation", "process PaymentApproved", CONSUMER),
        ("room", "process ReservationConfirmed", CONSUMER),
        ("view", "process RoomReserved", CONSUMER),
        ("view", "process ReservationConfirmed", CONSUMER),
        ("message", "process ReservationConfirmed", CONSUMER),
        ("message", "process PaymentApproved", CONSUMER),
    }
    spans = eventually(lambda: (t := receiver.traces().get(client_trace, [])) and
                       {(s.service, s.name, s.kind) for s in t} >= expected and t, timeout_s=30)  # fmt: skip
    print(f"\nreservation {r['reservation_id']}: trace {client_trace}\n{tree(spans)}")
    assert {s.service for s in spans} == SERVICES
    assert _linked(spans) == ["reservation: bnb.reservation.v1.ReservationService/RequestReservation"]
    root = next(s for s in spans if s.parent_id == client_span)
    assert (root.service, root.kind) == ("reservation", SERVER)  # a child of the client's span: its traceparent kept
    assert _crossings(spans)["ReservationConfirmed"] == {
        "reservation->room",
        "reservation->view",
        "reservation->message",
    }
    elsewhere = [s for t, ss in receiver.traces().items() if t != client_trace for s in ss]
    assert not {(s.service, s.name, s.kind) for s in elsewhere} & expected  # one trace for the request, not several
    for service in SERVICES:  # every line logged about the request names its trace
        line = f'"trace_id": "{client_trace}"'
        eventually(functools.partial(_logged, mesh, f"{service}-0", line))


def test_a_cancellation_without_traceparent_starts_its_own_trace(traced: tuple[Mesh, httpx.Client, Receiver]) -> None:
    mesh, http, receiver = traced
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    rid = confirmed_stay(mesh, http, room_id, guest)["reservation_id"]
    assert cancel(mesh, http, rid, guest).status_code == 200
    name = "bnb.reservation.v1.ReservationService/CancelReservation"

    def cancellation() -> list[Span] | None:
        for spans in receiver.traces().values():
            if any(s.name == name for s in spans) and {s.service for s in spans} == SERVICES:
                return spans
        return None

    spans = eventually(cancellation, timeout_s=30)
    print(f"\ncancellation of {rid}:\n{tree(spans)}")
    (root,) = [s for s in spans if not s.parent_id]
    assert (root.service, root.name, root.kind) == ("reservation", name, SERVER)  # the edge service started it
    assert _linked(spans) == []
    assert "ReservationCancelled" in _crossings(spans)
