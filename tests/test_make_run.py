"""`make run`'s launcher as a user meets it: it announces readiness, Ctrl-C stops everything, data survives."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.harness import free_ports
from tools import probes

pytestmark = pytest.mark.integration
NAMES = ["BNB_EDGE_PORT", "BNB_MESH_PORT", "BNB_ADMIN_PORT", "BNB_NATS_PORT", "BNB_NATS_MONITOR_PORT",
         "ROOM_PORT", "RESERVATION_PORT", "PAYMENT_PORT", "MESSAGE_PORT", "VIEW_PORT"]  # fmt: skip


def launch(env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    """Start the launcher and return once it printed that the mesh is up (or fail with its output)."""
    process = subprocess.Popen([sys.executable, "-m", "tools.mesh", "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    seen: list[str] = []
    while not any("Ctrl-C stops everything" in line for line in seen):
        try:
            seen.append(lines.get(timeout=90))
        except queue.Empty:
            process.kill()
            raise AssertionError("no readiness announcement within 90s:\n" + "".join(seen)) from None
    return process, seen


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_announces_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    ports = dict(zip(NAMES, map(str, free_ports(len(NAMES))), strict=True))
    data = tmp_path / "data"
    env = {**os.environ, **ports, "BNB_DATA_DIR": str(data), "BNB_DRAIN_SECONDS": "0.5", "no_proxy": "127.0.0.1"}
    edge = f"http://127.0.0.1:{ports['BNB_EDGE_PORT']}"

    process, seen = launch(env)
    try:
        first_run(process, seen, ports, edge, data)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)
    process, _ = launch(env)  # again: the data is still there
    try:
        with httpx.Client(base_url=edge, trust_env=False, timeout=10) as http:
            assert http.get("/rooms", params={"host_id": "h-kept"}).json()["rooms"][0]["description"] == "Kept"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)


def first_run(process: subprocess.Popen, seen: list[str], ports: dict[str, str], edge: str, data: Path) -> None:
    started = [
        p for p in children(process.pid) if b"tools.mesh\0announce" not in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    assert len(started) == 7, started  # nats, envoy, the five services
    assert f"http://localhost:{ports['BNB_EDGE_PORT']}" in "".join(seen)
    with httpx.Client(base_url=edge, trust_env=False, timeout=10) as http:
        assert http.post("/rooms", json={"description": "Kept", "host_id": "h-kept", "price_per_night": 9}).is_success
    process.send_signal(signal.SIGINT)  # Ctrl-C
    assert process.wait(timeout=90) == 0
    assert not [pid for pid in started if alive(pid)], "processes left behind"
    assert not probes.nats_ready(int(ports["BNB_NATS_MONITOR_PORT"]))
    assert {p.name for p in (data / "run").iterdir()} <= {"envoy.json", "mesh.json", "supervisord.conf",
                                                          "supervisord.log", "logs"}  # fmt: skip
