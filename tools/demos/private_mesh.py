"""A private mesh on free ports under its own supervisord: for the demos, the benchmark and the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from tools import topology
from tools.demos import load
from tools.launcher import nats_cluster, probes, tokens
from tools.launcher.config import MeshConfig
from tools.launcher.local import SUPERVISORD, wait_ready, write
from tools.render import envoy_config

BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1,localhost"


def free_ports(n: int) -> list[int]:
    """n distinct ports that nothing listens on right now."""
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def mesh_config(
    data_dir: Path, replicas: dict[str, int] | None = None, nats_nodes: int = 1, envoys: int = 1, **overrides: Any
) -> MeshConfig:
    """A MeshConfig on free ports; `overrides` set MeshConfig fields (variant=Variant(...), env=...).

    `nats_nodes` > 1: a JetStream cluster; `envoys` > 1: that many edge Envoys sharing the edge and mesh ports.
    """
    services = list(topology.load().services)
    counts = {name: (replicas or {}).get(name, 1) for name in services}
    ports = free_ports(5 + 2 * sum(counts.values()) + 3 * nats_nodes + envoys)  # a few more than used
    edge, mesh, admin, nats, monitor, *rest = ports
    cluster, rest = _cluster(nats, monitor, rest, nats_nodes)
    admins, rest = [admin, *rest[: envoys - 1]] if envoys > 1 else [], rest[envoys - 1 :]
    endpoints, metrics = {}, {}
    for name in services:
        endpoints[name], rest = rest[: counts[name]], rest[counts[name] :]
        metrics[name], rest = rest[: counts[name]], rest[counts[name] :]
    cfg = MeshConfig(
        data_dir=data_dir,
        nats_port=nats,
        monitor_port=monitor,
        ports=envoy_config.Ports(edge, mesh, admin, endpoints),
        env={"BNB_DRAIN_SECONDS": "1.0", "BNB_LOG_LEVEL": "INFO"},
        envoy_concurrency=1,  # deterministic breaker counts
        metrics_ports=metrics,
        nats_nodes=cluster,
        admin_ports=admins,
    )
    for key, value in overrides.items():
        if not hasattr(cfg, key):
            raise TypeError(f"MeshConfig has no field {key!r}")
        setattr(cfg, key, {**cfg.env, **value} if key == "env" else value)
    return cfg


def _cluster(nats: int, monitor: int, rest: list[int], n: int) -> tuple[list[nats_cluster.Node], list[int]]:
    """n > 1 cluster nodes, the first on (nats, monitor); each takes a client, monitor and route port."""
    if n == 1:
        return [], rest
    more, rest = rest[: 3 * n - 2], rest[3 * n - 2 :]
    ports, monitors, routes = [nats, *more[: n - 1]], [monitor, *more[n - 1 : 2 * n - 2]], more[2 * n - 2 :]
    return nats_cluster.nodes(ports, monitors, routes), rest


@dataclass
class Mesh:
    """A running mesh; stop() ends every process it started (supervisord stops its children)."""

    cfg: MeshConfig
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, cfg: MeshConfig, timeout_s: float = 90) -> Mesh:
        conf = write(cfg)
        env = {**os.environ, "no_proxy": LOOPBACK, "NO_PROXY": LOOPBACK}
        process = subprocess.Popen([*SUPERVISORD, "-c", str(conf)], env=env)
        mesh = cls(cfg, process)
        try:
            mesh.wait_ready(timeout_s)
        except BaseException:
            mesh.stop()
            raise
        return mesh

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_ready(self.cfg, timeout_s)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def ctl(self, *args: str) -> str:
        """supervisorctl against this mesh, e.g. ctl('stop', 'nats') or ctl('stop', 'svc:room-0'); its output."""
        command = [str(BIN / "supervisorctl"), "-c", str(self.cfg.run_dir / "supervisord.conf"), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=90)
        return result.stdout + result.stderr

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip())

    @property
    def edge(self) -> str:
        return f"127.0.0.1:{self.cfg.ports.edge}"

    @property
    def url(self) -> str:
        return f"http://{self.edge}"

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.edge, options=[("grpc.enable_http_proxy", 0)])

    def token(self, subject: str, role: str, **claims: Any) -> str:
        """A token this mesh's edge accepts (its development key); `claims` override iss, aud, exp..."""
        return tokens.mint(self.cfg.data_dir, subject, role, **claims)

    def auth(self, subject: str, role: str) -> tuple[tuple[str, str], ...]:
        """gRPC metadata for `subject` as `role`: metadata=mesh.auth("g1", "guest")."""
        return load.bearer(self.token(subject, role))

    def headers(self, subject: str, role: str) -> dict[str, str]:
        """HTTP headers for `subject` as `role`: headers=mesh.headers("h1", "host")."""
        return dict(self.auth(subject, role))

    def stats(self, prefix: str = "") -> dict[str, int]:
        return probes.envoy_stats(self.cfg.ports.admin, prefix)

    def hosts(self, cluster: str) -> dict[int, str]:
        """Envoy's health flags per replica port of `cluster` ("healthy" when it routes there)."""
        return probes.envoy_hosts(self.cfg.ports.admin, cluster)

    def runtime(self, values: dict[str, int]) -> None:
        """Set Envoy runtime keys, e.g. a fault filter's: runtime({"fault.approve.delay_percent": 100})."""
        probes.admin_post(self.cfg.ports.admin, "/runtime_modify?" + "&".join(f"{k}={v}" for k, v in values.items()))

    def log(self, program: str) -> str:
        return (self.cfg.run_dir / "logs" / f"{program}.log").read_text()
