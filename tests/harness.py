"""A private mesh for tests: real NATS, real Envoy, the five services, on free ports, under supervisord."""

from __future__ import annotations

from tools.demo_mesh import Mesh, free_ports, mesh_config

__all__ = ["Mesh", "free_ports", "mesh_config"]
