"""Each service process on one CPU: spread by the services' weights (mesh.toml cpu_weight, [edge] pin_services).

A pinned process's event loop and grpc's poller thread wake each other on one core, whose caches hold them, where
the kernel otherwise moved them to whichever core was free (README, Performance). NATS and Envoy are not pinned.
"""

from __future__ import annotations

import os
import shutil

from tools import topology


def usable() -> list[int]:
    """The CPUs this process may run on (a container's or taskset's limit included); none when `taskset` is missing."""
    return sorted(os.sched_getaffinity(0)) if shutil.which("taskset") else []


def assign(weights: dict[str, float], cpus: list[int]) -> dict[str, int]:
    """Program -> CPU: the heaviest first, each onto the CPU with the least weight so far (the lowest of equals).
    With fewer than two CPUs nothing is pinned (there is nothing to spread)."""
    if len(cpus) < 2:
        return {}
    load = dict.fromkeys(cpus, 0.0)
    placed = {}
    for name, weight in sorted(weights.items(), key=lambda item: (-item[1], item[0])):
        cpu = min(cpus, key=lambda c: load[c])
        placed[name] = cpu
        load[cpu] += weight
    return placed


def spread(topo: topology.Topology, replicas: dict[str, int]) -> dict[str, int]:
    """Program (`<service>-<i>`) -> its CPU, when mesh.toml pins the services; a service's replicas share its weight."""
    if not topo.pin_services:
        return {}
    weights = {
        f"{service}-{i}": topo.services[service].cpu_weight / count
        for service, count in replicas.items()
        for i in range(count)
    }
    return assign(weights, usable())


def pinned(cpu: int | None) -> list[str]:
    """The words that start a program on `cpu` (`taskset` execs it, so the pid stays the program's), or none."""
    return ["taskset", "-c", str(cpu)] if cpu is not None else []
