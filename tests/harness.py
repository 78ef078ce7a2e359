"""A private mesh for tests: real NATS, real Envoy, the five services, on free ports, under supervisord."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc

from tools import envoy_config, probes, topology
from tools.mesh import MeshConfig, write

BIN = Path(sys.executable).parent


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


def mesh_config(data_dir: Path, replicas: dict[str, int] | None = None, **overrides: object) -> MeshConfig:
    services = list(topology.load().services)
    counts = {name: (replicas or {}).get(name, 1) for name in services}
    ports = free_ports(5 + sum(counts.values()))
    edge, mesh, admin, nats, monitor, *rest = ports
    endpoints = {}
    for name in services:
        endpoints[name], rest = rest[: counts[name]], rest[counts[name] :]
    cfg = MeshConfig(
        data_dir=data_dir,
        nats_port=nats,
        monitor_port=monitor,
        ports=envoy_config.Ports(edge, mesh, admin, endpoints),
        env={"BNB_DRAIN_SECONDS": "1.0", "BNB_LOG_LEVEL": "INFO"},
        envoy_concurrency=1,  # deterministic breaker counts
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@dataclass
class Mesh:
    """A running mesh; stop() ends every process it started (supervisord stops its children)."""

    cfg: MeshConfig
    process: subprocess.Popen

    @classmethod
    def start(cls, cfg: MeshConfig, timeout_s: float = 90) -> Mesh:
        conf = write(cfg)
        env = {**os.environ, "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}
        process = subprocess.Popen([str(BIN / "supervisord"), "-c", str(conf)], env=env)
        mesh = cls(cfg, process)
        try:
            mesh.wait_ready(timeout_s)
        except BaseException:
            mesh.stop()
            raise
        return mesh

    def wait_ready(self, timeout_s: float = 60) -> None:
        from tools.mesh import wait_ready

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
        """supervisorctl against this mesh, e.g. ctl('stop', 'nats')."""
        result = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.cfg.run_dir / "supervisord.conf"), *args],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
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

    def stats(self, prefix: str = "") -> dict[str, int]:
        return probes.envoy_stats(self.cfg.ports.admin, prefix)

    def log(self, program: str) -> str:
        return (self.cfg.run_dir / "logs" / f"{program}.log").read_text()
