"""The mesh's shape and policy, read from envoy/mesh.toml (the one source for Envoy and Istio)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MESH_TOML = Path(__file__).resolve().parent.parent / "envoy" / "mesh.toml"


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # "room"
    port: int
    metrics_port: int  # Prometheus /metrics
    public: tuple[str, ...]
    internal: tuple[str, ...]
    calls: tuple[str, ...]
    reflection: bool
    nice: int = 0  # the niceness `make run` starts it with (mesh.toml: the consumers of events yield to the rest)

    @property
    def package(self) -> str:
        return f"{self.name}_svc"


@dataclass(frozen=True)
class Auth:
    """Who the edge lets in: mesh.toml [auth]."""

    issuer: str
    audience: str
    subject_header: str
    role_header: str
    via_header: str
    public_rest: tuple[tuple[str, str], ...]  # (method, path); a path ending in "*" is a prefix
    public_grpc: tuple[str, ...]  # gRPC paths; ending in "*": a prefix

    @property
    def headers(self) -> tuple[str, ...]:
        """The headers only the mesh may set: stripped from every request that arrives at the edge."""
        return self.subject_header, self.role_header, self.via_header


@dataclass(frozen=True)
class Topology:
    edge_port: int
    mesh_port: int
    admin_port: int
    nats_port: int
    services: dict[str, ServiceSpec]
    policy: dict[str, Any]
    demo_circuit_breaker: dict[str, int]
    auth: Auth
    nats_nice: int = 0  # the niceness `make run` starts each NATS node with (mesh.toml [edge])


def load(path: Path = MESH_TOML) -> Topology:
    raw = tomllib.loads(path.read_text())
    services = {
        name: ServiceSpec(
            name=name,
            port=spec["port"],
            metrics_port=spec["metrics_port"],
            public=tuple(spec["public"]),
            internal=tuple(spec["internal"]),
            calls=tuple(spec["calls"]),
            reflection=spec.get("reflection", False),
            nice=spec.get("nice", 0),
        )
        for name, spec in raw["services"].items()
    }
    edge, auth = raw["edge"], raw["auth"]
    return Topology(
        edge_port=edge["port"],
        mesh_port=edge["mesh_port"],
        admin_port=edge["admin_port"],
        nats_port=edge["nats_port"],
        nats_nice=edge.get("nats_nice", 0),
        services=services,
        policy=raw["policy"],
        demo_circuit_breaker=raw["demo_circuit_breaker"],
        auth=Auth(
            issuer=auth["issuer"],
            audience=auth["audience"],
            subject_header=auth["subject_header"],
            role_header=auth["role_header"],
            via_header=auth["via_header"],
            public_rest=tuple(tuple(rule.split(" ", 1)) for rule in auth["public_rest"]),
            public_grpc=tuple(auth["public_grpc"]),
        ),
    )
