"""What `make bench` prints: each figure beside its ceiling and target, and the CPU per process."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from bench.overhead import Overhead
from bench.runs import Figures
from tools.demos import load

MB = 1 << 20

# Issue 8's targets, on the 2-core machine. Hard: never lowered to pass.
LIMITS = {
    "idle_mb": 500,
    "saga_p50_ms": 6,
    "saga_p99_ms": 15,
    "lag_p99_ms": 30,
    "saga_rate": 400,  # reservations/s at c=32
    "saga_ratio": 0.6,  # x the ceiling's throughput, same run
    "saga_cpu_ms": 5,
    "backlog_s": 1,
    "rest_rate": 1500,
    "rest_p99_ms": 100,
    "rest_cpu_ms": 1.2,
}


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float | None  # None: printed, not judged (PostgreSQL)
    unit: str
    at_least: bool = False  # True: the value must reach the limit; False: stay within it
    ceiling: float | None = None  # the same figure with empty handlers, same run

    @property
    def met(self) -> bool:
        if self.limit is None:
            return True
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def __str__(self) -> str:
        ceiling = "-" if self.ceiling is None else f"{self.ceiling:.2f}"
        ratio = f"{self.value / self.ceiling:.2f}" if self.ceiling else "-"
        target, verdict = "-", "-"
        if self.limit is not None:
            target, verdict = f"{'>=' if self.at_least else '<='} {self.limit:g}", "ok" if self.met else "MISSED"
        return f"{self.name:<42}{self.value:>10.2f} {self.unit:<7}{ceiling:>9}{ratio:>7}  {target:<9}{verdict}"


HEADER = f"{'figure':<42}{'measured':>10} {'unit':<7}{'ceiling':>9}{'ratio':>7}  {'target':<9}verdict"


def _p(ms: list[float], q: float) -> float:
    """The q-quantile of sorted samples; infinity when there are none (a lag never measured misses its target)."""
    return load.quantile(ms, q, empty=float("inf"))


def _per(cpu: dict[str, float] | None, n: int) -> float:
    return 1000 * sum((cpu or {}).values()) / n if n else float("inf")


def targets(mesh: Figures, bare: Figures, judged: bool) -> list[Target]:
    """Every figure; `judged`: against issue 8's targets (SQLite), else printed only (PostgreSQL)."""
    lim = LIMITS if judged else dict.fromkeys(LIMITS)
    lags = mesh.lags
    ms = sorted(1000 * s for s in lags.seconds) if lags else []
    rest = mesh.registrations
    n_rest = rest.ok if rest else 0
    rate, bare_rate = mesh.sagas.rate, bare.sagas.rate
    return [
        Target("idle memory, every process", sum(mesh.idle_rss.values()) / MB, lim["idle_mb"], "MB",
               ceiling=sum(bare.idle_rss.values()) / MB),
        Target("saga latency p50 at c=1", mesh.latency.percentile(0.5), lim["saga_p50_ms"], "ms",
               ceiling=bare.latency.percentile(0.5)),
        Target("saga latency p99 at c=1", mesh.latency.percentile(0.99), lim["saga_p99_ms"], "ms",
               ceiling=bare.latency.percentile(0.99)),
        Target("saga failures at c=1", mesh.latency.failed, 0 if judged else None, "calls"),
        Target("event lag p99 at 100/s, open loop", _p(ms, 0.99), lim["lag_p99_ms"], "ms"),
        Target("lag run: never shown or failed", (lags.missing + lags.failed) if lags else 0, 0 if judged else None,
               "res"),
        Target(f"saga throughput at c={mesh.sagas.concurrency}", rate, lim["saga_rate"], "res/s", at_least=True,
               ceiling=bare_rate),
        Target("saga throughput / ceiling", rate / bare_rate if bare_rate else 0.0, lim["saga_ratio"], "x",
               at_least=True),
        Target(f"saga failures at c={mesh.sagas.concurrency}", mesh.sagas.failed, 0 if judged else None, "calls"),
        Target("CPU per saga, every process", _per(mesh.saga_cpu, mesh.sagas.ok), lim["saga_cpu_ms"], "ms",
               ceiling=_per(bare.saga_cpu, bare.sagas.ok)),
        Target("event backlog after the sagas", mesh.backlog_s, lim["backlog_s"], "s"),
        Target("REST POST /rooms throughput", rest.rate if rest else 0.0, lim["rest_rate"], "req/s", at_least=True),
        Target("REST POST /rooms errors", rest.failed if rest else 0, 0 if judged else None, "req"),
        Target("REST POST /rooms p99", rest.p99_ms if rest else 0.0, lim["rest_p99_ms"], "ms"),
        Target("CPU per REST registration", _per(mesh.registration_cpu, n_rest), lim["rest_cpu_ms"], "ms"),
    ]  # fmt: skip


def floor(found: Figures, bare: Figures, mesh: Figures) -> list[Target]:
    """bench.floor beside the ceiling (printed, not judged): what the mesh's writes and events alone cost, and the
    mesh's throughput against it; whatever separates the two is the mesh's domain logic and plumbing."""
    n = found.sagas.concurrency
    return [
        Target(f"floor: saga throughput at c={n}", found.sagas.rate, None, "res/s", ceiling=bare.sagas.rate),
        Target("floor: saga latency p50 at c=1", found.latency.percentile(0.5), None, "ms",
               ceiling=bare.latency.percentile(0.5)),
        Target("floor: CPU per saga", _per(found.saga_cpu, found.sagas.ok), None, "ms",
               ceiling=_per(bare.saga_cpu, bare.sagas.ok)),
        Target("  mesh's saga throughput / the floor's", mesh.sagas.rate / found.sagas.rate, None, "x"),
    ]  # fmt: skip


# Issue 12's tracing budget: CPU per saga, as a fraction above the run it is compared with. Hard, like LIMITS.
TRACING_LIMITS = {"unset_over_uninstrumented": 0.03, "on_over_unset": 0.15}


def tracing(found: Overhead, judged: bool) -> list[Target]:
    """CPU per saga of the three meshes that took turns: with tracing unset against the same mesh without its
    instrumentation (no metrics recorded, no tracing), and with tracing on at 100 % sampling against unset. The
    ms are each mesh's median round; the fractions, the median of the paired rounds (Overhead.paired)."""
    bare, unset, on = (found.median(run) for run in ("uninstrumented", "unset", "traced"))
    lim = TRACING_LIMITS if judged else dict.fromkeys(TRACING_LIMITS)
    return [
        Target("CPU per saga, tracing unset (side by side)", unset, None, "ms", ceiling=bare),
        Target("  unset over uninstrumented", found.paired("unset", "uninstrumented") - 1,
               lim["unset_over_uninstrumented"], "x"),
        Target("CPU per saga, tracing on (100 % sampled)", on, None, "ms", ceiling=unset),
        Target("  tracing on over unset", found.paired("traced", "unset") - 1, lim["on_over_unset"], "x"),
    ]  # fmt: skip


def _service(program: str) -> str:
    return re.sub(r"-\d+$", "", program)


def cpu_table(title: str, columns: dict[str, tuple[dict[str, float], int]]) -> str:
    """ms of CPU per operation for each program (rows) in each run (columns: cpu seconds, operations)."""
    per: dict[str, dict[str, float]] = {}
    for name, (cpu, n) in columns.items():
        per[name] = defaultdict(float)
        for program, seconds in cpu.items():
            per[name][_service(program)] += 1000 * seconds / n if n else float("inf")
    first = next(iter(per.values()))
    programs = sorted({p for column in per.values() for p in column}, key=lambda p: -first.get(p, 0.0))
    lines = [title, f"{'process':<16}" + "".join(f"{name:>14}" for name in per)]
    for program in [*programs, "total"]:
        cells = [sum(c.values()) if program == "total" else c.get(program) for c in per.values()]
        lines.append(f"{program:<16}" + "".join(f"{'-' if v is None else f'{v:.2f}':>14}" for v in cells))
    return "\n".join(lines)


def details(mesh: Figures, bare: Figures, floor: Figures | None = None) -> str:
    """The runs behind the figures: siege-like tables, event lag, memory and CPU per process."""
    runs = [bare, *([floor] if floor else []), mesh]
    lines = [load.table("sagas through the edge (gRPC)", [r for f in runs for r in (f.latency, f.sagas)])]
    if lags := mesh.lags:
        ms = sorted(1000 * s for s in lags.seconds)
        reads = sorted(1000 * s for s in lags.reads)
        n = len(ms) + lags.missing + lags.failed
        lines.append(
            f"event lag, {n} reservations started over {lags.offered_s:.1f} s (reply -> room view shows it confirmed"
            f" and reserved): median {load.median(ms):.1f} ms, p90 {_p(ms, 0.9):.1f} ms, p99 {_p(ms, 0.99):.1f} ms,"
            f" worst {max(ms, default=0):.1f} ms; never shown {lags.missing}, failed {lags.failed}"
            + (f" {dict(lags.failures)}" if lags.failures else "")
            + f"; each of its {len(reads)} reads of the room view (the polls): median {load.median(reads):.1f} ms,"
            f" p99 {_p(reads, 0.99):.1f} ms"
        )
    lines.append(f"event backlog after the sagas: every consumer idle {mesh.backlog_s:.2f} s after the last reply")
    for f in runs:
        each = ", ".join(f"{p} {b / MB:.0f}" for p, b in sorted(f.idle_rss.items(), key=lambda kv: -kv[1]))
        lines.append(f"idle memory, {f.label}: {sum(f.idle_rss.values()) / MB:.0f} MB ({each})")
    if rest := mesh.registrations:
        lines.append(str(rest))
    columns = {f.label: (f.saga_cpu, f.sagas.ok) for f in (mesh, *runs[:-1])}
    title = f"CPU per saga, ms (from just before the {mesh.sagas.ok} sagas until every consumer was idle)"
    if lags and mesh.lag_cpu is not None:  # the open loop's reservations, not batched as c=32's are
        columns[f"{mesh.label}, lag run"] = (mesh.lag_cpu, len(lags.seconds) + lags.missing)
        title += "; the lag run: its reservations, one at a time at the paced rate, and the room view's reads"
    lines.append(cpu_table(title, columns))
    if rest and mesh.registration_cpu is not None:
        lines.append(cpu_table("CPU per REST registration, ms (until every consumer was idle)",
                               {mesh.label: (mesh.registration_cpu, rest.ok)}))  # fmt: skip
    return "\n".join(lines)
