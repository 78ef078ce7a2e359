"""The drill's tables: the faults and what each cost, availability per second, the invariants, the targets."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass

from tools.demos.drill.faults import Kill
from tools.demos.drill.invariants import Check
from tools.demos.drill.target import Target
from tools.demos.drill.watch import ConsumerWatch, Stall
from tools.demos.drill.workload import Call, Ledger

COST_TARGET = 0.01  # NATS_NODES=3 REPLICAS=2: one kill costs at most 1 % of the drill's requests
DARK_TARGET_S = 2.0  # one replica: no stretch without a successful reply beyond 2 s after a kill
STALL_TARGET_S = 5.0  # three NATS nodes: losing one stops no consumer for longer


@dataclass(frozen=True)
class Cost:
    """What one fault cost: failed requests until the next fault, the longest stretch without a reservation
    answered after it, and the longest consumer stall overlapping its window."""

    kill: Kill
    failed: int
    dark_s: float
    stall: Stall | None


@dataclass
class Result:
    target: Target
    ledger: Ledger
    kills: list[Kill]
    watch: ConsumerWatch
    checks: list[Check]
    started: float
    load_ended: float
    settle_s: float
    workers: int
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load at the start and at the end

    @property
    def calls(self) -> list[Call]:
        return self.ledger.calls

    @property
    def violations(self) -> int:
        return sum(len(c.violations) for c in self.checks)

    def costs(self) -> list[Cost]:
        ends = [k.at for k in self.kills[1:]] + [self.load_ended]
        answered = sorted(c.ended for c in self.calls if c.ok and c.kind != "cancel")
        costs = []
        for kill, end in zip(self.kills, ends, strict=True):
            failed = sum(not c.ok and kill.at <= c.ended < end for c in self.calls)
            points = [kill.at, *(t for t in answered if kill.at <= t < end), end]
            dark = max((b - a for a, b in itertools.pairwise(points)), default=0.0)
            costs.append(Cost(kill, failed, dark, self.watch.longest(kill.at, end)))
        return costs

    def targets(self) -> list[tuple[str, bool | None]]:
        """Each target with whether it was met (None: it does not apply to this shape)."""
        t, total, costs = self.target, max(len(self.calls), 1), self.costs()
        worst = max(costs, key=lambda c: c.failed, default=None)
        dark = max(costs, key=lambda c: c.dark_s, default=None)
        nats = [c for c in costs if c.kill.kind == "nats"]
        stall = max((c.stall.seconds for c in nats if c.stall), default=0.0)
        full = t.replicas >= 2 and len(t.admins) >= 2 and len(t.nats_programs) >= 3
        return [
            (f"0 invariant violations: {self.violations}", self.violations == 0),
            (f"one kill costs <= 1 % of requests (NATS_NODES=3 REPLICAS=2): worst {worst.failed if worst else 0} of"
             f" {total} = {100 * (worst.failed if worst else 0) / total:.2f} % ({worst.kill.what if worst else '-'})",
             (worst is None or worst.failed <= COST_TARGET * total) if full else None),
            (f"one replica: no stretch without a successful reservation beyond {DARK_TARGET_S:.0f} s after a kill:"
             f" longest {dark.dark_s if dark else 0:.2f} s ({dark.kill.what if dark else '-'})",
             (dark is None or dark.dark_s <= DARK_TARGET_S) if t.replicas == 1 else None),
            (f"a NATS node of three lost stops no consumer > {STALL_TARGET_S:.0f} s: longest {stall:.2f} s;"
             f" no event lost: {'see the invariants' if self.violations else 'none'}",
             (stall <= STALL_TARGET_S and self.violations == 0) if len(t.nats_programs) >= 3 else None),
        ]  # fmt: skip

    @property
    def missed(self) -> bool:
        return any(met is False for _, met in self.targets())


def render(r: Result) -> str:
    kinds = Counter(c.kind for c in r.calls)
    failed = sum(not c.ok for c in r.calls)
    lines = [
        f"drill on {r.target.shape()}",
        f"load: {r.workers} guests in parallel for {r.load_ended - r.started:.0f} s: {len(r.calls)} requests"
        f" ({kinds['reserve']} reservations, {kinds['conflict']} for nights already taken, {kinds['cancel']}"
        f" cancellations), {failed} failed ({100 * failed / max(len(r.calls), 1):.2f} %);"
        f" {len(r.ledger.accepted)} accepted, {len(r.ledger.cancelled)} cancelled; settled {r.settle_s:.1f} s after",
        f"machine: {os.cpu_count()} cores, load average {r.load_average[0]:.1f} at the start,"
        f" {r.load_average[1]:.1f} at the end (whatever else runs on it competes with the mesh)",
        "",
        *_faults(r),
        "",
        *_seconds(r),
        "",
        *_invariants(r.checks),
        "",
        "targets:",
        *(f"  {'n/a   ' if met is None else 'met   ' if met else 'MISSED'}  {text}" for text, met in r.targets()),
    ]
    return "\n".join(lines)


def _faults(r: Result) -> list[str]:
    total = max(len(r.calls), 1)
    head = f"{'t s':>6}  {'fault':<34}{'failed':>7}{'% of all':>9}{'dark s':>8}{'stall s':>9}  detail"
    rows = [
        f"{c.kill.at - r.started:>6.1f}  {c.kill.what:<34}{c.failed:>7}{100 * c.failed / total:>9.2f}{c.dark_s:>8.2f}"
        f"{c.stall.seconds if c.stall else 0:>9.2f}  {c.kill.detail}"
        + (f"; stall: {c.stall.consumer}" if c.stall else "")
        + _elections(r, c)
        for c in r.costs()
    ]
    note = ("dark s: the longest stretch after the fault without a reservation answered; stall s: the longest a"
            " consumer had events waiting and made no progress (or could not be seen)")  # fmt: skip
    return ["faults (each one's cost until the next):", head, "-" * len(head), *rows, note]


def _elections(r: Result, cost: Cost) -> str:
    if cost.kill.kind != "nats" or len(r.target.nats_programs) < 2:
        return ""
    end = min([k.at for k in r.kills if k.at > cost.kill.at], default=r.load_ended)
    n, last = r.watch.elected(cost.kill.at, end)
    return f"; {n} consumers seen with a new leader, the last {last:.1f} s after the kill" if n else ""


def _seconds(r: Result) -> list[str]:
    seconds = int(r.load_ended - r.started) + 1
    ok, bad = [0] * seconds, [0] * seconds
    for c in r.calls:
        (ok if c.ok else bad)[min(int(c.ended - r.started), seconds - 1)] += 1
    faults = {int(k.at - r.started): k.what for k in r.kills}
    head = f"{'s':>4}{'ok':>6}{'failed':>8}{'avail %':>9}  "
    rows = []
    for s in range(seconds):
        n = ok[s] + bad[s]
        avail = 100 * ok[s] / n if n else 0.0
        bar = "#" * round(avail / 5)
        rows.append(f"{s:>4}{ok[s]:>6}{bad[s]:>8}{avail:>9.1f}  {bar:<20}  {faults.get(s, '')}".rstrip())
    return ["availability per second (by when each request ended):", head + "fault", "-" * 60, *rows]


def _invariants(checks: list[Check]) -> list[str]:
    head = f"{'invariant':<88}{'checked':>8}{'violations':>11}  result"
    rows = [head, "-" * len(head)]
    for c in checks:
        rows.append(f"{c.name:<88}{c.checked:>8}{len(c.violations):>11}  {'OK' if not c.violations else 'VIOLATED'}")
        rows += [f"    {v}" for v in c.violations[:5]]
    return ["invariants:", *rows]
