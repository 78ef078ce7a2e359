"""Nothing lost, nothing doubled: broker outage, duplicate delivery, a consumer down, rebuild, dead letters."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bnb.events.v1 import events_pb2 as ev
from svckit import events
from svckit.db import Database
from tests.events_helpers import VIEW_CONSUMERS, consumers_idle, eventually, js, messages, room_view
from tests.harness import Mesh
from tests.test_events import book, cancel, new_room, reservation
from tools.launcher import probes
from view_svc.rebuild import rebuild
from view_svc.tests.fakes import all_rows
from view_svc.unit_of_work import ViewUnitOfWork

pytestmark = pytest.mark.integration
MESSAGE_CONSUMERS = {
    "ROOM": ["message-room-notify"],
    "RESERVATION": ["message-reservation-notify"],
    "PAYMENT": ["message-payment-notify"],
}


def expected_kinds(cancelled: bool) -> list[str]:
    kinds = ["PaymentApproved", "ReservationConfirmed"]
    return sorted(kinds + (["PaymentRefunded", "ReservationCancelled"] if cancelled else []))


def guest_kinds(mesh: Mesh, http: httpx.Client, guest: str) -> list[str]:
    return sorted(m["event_type"] for m in messages(mesh, http, guest_id=guest))


def test_broker_outage_delays_events_but_loses_and_doubles_none(mesh: Mesh, http: httpx.Client) -> None:
    mesh.ctl("stop", "nats")
    assert not probes.nats_ready(mesh.cfg.monitor_port)
    try:
        host = f"h-{uuid.uuid4()}"
        room_id = new_room(mesh, http, host)
        guests = [f"g-{uuid.uuid4()}" for _ in range(3)]
        booked = [
            book(mesh, http, room_id, g, f"2039-01-{1 + 2 * i:02d}", f"2039-01-{2 + 2 * i:02d}")
            for i, g in enumerate(guests)
        ]
        assert [r["status"] for r in booked] == ["approved"] * 3
    finally:
        mesh.ctl("start", "nats")
    eventually(lambda: probes.nats_ready(mesh.cfg.monitor_port))
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved", timeout_s=30)
    for guest in guests:
        eventually(functools.partial(_told, mesh, http, guest, False), timeout_s=30)
    eventually(lambda: consumers_idle(mesh, MESSAGE_CONSUMERS), timeout_s=30)
    assert [guest_kinds(mesh, http, g) for g in guests] == [expected_kinds(False)] * 3
    host_kinds = sorted(m["event_type"] for m in messages(mesh, http, host_id=host))
    assert host_kinds == ["ReservationConfirmed"] * 3 + ["RoomRegistered"]
    statuses = [reservation(mesh, http, r["reservation_id"], g)["status"] for r, g in zip(booked, guests, strict=True)]
    assert statuses == ["confirmed"] * 3


def test_redelivered_event_changes_nothing(mesh: Mesh, http: httpx.Client) -> None:
    guest = f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, f"h-{uuid.uuid4()}")
    rid = book(mesh, http, room_id, guest)["reservation_id"]
    eventually(lambda: guest_kinds(mesh, http, guest) == expected_kinds(False))
    eventually(lambda: consumers_idle(mesh, {**MESSAGE_CONSUMERS, **VIEW_CONSUMERS}))
    view_before = room_view(http, room_id)

    async def republish(jsm: Any) -> tuple[str, int]:
        subject = events.subject("reservation", "ReservationConfirmed")
        last = await jsm.get_last_msg("RESERVATION", subject)
        envelope, payload = events.decode(last.data)
        assert isinstance(payload, ev.ReservationConfirmed) and payload.reservation_id == rid
        ack = await jsm.publish(subject, last.data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        return envelope.event_id, ack.seq

    event_id, seq = js(mesh, republish)
    assert seq > 0
    eventually(lambda: consumers_idle(mesh, {**MESSAGE_CONSUMERS, **VIEW_CONSUMERS}))
    assert guest_kinds(mesh, http, guest) == expected_kinds(False)
    assert room_view(http, room_id) == view_before
    eventually(lambda: f"{event_id} already handled" in mesh.log("message-0") and event_id in mesh.log("view-0"))


def test_stopped_message_service_catches_up_without_duplicates(mesh: Mesh, http: httpx.Client) -> None:
    mesh.ctl("stop", "svc:message-0")
    try:
        room_id = new_room(mesh, http, f"h-{uuid.uuid4()}")
        kept, cancelled = f"g-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
        book(mesh, http, room_id, kept, "2040-03-01", "2040-03-02")
        gone = book(mesh, http, room_id, cancelled, "2040-03-05", "2040-03-06")
        eventually(lambda: reservation(mesh, http, gone["reservation_id"], cancelled)["status"] == "confirmed")
        assert cancel(mesh, http, gone["reservation_id"], cancelled).status_code == 200
    finally:
        mesh.ctl("start", "svc:message-0")
    port = mesh.cfg.ports.endpoints["message"][0]
    # serving again, and Envoy routes to it again (its next health check)
    eventually(lambda: probes.serving(f"127.0.0.1:{port}") and mesh.hosts("message") == {port: "healthy"}, timeout_s=30)
    eventually(lambda: guest_kinds(mesh, http, cancelled) == expected_kinds(True), timeout_s=30)
    eventually(lambda: consumers_idle(mesh, MESSAGE_CONSUMERS), timeout_s=30)
    assert guest_kinds(mesh, http, kept) == expected_kinds(False)
    assert guest_kinds(mesh, http, cancelled) == expected_kinds(True)


def test_rebuilt_view_equals_the_live_view(mesh: Mesh, http: httpx.Client, tmp_path: Path) -> None:
    room_id = new_room(mesh, http, f"h-{uuid.uuid4()}")
    book(mesh, http, room_id, f"g-{uuid.uuid4()}")
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved")
    eventually(lambda: consumers_idle(mesh, VIEW_CONSUMERS))
    live = Database(f"sqlite:///{mesh.cfg.data_dir}/view.db", producer="view")
    fresh = Database(f"sqlite:///{tmp_path}/rebuilt.db", producer="view", unit=ViewUnitOfWork)
    try:
        applied = js(mesh, lambda jsm: rebuild(fresh, jsm))
        live_rows, rebuilt_rows = all_rows(live), all_rows(fresh)
    finally:
        live.dispose()
        fresh.dispose()
    assert applied > 0 and len(live_rows) > 1
    assert rebuilt_rows == live_rows


def test_undecodable_message_becomes_a_listed_dead_letter(mesh: Mesh) -> None:
    async def publish(jsm: Any) -> int:
        subject = events.subject("room", "RoomRegistered")
        ack = await jsm.publish(subject, b"\xffnot an envelope", headers={"Nats-Msg-Id": str(uuid.uuid4())})
        return ack.seq

    seq = js(mesh, publish)
    eventually(lambda: consumers_idle(mesh, MESSAGE_CONSUMERS))
    env = {**os.environ, "BNB_DATA_DIR": str(mesh.cfg.data_dir)}
    out = subprocess.run([sys.executable, "-m", "svckit.deadletters", "message"], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    listed = [json.loads(line) for line in out.splitlines()]
    assert any(d["stream_seq"] == seq and d["consumer"] == "message-room-notify" for d in listed), listed


def _told(mesh: Mesh, http: httpx.Client, guest: str, cancelled: bool) -> bool:
    return guest_kinds(mesh, http, guest) == expected_kinds(cancelled)
