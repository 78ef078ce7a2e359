"""`make demo-rollout`: room registrations under load while room's replicas restart one by one, with and
without the graceful drain; availability per run (the original saw 87% without a readiness probe)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

from tools.demos import load
from tools.demos.private_mesh import Mesh, mesh_config
from tools.launcher.config import ROOT, MeshConfig
from tools.launcher.rollout import Step, Target, rollout
from tools.render.envoy_config import Variant

SERVICE = "room"
MAX_LOAD_S = 120.0  # the load stops when the rollout is done; this bounds it if the rollout hangs


def config(data_dir: Path, drain: bool = True, readiness: bool = True, replicas: int = 3) -> MeshConfig:
    """`drain` off: a replica stops the moment it gets SIGTERM, while Envoy still routes to it until its next
    health check. `readiness` off: Envoy has no health checks at all, as a Deployment without readinessProbe."""
    env = {"BNB_DRAIN_SECONDS": "1.5" if drain else "0"}  # 1.5 s: three health checks, one may be slow
    return mesh_config(data_dir, replicas={SERVICE: replicas}, env=env, variant=Variant(health_checks=readiness))


async def _under_load(mesh: Mesh, graceful: bool, concurrency: int, label: str) -> tuple[load.Result, list[Step]]:
    target = Target.of(mesh.cfg.run_dir, SERVICE)
    stop = asyncio.Event()
    async with load.channel(mesh.edge) as channel:
        running = asyncio.create_task(
            load.run(load.register_rooms(channel, mesh.token), concurrency, MAX_LOAD_S, stop=stop, label=label)
        )
        try:
            steps = await asyncio.to_thread(rollout, target, graceful, lambda line: None)
        finally:
            stop.set()
        return await running, steps


def measure(mesh: Mesh, graceful: bool, concurrency: int = 4, label: str = "") -> tuple[load.Result, list[Step]]:
    """Availability of room registrations through the edge while `rollout` restarts every room replica."""
    return asyncio.run(_under_load(mesh, graceful, concurrency, label))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    base = ROOT / ".data" / "demo-rollout"
    shutil.rmtree(base, ignore_errors=True)
    results, notes = [], []
    with Mesh.start(config(base / "drain", drain=True)) as mesh:
        result, steps = measure(mesh, True, args.concurrency, "graceful drain")
        results.append(result)
        notes += [f"  graceful: {s}" for s in steps]
    with Mesh.start(config(base / "no-drain", drain=False)) as mesh:
        results.append(measure(mesh, True, args.concurrency, "no drain")[0])
    with Mesh.start(config(base / "no-readiness", drain=False, readiness=False)) as mesh:
        results.append(measure(mesh, False, args.concurrency, "no drain, no readiness")[0])
    title = f"rollout of {SERVICE} (3 replicas) under RegisterRoom load through the edge, c={args.concurrency}"
    print(load.table(title, results))
    print("\n".join(notes))
    print(f"logs: {base}/*/run/logs")


if __name__ == "__main__":
    main()
