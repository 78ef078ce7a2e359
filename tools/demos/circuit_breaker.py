"""`make demo-circuit-breaker`: the original's experiment. The room cluster gets the DestinationRule numbers of
[demo_circuit_breaker] in envoy/mesh.toml; room registrations at concurrency 1, 2 and 8, siege-like results."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

from tools import topology
from tools.demos import load
from tools.demos.private_mesh import Mesh, mesh_config
from tools.launcher.config import ROOT, MeshConfig
from tools.render.envoy_config import Variant

SERVICE = "room"
OVERFLOW = ("upstream_rq_pending_overflow", "upstream_rq_active_overflow")


def config(data_dir: Path) -> MeshConfig:
    """One pending request and one request per connection for the room cluster; the rest as in mesh.toml."""
    variant = Variant(pool=topology.load().demo_circuit_breaker, pool_clusters=(SERVICE,))
    return mesh_config(data_dir, variant=variant)


def overflow(mesh: Mesh) -> int:
    """Calls Envoy's breaker turned away: it counts max_requests overflow as active, the queue's as pending."""
    stats = mesh.stats(f"cluster.{SERVICE}.upstream_rq_")
    return sum(stats.get(f"cluster.{SERVICE}.{name}", 0) for name in OVERFLOW)


async def _runs(mesh: Mesh, concurrencies: tuple[int, ...], duration_s: float, max_requests: int) -> list[load.Result]:
    results = []
    async with load.channel(mesh.edge) as channel:
        call = load.register_rooms(channel, mesh.token)
        for c in concurrencies:
            before = overflow(mesh)
            result = await load.run(call, c, duration_s, max_requests, label=f"c={c}")
            result.overflow = overflow(mesh) - before
            results.append(result)
    return results


def measure(
    mesh: Mesh, concurrencies: tuple[int, ...] = (1, 2, 8), duration_s: float = 10.0, max_requests: int = 100_000
) -> list[load.Result]:
    """One load run per concurrency, each bounded by `duration_s` and `max_requests`."""
    return asyncio.run(_runs(mesh, concurrencies, duration_s, max_requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (siege -t)")
    args = parser.parse_args()
    base = ROOT / ".data" / "demo-circuit-breaker"
    shutil.rmtree(base, ignore_errors=True)
    numbers = topology.load().demo_circuit_breaker
    with Mesh.start(config(base)) as mesh:
        results = measure(mesh, duration_s=args.seconds)
    print(load.table(f"circuit breaker on {SERVICE}: {numbers}; RegisterRoom through the edge", results))
    print(f"logs: {base}/run/logs")


if __name__ == "__main__":
    main()
