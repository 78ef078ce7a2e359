"""Issue 12's budget: the mesh without its instrumentation, with it (tracing unset), and traced at 100 %, side by side.

The three meshes run at once and take turns, round after round, each round's order reversed from the last. A
round's CPU per saga moves with the machine (it is shared: one mesh's rounds ranged 10-20 ms in one run), and
moves for all of a mesh's processes at once, Envoy and NATS included. So each mesh is compared with the one
whose turn came right before or after it, round by round: the figure is the median of those paired ratios, with
a distribution-free 90 % interval for it (from the order statistics of the ratios; no assumed distribution).
A round's CPU is read from the scheduler's ns clock (procs.precise_cpu_s): in 10 ms ticks, a round's 2 s of CPU
over eight processes is only good to about 1.5 %, half the budget being measured.
"""

from __future__ import annotations

import asyncio
import functools
import math
import statistics
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs, runs, sink, workloads
from tools.demos.private_mesh import Mesh, mesh_config

RUNS = ("uninstrumented", "unset", "traced")  # in turn: unset's neighbours are the two it is compared with
_Z90 = statistics.NormalDist().inv_cdf(0.95)


@dataclass
class Overhead:
    """CPU per saga (ms, every process of the mesh) of each round, per run."""

    rounds: dict[str, list[float]]
    sagas: int  # per round
    spans: int  # what the traced mesh's sink received
    sets: int = 1  # of three meshes, each started afresh for its share of the rounds

    def median(self, run: str) -> float:
        return statistics.median(self.rounds[run])

    def ratios(self, run: str, against: str) -> list[float]:
        return sorted(a / b for a, b in zip(self.rounds[run], self.rounds[against], strict=True))

    def paired(self, run: str, against: str) -> float:
        """The median over the rounds of `run`'s CPU per saga over `against`'s."""
        return statistics.median(self.ratios(run, against))

    def interval(self, run: str, against: str) -> tuple[float, float]:
        """A 90 % confidence interval for paired(): the ratios ranked n/2 -/+ z(0.95) * sqrt(n)/2 from the
        binomial's normal approximation (of 9 rounds, the 2nd and 8th; of 30, the 10th and 21st)."""
        ratios = self.ratios(run, against)
        n, half = len(ratios), _Z90 * math.sqrt(len(ratios)) / 2
        return ratios[max(0, math.floor(n / 2 - half) - 1)], ratios[min(n - 1, math.ceil(n / 2 + half))]

    def __str__(self) -> str:
        lines = [
            f"instrumentation overhead: {len(self.rounds[RUNS[0]])} rounds of {self.sagas} sagas at c=32 per mesh"
            f" in {self.sets} sets,"
            f" taking turns (CPU per saga, ms, every process, scheduler's clock);"
            f" the traced mesh's sink received {self.spans} spans"
        ]
        for run, values in self.rounds.items():
            lines.append(f"  {run:<15} median {self.median(run):6.2f}   rounds " + " ".join(f"{v:.2f}" for v in values))
        for run, against in (("unset", "uninstrumented"), ("traced", "unset")):
            low, high = self.interval(run, against)
            lines.append(
                f"  {run} over {against}: median of the paired rounds {self.paired(run, against) - 1:+.1%}"
                f" (90 % interval {low - 1:+.1%} to {high - 1:+.1%}); ratio of the medians"
                f" {self.median(run) / self.median(against) - 1:+.1%}"
            )
        return "\n".join(lines)  # fmt: skip


async def _round(mesh: Mesh, n: int) -> float:
    """CPU per saga from the first reservation (the round's rooms registered and their events handled) until every
    consumer is idle again."""
    roots = functools.partial(procs.supervised, mesh.process.pid, mesh.cfg.run_dir)
    subject = runs.Subject("overhead", mesh.edge, mesh.cfg.nats_port, roots, full=False, mint=mesh.token)
    result, cpu, _ = await runs.metered_sagas(subject, n, 32, precise=True)
    return 1000 * sum(cpu.values()) / max(result.ok, 1)


def measure(base: Path, rounds: int, sagas: int, warmup: int, sets: int = 4) -> Overhead:
    """`rounds` rounds of `sagas` sagas on each of the three meshes, over `sets` sets of them started afresh
    (each set its share of the rounds): a set of meshes carries a bias of its own that no number of rounds
    averages out (two identical meshes differed by -2.6 to +2.0 % from set to set; their processes' hash seeds and
    memory layout, presumably), so it is averaged over sets instead."""
    with sink.sink() as (received, endpoint):
        found: dict[str, list[float]] = {run: [] for run in RUNS}
        for i in range(sets):
            share = rounds * (i + 1) // sets - rounds * i // sets
            for run, values in _one_set(base / f"set{i}", endpoint, share, sagas, warmup).items():
                found[run] += values
        return Overhead(found, sagas, received.spans, sets)


def _one_set(base: Path, endpoint: str, rounds: int, sagas: int, warmup: int) -> dict[str, list[float]]:
    """Start the three meshes (on SQLite: at once, they would need three sets of PostgreSQL databases), warm each
    up, then `rounds` rounds of `sagas` sagas on each, in turns."""
    env: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
        "uninstrumented": ({}, {"metrics_ports": {}}),  # no /metrics: nothing recorded; no tracing
        "unset": ({}, {}),
        "traced": ({"BNB_OTLP_ENDPOINT": endpoint}, {}),
    }
    with ExitStack() as stack:
        meshes: dict[str, Mesh] = {}
        for run in RUNS:
            extra_env, fields = env[run]
            cfg = mesh_config(base / run, envoy_concurrency=2, env={"BNB_DRAIN_SECONDS": "0", **extra_env}, **fields)
            meshes[run] = stack.enter_context(Mesh.start(cfg))
        print(f"bench: instrumentation overhead, {', '.join(RUNS)} side by side ({base.name})", flush=True)

        async def turns() -> dict[str, list[float]]:
            for mesh in meshes.values():
                await workloads.sagas(mesh.edge, warmup, 32, mesh.token)
            found: dict[str, list[float]] = {run: [] for run in RUNS}
            for i in range(rounds):
                for run in RUNS if i % 2 == 0 else RUNS[::-1]:
                    found[run].append(await _round(meshes[run], sagas))
            return found

        return asyncio.run(turns())
