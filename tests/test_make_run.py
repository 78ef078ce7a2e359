"""`make run`'s launcher as a user meets it: it announces readiness, Ctrl-C stops everything, data survives."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import httpx
import jwt
import pytest

from tests.harness import free_ports
from tools.launcher import probes, tokens

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
NAMES = ["BNB_EDGE_PORT", "BNB_MESH_PORT", "BNB_ADMIN_PORT", "BNB_NATS_PORT", "BNB_NATS_MONITOR_PORT",
         "ROOM_PORT", "RESERVATION_PORT", "PAYMENT_PORT", "MESSAGE_PORT", "VIEW_PORT",
         "ROOM_METRICS_PORT", "RESERVATION_METRICS_PORT", "PAYMENT_METRICS_PORT", "MESSAGE_METRICS_PORT",
         "VIEW_METRICS_PORT"]  # fmt: skip


def launch(env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    """Start the launcher and return once it printed that the mesh is up (or fail with its output)."""
    process = subprocess.Popen([sys.executable, "-m", "tools.launcher.local", "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_forward, args=(process.stdout, lines), daemon=True).start()
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


def make_token(env: dict[str, str], who: str) -> str:
    """`make -s token GUEST=g1` (or HOST=h1) with the mesh's BNB_DATA_DIR: its one line, a development JWT."""
    result = subprocess.run(["make", "-s", "token", who], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    token, (role, subject) = lines[0], who.split("=")
    header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    assert (header["alg"], claims["sub"], claims["role"]) == ("ES256", subject, role.lower())
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def accepted(http: httpx.Client, guest_token: str) -> bool:
    """Whether the edge lets this guest's token through to a call that needs one."""
    reply = http.get("/reservations", headers=bearer(guest_token))
    assert reply.status_code in (200, 401), reply.text
    return reply.status_code == 200 and reply.json()["reservations"] == []


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
    keys = data / "keys"
    assert not keys.exists()

    process, seen = launch(env)
    try:
        # the development issuer's key pair is made on the first start, the private half for us alone
        assert sorted(p.name for p in keys.iterdir()) == ["jwks.json", "signing-key.pem"]
        assert (keys / "signing-key.pem").stat().st_mode & 0o077 == 0
        jwks = (keys / "jwks.json").read_text()
        guest_token = make_token(env, "GUEST=g1")
        first_run(process, seen, ports, edge, data, make_token(env, "HOST=h-kept"), guest_token)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)
    process, _ = launch(env)  # again: the data is still there, and so is the key
    try:
        assert (keys / "jwks.json").read_text() == jwks
        with httpx.Client(base_url=edge, trust_env=False, timeout=10) as http:
            assert http.get("/rooms", params={"host_id": "h-kept"}).json()["rooms"][0]["description"] == "Kept"
            assert accepted(http, guest_token)  # a token of the first run still verifies
            assert accepted(http, make_token(env, "GUEST=g2"))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)


def program(pid: int) -> bytes:
    """What runs as `pid`: the module of `python -m <module>`, else the executable's name."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return argv[2] if argv[1:2] == [b"-m"] else Path(argv[0].decode()).name.encode()


def first_run(
    process: subprocess.Popen,
    seen: list[str],
    ports: dict[str, str],
    edge: str,
    data: Path,
    host_token: str,
    guest_token: str,
) -> None:
    started = [  # the announcer prints, then exits: it may still be a zombie here, which is no process of the mesh
        p for p in children(process.pid)
        if alive(p) and b"tools.launcher.local\0announce" not in Path(f"/proc/{p}/cmdline").read_bytes()
    ]  # fmt: skip
    described = {p: (Path(f"/proc/{p}/cmdline").read_bytes()[:100], alive(p)) for p in started}
    assert len(started) == 7, described  # nats, envoy, the five services
    nice = {p: os.getpriority(os.PRIO_PROCESS, p) for p in started}
    niceness = {program(p): n for p, n in nice.items() if n}
    assert niceness == {b"view_svc": 10, b"message_svc": 10, b"nats-server": 10}, described  # events yield
    assert f"http://localhost:{ports['BNB_EDGE_PORT']}" in "".join(seen)
    assert f"reservation {ports['RESERVATION_METRICS_PORT']}" in "".join(seen)  # the metrics ports, announced
    for name in NAMES[-5:]:  # each service's Prometheus metrics, where mesh.json says (make observe reads it)
        assert httpx.get(f"http://127.0.0.1:{ports[name]}/metrics", trust_env=False).is_success, name
    assert json.loads((data / "run" / "mesh.json").read_text())["metrics"]["view"] == [int(ports["VIEW_METRICS_PORT"])]
    with httpx.Client(base_url=edge, trust_env=False, timeout=10) as http:
        body = {"description": "Kept", "price_per_night": 9}
        assert http.post("/rooms", json=body).status_code == 401  # the edge wants a token...
        assert http.post("/rooms", json=body, headers=bearer(host_token)).is_success  # ...and takes make token's
        assert accepted(http, guest_token)
        assert not accepted(http, tokens.mint(data.parent / "elsewhere", "g1", "guest"))  # another key's
    process.send_signal(signal.SIGINT)  # Ctrl-C
    assert process.wait(timeout=90) == 0
    assert not [pid for pid in started if alive(pid)], "processes left behind"
    assert not probes.nats_ready(int(ports["BNB_NATS_MONITOR_PORT"]))
    assert {p.name for p in (data / "run").iterdir()} <= {"envoy.json", "mesh.json", "supervisord.conf",
                                                          "supervisord.log", "logs", "demo-tokens.json"}  # fmt: skip


def _forward(stream: Iterable[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
