"""A reservation service killed mid-saga: after restart the payment is refunded once, the room freed."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh, mesh_config
from tests.test_events import book, new_room
from tools.launcher import probes

pytestmark = pytest.mark.integration


def pending_sagas(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir}/reservation.db?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM reservations WHERE status = 'pending'").fetchone()[0]


def test_saga_interrupted_by_a_crash_is_compensated(tmp_path: Path) -> None:
    env = {"BNB_SAGA_DEADLINE_SECONDS": "2", "BNB_RECOVER_AFTER_SECONDS": "5.5"}
    mesh = Mesh.start(mesh_config(tmp_path, env=env))
    try:
        with httpx.Client(base_url=mesh.url, timeout=15, trust_env=False) as http:
            room_id, guest = new_room(mesh, http, "h-crash"), f"g-{uuid.uuid4()}"
            as_guest = mesh.headers(guest, "guest")
            payment = mesh.pid("svc:payment-0")
            os.kill(payment, signal.SIGSTOP)  # the approval hangs...
            try:
                body = {"room_id": room_id, "check_in": "2042-01-01", "check_out": "2042-01-03"}
                caller = threading.Thread(target=lambda: http.post("/reservations", json=body, headers=as_guest))
                caller.start()
                eventually(lambda: pending_sagas(mesh.cfg.data_dir) == 1)
                reservation = mesh.pid("svc:reservation-0")
                os.kill(reservation, signal.SIGKILL)  # ...and the saga's process dies holding the room
            finally:
                os.kill(payment, signal.SIGCONT)  # the approval it sent may now commit
            caller.join(timeout=15)
            port = mesh.cfg.ports.endpoints["reservation"][0]
            eventually(lambda: mesh.pid("svc:reservation-0") != reservation and probes.serving(f"127.0.0.1:{port}")
                       and mesh.hosts("reservation") == {port: "healthy"})  # fmt: skip

            def payments() -> list[dict]:
                reply = http.get("/payments", params={"guest_id": guest}, headers=as_guest)
                assert reply.status_code == 200, reply.text
                return reply.json()["payments"]

            eventually(lambda: pending_sagas(mesh.cfg.data_dir) == 0, timeout_s=30)
            assert [p["status"] for p in payments()] in ([], ["refunded"])  # never charged, or refunded once
            reservations = http.get("/reservations", params={"guest_id": guest}, headers=as_guest)
            assert reservations.status_code == 200 and reservations.json()["reservations"] == [], reservations.text
            assert book(mesh, http, room_id, f"g-{uuid.uuid4()}", "2042-01-01", "2042-01-03")["status"] == "approved"
    finally:
        mesh.stop()
