"""The ceiling: bench.bare's empty handlers on the mesh's own Envoy config, with a NATS of their own.

Its edge verifies JWTs as the mesh's does (jwt_authn, against a development key of its own in its data dir):
the bare handlers check no identity, the edge in front of them pays what it pays for the mesh.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bare, procs
from bench import floor as bench_floor
from tools import topology
from tools.demos.private_mesh import LOOPBACK, free_ports
from tools.launcher import probes, tokens
from tools.launcher.config import GRPC_ENV, NATS_ENV, ROOT
from tools.launcher.local import BIN, niced
from tools.render import envoy_config

STOP_WAIT_S = 10


@dataclass
class Ceiling:
    """The bare processes, each started and stopped here by its PID."""

    data_dir: Path  # its logs, its JetStream, its Envoy config and its development key
    ports: envoy_config.Ports
    nats_port: int
    monitor_port: int
    processes: dict[str, subprocess.Popen[bytes]]
    roles: tuple[str, ...] = bare.ROLES

    @classmethod
    def start(cls, base: Path, db_url: str, timeout_s: float = 60, floor: bool = False) -> Ceiling:
        """`floor`: bench.floor's processes (the required writes and events, SQLite only: `db_url` is ignored)."""
        logs = base / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        kind = bench_floor if floor else bare  # its roles and its entry point (`python -m <module> <role>`)
        roles = kind.ROLES
        edge, mesh, admin, nats, monitor, *ports = free_ports(5 + len(roles))
        endpoints: dict[str, list[int]] = {name: [] for name in topology.load().services}
        endpoints |= {n: [p] for n, p in zip(roles, ports, strict=True)}
        ceiling = cls(base, envoy_config.Ports(edge, mesh, admin, endpoints), nats, monitor, {}, roles)
        (base / "envoy.json").write_text(json.dumps(envoy(base, ceiling.ports), indent=1))
        try:
            nats_server = (*niced(topology.load().nats_nice), f"{BIN}/nats-server")  # as make run starts it
            ceiling._spawn("nats", logs, *nats_server, "-a", "127.0.0.1", "-p", str(nats), "-m", str(monitor),
                           "-js", "-sd", str(base / "jetstream"), env=NATS_ENV)  # fmt: skip
            probes.wait_until(lambda: probes.nats_ready(monitor), timeout_s, "the ceiling's NATS JetStream")
            ceiling._spawn("envoy", logs, f"{BIN}/envoy", "-c", str(base / "envoy.json"), "--disable-hot-restart",
                           "--concurrency", "2", "-l", "warn", "--file-flush-interval-msec", "500")  # fmt: skip
            wiring = ("--mesh", f"127.0.0.1:{mesh}", "--nats", f"nats://127.0.0.1:{nats}")
            for name, port in zip(roles, ports, strict=True):
                db = str(base / f"{name}.db") if floor else db_url
                ceiling._spawn(
                    name, logs, f"{BIN}/python", "-m", kind.__name__, name, "--port", str(port), *wiring, "--db", db
                )
            ceiling._wait_ready(timeout_s)
        except BaseException:
            ceiling.stop()
            raise
        return ceiling

    def _spawn(self, name: str, logs: Path, *command: str, env: dict[str, str] | None = None) -> None:
        """`env`: more of the environment (NATS as the mesh runs it: NATS_ENV)."""
        env = {**GRPC_ENV, **(env or {}), **os.environ, "no_proxy": LOOPBACK, "NO_PROXY": LOOPBACK}  # as the mesh's
        with open(logs / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self, timeout_s: float) -> None:
        for name in self.roles:
            port = self.ports.endpoints[name][0]
            probes.wait_until(
                functools.partial(probes.serving, f"127.0.0.1:{port}"), timeout_s, f"bare {name} on {port}"
            )
        for name in self.roles:
            seen = functools.partial(probes.envoy_sees, self.ports.admin, name, 1)
            probes.wait_until(seen, timeout_s, f"Envoy seeing bare {name}")
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"the ceiling's {name} exited with {process.returncode}")

    def __enter__(self) -> Ceiling:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM each process it started, the last started first; SIGKILL the ones that do not exit in time."""
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_WAIT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def roots(self) -> procs.Roots:
        return {process.pid: name for name, process in self.processes.items()}

    @property
    def edge(self) -> str:
        return f"127.0.0.1:{self.ports.edge}"

    def token(self, subject: str, role: str) -> str:
        """A token this ceiling's edge accepts (its own development key; the mesh's tokens are refused here)."""
        return tokens.mint(self.data_dir, subject, role)


def envoy(base: Path, ports: envoy_config.Ports) -> dict[str, Any]:
    """The mesh's Envoy config on the ceiling's ports, verifying tokens against the key pair in `base`/keys."""
    identity = tokens.Identity.from_env(base, {})
    return envoy_config.render(topology.load(), ports, str(ROOT / "envoy" / "bnb.pb"), identity)
