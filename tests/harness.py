"""A private mesh for tests: real NATS, real Envoy, the five services, on free ports, under supervisord."""

from __future__ import annotations

from pathlib import Path

from tools import demo_mesh
from tools.demo_mesh import Mesh, free_ports

__all__ = ["Mesh", "free_ports", "mesh_config"]


def mesh_config(data_dir: Path, replicas: dict[str, int] | None = None, **overrides: object) -> demo_mesh.MeshConfig:
    """demo_mesh.mesh_config, logging at DEBUG: tests read the per-event lines (handled, redelivered) in the logs."""
    env = {"BNB_LOG_LEVEL": "DEBUG", **overrides.pop("env", {})}  # type: ignore[dict-item]
    return demo_mesh.mesh_config(data_dir, replicas, env=env, **overrides)
