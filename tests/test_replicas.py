"""Replicas of one service share its durable consumers and its database: each event is applied once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.events_helpers import consumers_idle, eventually, messages
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
    room_id = new_room(http, host)
    guests = [f"g-{uuid.uuid4()}" for _ in range(12)]
    for i, guest in enumerate(guests):
        book(http, room_id, guest, f"2041-{1 + i:02d}-01", f"2041-{1 + i:02d}-02")
    eventually(lambda: len(messages(http, host_id=host)) == 13, timeout_s=30)  # RoomRegistered + 12 confirmations
    eventually(lambda: consumers_idle(mesh, CONSUMERS), timeout_s=30)
    for guest in guests:
        assert sorted(m["event_type"] for m in messages(http, guest_id=guest)) == [
            "PaymentApproved",
            "ReservationConfirmed",
        ]
    handled = [sum(g in mesh.log(f"message-{i}") for g in guests) for i in (0, 1)]
    logs = mesh.log("message-0") + mesh.log("message-1")
    # Both replicas took part, and every confirmation of these guests was handled exactly once in all.
    confirmations = [line for line in logs.splitlines() if "handled ReservationConfirmed" in line]
    assert sum(handled) > 0
    assert len({line.split()[-1] for line in confirmations}) == len(confirmations)
    assert all(count > 0 for count in handled), handled
