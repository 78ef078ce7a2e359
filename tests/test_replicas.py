"""Replicas of one service share its durable consumers and its database: each event is applied once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.events_helpers import consumers_idle, eventually, js, messages
from tests.harness import Mesh, mesh_config
from tests.test_events import book, new_room

pytestmark = pytest.mark.integration
CONSUMERS = {
    "ROOM": ["message-room-notify"],
    "RESERVATION": ["message-reservation-notify"],
    "PAYMENT": ["message-payment-notify"],
}


@pytest.fixture(scope="module")
def two_message_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, httpx.Client]]:
    tmp: Path = tmp_path_factory.mktemp("replicas")
    mesh = Mesh.start(mesh_config(tmp, replicas={"message": 2, "room": 2}))
    try:
        with httpx.Client(base_url=mesh.url, timeout=10, trust_env=False) as client:
            yield mesh, client
    finally:
        mesh.stop()


def test_two_consumer_replicas_never_both_apply_an_event(two_message_replicas: tuple[Mesh, httpx.Client]) -> None:
    mesh, http = two_message_replicas
    host = f"h-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    guests = [f"g-{uuid.uuid4()}" for _ in range(12)]
    for i, guest in enumerate(guests):
        book(mesh, http, room_id, guest, f"2041-{1 + i:02d}-01", f"2041-{1 + i:02d}-02")
    eventually(lambda: len(messages(mesh, http, host_id=host)) == 13, timeout_s=30)  # RoomRegistered + 12 confirmations
    eventually(lambda: consumers_idle(mesh, CONSUMERS), timeout_s=30)
    for guest in guests:
        assert sorted(m["event_type"] for m in messages(mesh, http, guest_id=guest)) == [
            "PaymentApproved",
            "ReservationConfirmed",
        ]
    # Every confirmation was handled exactly once across both replicas' logs...
    logs = mesh.log("message-0") + mesh.log("message-1")
    handled = [json.loads(line)["msg"] for line in logs.splitlines() if "handled ReservationConfirmed" in line]
    event_ids = [msg.split()[-1] for msg in handled]
    assert len(event_ids) == len(set(event_ids)) >= 12
    # ...while both replicas were pulling from the one durable consumer.
    eventually(
        lambda: js(mesh, lambda jsm: jsm.consumer_info("RESERVATION", "message-reservation-notify")).num_waiting >= 2
    )
