"""`make run DB=postgres NATS_NODES=3 REPLICAS=2` as a user starts it: databases created, every process up, a
reservation confirmed through the cluster, Ctrl-C stops it all."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.dbs import postgres_url, skip_without
from tests.events_helpers import eventually
from tests.test_make_run import alive, bearer, children, launch
from tools import topology
from tools.launcher import tokens

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
SERVICES = list(topology.load().services)


def free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def scaled_ports() -> dict[str, str]:
    """A base port whose whole layout is free: the launcher puts node i, Envoy i and replica i at fixed offsets."""
    for _ in range(50):
        base = random.randrange(20000, 27000, 10)
        ports = {"BNB_EDGE_PORT": base, "BNB_MESH_PORT": base + 1, "BNB_ADMIN_PORT": base + 2,
                 "BNB_NATS_PORT": base + 4, "BNB_NATS_MONITOR_PORT": base + 7}  # fmt: skip
        for i, s in enumerate(SERVICES):
            ports[f"{s.upper()}_PORT"], ports[f"{s.upper()}_METRICS_PORT"] = base + 10 + i, base + 20 + i
        used = [p + k for p in ports.values() for k in (0, 100)] + [base + 3, base + 5, base + 6, base + 8, base + 9]
        used += [base + 4 + 2000 + i for i in range(3)]  # the routes
        if all(free(p) for p in used):
            return {name: str(port) for name, port in ports.items()}
    raise AssertionError("no free port layout found")


def drop(server: str, prefix: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for s in SERVICES:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{s}" WITH (FORCE)'))
    engine.dispose()


def test_make_run_with_postgres_three_nats_nodes_and_two_replicas(tmp_path: Path) -> None:
    skip_without("postgres")
    admin, prefix = postgres_url() or "", f"scaled{uuid.uuid4().hex[:8]}"
    server = admin.rsplit("/", 1)[0]
    ports, data = scaled_ports(), tmp_path / "data"
    scale = {"BNB_DB": "postgres", "BNB_POSTGRES_URL": f"{server}/{prefix}", "BNB_NATS_NODES": "3", "BNB_REPLICAS": "2"}
    env = {
        **os.environ,
        **ports,
        **scale,
        "BNB_DATA_DIR": str(data),
        "BNB_DRAIN_SECONDS": "0.5",
        "no_proxy": "127.0.0.1",
    }
    try:
        process, seen = launch(env)
        try:
            shown = "".join(seen)
            assert "created PostgreSQL databases " + ", ".join(f"{prefix}_{s}" for s in SERVICES) in shown
            assert "a 3-node cluster, streams R3" in shown and "2 edge Envoys on the same ports" in shown
            status = subprocess.run([str(Path(sys.executable).parent / "supervisorctl"), "-c",
                                     str(data / "run" / "supervisord.conf"), "status"],
                                    capture_output=True, text=True, timeout=30).stdout  # fmt: skip
            programs = {line.split()[0] for line in status.splitlines() if "RUNNING" in line} - {"announce"}
            expected = {"nats-0", "nats-1", "nats-2", "envoy", "envoy-1"}
            assert programs == expected | {f"svc:{s}-{i}" for s in SERVICES for i in (0, 1)}, status
            reserve_through_the_edge(f"http://127.0.0.1:{ports['BNB_EDGE_PORT']}", data)
            started = [p for p in children(process.pid) if alive(p)]
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=90) == 0
        assert not [pid for pid in started if alive(pid)], "processes left behind"
    finally:
        drop(server + "/postgres", prefix)


def reserve_through_the_edge(edge: str, data: Path) -> None:
    host, guest = tokens.mint(data, "h-scaled", "host"), tokens.mint(data, "g-scaled", "guest")
    with httpx.Client(base_url=edge, trust_env=False, timeout=15) as http:
        room = http.post("/rooms", json={"description": "Scaled", "price_per_night": 7}, headers=bearer(host))
        assert room.is_success, room.text
        check_in = dt.date.today() + dt.timedelta(days=30)  # within BNB_MAX_DAYS_AHEAD
        stay = {
            "room_id": room.json()["room_id"],
            "check_in": str(check_in),
            "check_out": str(check_in + dt.timedelta(3)),
        }
        r = http.post("/reservations", json=stay, headers=bearer(guest))
        assert r.is_success and r.json()["amount"] == "21", r.text
        path = f"/reservations/{r.json()['reservation_id']}"
        eventually(lambda: http.get(path, headers=bearer(guest)).json()["status"] == "confirmed", timeout_s=30)
