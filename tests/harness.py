"""A private mesh for tests: real NATS, real Envoy, the five services, on free ports, under supervisord."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.demos import private_mesh as demo_mesh
from tools.demos.private_mesh import Mesh, free_ports
from tools.launcher.config import MeshConfig

__all__ = ["Mesh", "free_ports", "mesh_config"]


def mesh_config(data_dir: Path, replicas: dict[str, int] | None = None, **overrides: Any) -> MeshConfig:
    """demo_mesh.mesh_config, logging at DEBUG: tests read the per-event lines (handled, redelivered) in the logs.

    Tests book fixed dates years ahead, so that none ever falls into the past: check-in may be up to 100 years
    ahead here. The hostile-input suite's mesh (conftest.quiet_mesh) keeps the default, 730 days."""
    env = {"BNB_LOG_LEVEL": "DEBUG", "BNB_MAX_DAYS_AHEAD": "36500", **overrides.pop("env", {})}
    return demo_mesh.mesh_config(data_dir, replicas, env=env, **overrides)
