"""`make bench`: a private mesh as `make run` starts it; event lag, saga throughput and latency, event backlog;
each figure checked against a hard target (exit status 1 when one is missed)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from dataclasses import dataclass

from bench import workloads
from tools import load
from tools.demo_mesh import Mesh, mesh_config
from tools.mesh import ROOT


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    unit: str
    at_least: bool = False  # True: the value must reach the limit; False: stay within it

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def __str__(self) -> str:
        sign, verdict = (">=" if self.at_least else "<="), ("ok" if self.met else "MISSED")
        figure = f"{self.value:>9.1f} {self.unit}"
        return f"{self.name:<36}{figure:<17}target {sign} {self.limit:g} {self.unit:<8}{verdict}"


# Measured on the 2-core machine (4 runs, other work on it too: 91-128 res/s, p50 209-296 ms, p99 1.12-1.42 s,
# lag median 54-91 ms, worst 132-209 ms, backlog 20-24 s), then set ~30% worse than the worst run.
LIMITS = {
    "saga_rate": 60,  # reservations/s
    "saga_p50_ms": 400,
    "saga_p99_ms": 1900,
    "lag_median_ms": 120,
    "lag_p99_ms": 300,  # the worst single sample of 300 is printed, not judged: one GC pause decides it
    "backlog_s": 35,  # consumers fall behind sustained sagas: the view catches up this long after the load
}


def _p(ms: list[float], q: float) -> float:
    """The q-quantile of sorted samples; infinity when there are none."""
    return ms[min(int(q * len(ms)), len(ms) - 1)] if ms else float("inf")


def _lag_line(lags: workloads.Lags, concurrency: int) -> str:
    ms = sorted(1000 * s for s in lags.seconds)
    return (
        f"event lag, {len(ms)} reservations at c={concurrency} (reply -> room view shows it confirmed and reserved):"
        f" median {load.median(ms):.1f} ms, p90 {_p(ms, 0.9):.1f} ms, p99 {_p(ms, 0.99):.1f} ms,"
        f" worst {max(ms, default=0):.1f} ms,"
        f" never seen {lags.missing}"
    )


async def _measure(mesh: Mesh, args: argparse.Namespace) -> tuple[workloads.Lags, load.Result, float]:
    await workloads.sagas(mesh.edge, 200, args.concurrency)  # warm-up: connections, consumers, caches
    await workloads.drained(mesh.cfg.nats_port)
    lags = await workloads.event_lags(mesh.edge, args.lags, args.lag_concurrency)
    await workloads.drained(mesh.cfg.nats_port)
    sagas = await workloads.sagas(mesh.edge, args.sagas, args.concurrency)
    return lags, sagas, await workloads.drained(mesh.cfg.nats_port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sagas", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lags", type=int, default=300)
    parser.add_argument("--lag-concurrency", type=int, default=4)
    args = parser.parse_args()
    base = ROOT / ".data" / "bench"
    shutil.rmtree(base, ignore_errors=True)
    with Mesh.start(mesh_config(base, envoy_concurrency=2, env={"BNB_DRAIN_SECONDS": "0"})) as mesh:
        lags, sagas, backlog_s = asyncio.run(_measure(mesh, args))
    ms = sorted(1000 * s for s in lags.seconds)
    print(load.table(f"{args.sagas} reservations through the edge (gRPC), c={args.concurrency}", [sagas]))
    print(_lag_line(lags, args.lag_concurrency))
    print(f"event backlog after the sagas: every consumer idle {backlog_s:.1f} s after the last reply")
    results = [
        Target("saga throughput", sagas.rate, LIMITS["saga_rate"], "res/s", at_least=True),
        Target("saga latency p50", sagas.percentile(0.5), LIMITS["saga_p50_ms"], "ms"),
        Target("saga latency p99", sagas.percentile(0.99), LIMITS["saga_p99_ms"], "ms"),
        Target("saga failures", sagas.failed, 0, "calls"),
        Target("event lag median (quiet mesh)", load.median(ms), LIMITS["lag_median_ms"], "ms"),
        Target("event lag p99 (quiet mesh)", _p(ms, 0.99), LIMITS["lag_p99_ms"], "ms"),
        Target("events never seen in the view", lags.missing, 0, "events"),
        Target("event backlog after the sagas", backlog_s, LIMITS["backlog_s"], "s"),
    ]
    print("\n".join(str(t) for t in results))
    missed = [t.name for t in results if not t.met]
    if missed:
        print(f"bench: missed {', '.join(missed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
