"""What the local mesh is made of: its data dir, ports, databases, NATS nodes, Envoys; from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools import topology
from tools.launcher import nats_cluster
from tools.launcher.scale import Scale
from tools.launcher.tokens import Identity
from tools.render import envoy_config

ROOT = Path(__file__).resolve().parents[2]
# grpc's I/O for the services (the Dockerfile sets the same): its classic poller instead of the EventEngine's
# threads for served and made calls. Each message then takes one thread hop less to reach grpc.aio's loop: at c=1
# a trivial call cost the server 240 us of CPU instead of 320, the client 180 instead of 215, and took 0.44 ms
# instead of 0.54; the mesh side by side: c=1 p50 -6 to -10 %, c=32 unchanged. An operator's own GRPC_EXPERIMENTS wins.
GRPC_ENV = {"GRPC_EXPERIMENTS": "-event_engine_listener,-event_engine_client"}
# The Go runtime of each NATS node: one thread running Go code at a time. By default nats-server runs one per core,
# and on the two cores it shares with the mesh its scheduler hands work from thread to thread (waking one, spinning
# on another, presumably: what was measured is the CPU): side by side, 0.47-0.48 ms of CPU per saga with one against
# 0.56-0.59 with two (its share of a saga: 5 events published, 9 delivered). An operator's own GOMAXPROCS wins.
NATS_ENV = {"GOMAXPROCS": "1"}


@dataclass
class MeshConfig:
    """Everything that differs between `make run` and a test's private mesh."""

    data_dir: Path
    nats_port: int
    monitor_port: int
    ports: envoy_config.Ports
    database_urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    variant: envoy_config.Variant = field(default_factory=envoy_config.Variant)  # what demos and tests change
    envoy_concurrency: int = 2
    identity: Identity | None = None  # what the edge verifies; None: the development key in data_dir
    metrics_ports: dict[str, list[int]] = field(default_factory=dict)  # service -> each replica's /metrics port
    nats_nodes: list[nats_cluster.Node] = field(default_factory=list)  # a cluster; none: one node on nats_port
    admin_ports: list[int] = field(default_factory=list)  # one edge Envoy per admin port; none: one on ports.admin

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def nats(self) -> list[nats_cluster.Node]:
        return self.nats_nodes or nats_cluster.nodes([self.nats_port], [self.monitor_port])

    @property
    def envoy_admins(self) -> list[int]:
        return self.admin_ports or [self.ports.admin]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> MeshConfig:
        """envoy/mesh.toml's ports, each overridable (BNB_EDGE_PORT, ROOM_PORT, ...); BNB_DATA_DIR; ROOM_REPLICAS...;
        the scale options of tools.launcher.scale (BNB_DB, BNB_NATS_NODES, BNB_REPLICAS: node and Envoy i on
        port + i)."""
        topo, scale = topology.load(), Scale.from_env(environ)

        def port(name: str, default: int) -> int:
            return int(environ.get(name, default))

        endpoints, metrics = {}, {}
        for name, spec in topo.services.items():
            base, replicas = port(f"{name.upper()}_PORT", spec.port), port(f"{name.upper()}_REPLICAS", scale.replicas)
            endpoints[name] = [base + 100 * i for i in range(replicas)]
            metrics_base = port(f"{name.upper()}_METRICS_PORT", spec.metrics_port)
            metrics[name] = [metrics_base + 100 * i for i in range(replicas)]
        edge = envoy_config.Ports(
            port("BNB_EDGE_PORT", topo.edge_port),
            port("BNB_MESH_PORT", topo.mesh_port),
            port("BNB_ADMIN_PORT", topo.admin_port),
            endpoints,
        )
        nats = port("BNB_NATS_PORT", topo.nats_port)
        data_dir = Path(environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve()
        monitor, n = port("BNB_NATS_MONITOR_PORT", nats + 4000), scale.nats_nodes
        return cls(
            data_dir=data_dir,
            nats_port=nats,
            monitor_port=monitor,
            ports=edge,
            database_urls=scale.database_urls(list(topo.services)),
            env={k: v for k, v in environ.items() if k in ("MAX_RESERVATIONS_PER_GUEST", *GRPC_ENV, *NATS_ENV)},
            identity=Identity.from_env(data_dir, environ),
            metrics_ports=metrics,
            nats_nodes=nats_cluster.nodes([nats + i for i in range(n)], [monitor + i for i in range(n)])
            if n > 1
            else [],
            admin_ports=[edge.admin + i for i in range(scale.envoys)] if scale.envoys > 1 else [],
        )

    def nats_env(self) -> dict[str, str]:
        """What each NATS node runs with: NATS_ENV, or the operator's own."""
        return {key: self.env.get(key, value) for key, value in NATS_ENV.items()}

    def service_env(self, service: str, port: int) -> dict[str, str]:
        env = {
            "BNB_PORT": str(port),
            "BNB_DATA_DIR": str(self.data_dir),
            "BNB_NATS_URL": nats_cluster.urls(self.nats),
            "BNB_STREAM_REPLICAS": str(nats_cluster.stream_replicas(self.nats)),
            "BNB_MESH_ADDR": f"127.0.0.1:{self.ports.mesh}",
            "no_proxy": "127.0.0.1,localhost",
            **GRPC_ENV,
            **self.env,
        }
        if service in self.database_urls:
            env["BNB_DATABASE_URL"] = self.database_urls[service]
        return env
