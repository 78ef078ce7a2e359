"""`make demo-self-healing`: kill -9 a room replica under load; supervisord restarts it, Envoy routes to it
again once its health check passes. Reports availability and the time to recover."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tools.demos import load
from tools.demos.private_mesh import Mesh, mesh_config
from tools.launcher import probes
from tools.launcher.config import ROOT, MeshConfig
from tools.launcher.rollout import Target

SERVICE = "room"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Recovery:
    """Seconds from the kill until supervisord had a new process, it answered SERVING, Envoy routed to it."""

    program: str
    old_pid: int
    new_pid: int
    restarted_s: float
    serving_s: float
    routed_s: float

    def __str__(self) -> str:
        return (
            f"{self.program}: kill -9 pid {self.old_pid}; new pid {self.new_pid} after {self.restarted_s:.2f}s,"
            f" SERVING after {self.serving_s:.2f}s, Envoy routing to it after {self.routed_s:.2f}s"
        )


def config(data_dir: Path, replicas: int = 3) -> MeshConfig:
    return mesh_config(data_dir, replicas={SERVICE: replicas})


def kill_and_watch(mesh: Mesh, index: int) -> Recovery:
    """kill -9 one replica (a child of the mesh's own supervisord) and time its way back into Envoy."""
    program, port = f"svc:{SERVICE}-{index}", mesh.cfg.ports.endpoints[SERVICE][index]
    supervisor = Target.of(mesh.cfg.run_dir, SERVICE).supervisor().supervisor

    def pid() -> int:
        info = cast("dict[str, Any]", supervisor.getProcessInfo(program))  # XML-RPC's answers are untyped
        return int(info["pid"])  # 0 while not running

    old = pid()
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    probes.wait_until(lambda: pid() not in (0, old), TIMEOUT_S, f"{program} restarted")
    restarted = time.monotonic() - t0
    probes.wait_until(lambda: probes.serving(f"127.0.0.1:{port}"), TIMEOUT_S, f"{program} SERVING")
    serving = time.monotonic() - t0
    probes.wait_until(lambda: mesh.hosts(SERVICE).get(port) == "healthy", TIMEOUT_S, f"Envoy routing to {program}")
    return Recovery(program, old, pid(), restarted, serving, time.monotonic() - t0)


async def _under_load(mesh: Mesh, index: int, concurrency: int, label: str) -> tuple[load.Result, Recovery]:
    stop = asyncio.Event()
    async with load.channel(mesh.edge) as channel:
        call = load.register_rooms(channel, mesh.token)
        running = asyncio.create_task(load.run(call, concurrency, TIMEOUT_S, stop=stop, label=label))
        try:
            await asyncio.sleep(0.5)  # the kill lands in a steady stream of calls
            recovery = await asyncio.to_thread(kill_and_watch, mesh, index)
            await asyncio.sleep(0.5)  # and the stream goes on after it
        finally:
            stop.set()
        return await running, recovery


def measure(mesh: Mesh, index: int = 1, concurrency: int = 4, label: str = "") -> tuple[load.Result, Recovery]:
    """Room registrations through the edge while replica `index` is killed and comes back."""
    return asyncio.run(_under_load(mesh, index, concurrency, label or f"kill -9 {SERVICE}-{index}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    base = ROOT / ".data" / "demo-self-healing"
    shutil.rmtree(base, ignore_errors=True)
    results, notes = [], []
    with Mesh.start(config(base / "three")) as mesh:
        for index in (1, 2):
            result, recovery = measure(mesh, index, args.concurrency, f"3 replicas, kill {SERVICE}-{index}")
            results.append(result)
            notes.append(f"  {recovery}")
    with Mesh.start(config(base / "one", replicas=1)) as mesh:
        result, recovery = measure(mesh, 0, args.concurrency, f"1 replica, kill {SERVICE}-0")
        results.append(result)
        notes.append(f"  {recovery}")
    print(load.table(f"self-healing under RegisterRoom load through the edge, c={args.concurrency}", results))
    print("\n".join(notes))
    print(f"logs: {base}/*/run/logs")


if __name__ == "__main__":
    main()
