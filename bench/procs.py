"""CPU time and memory of process trees, read from /proc and grouped by program."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tools.launcher import local

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

Roots = dict[int, str]  # pid -> program; each root's descendants count for it unless they are roots themselves


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cpu_s: float  # utime + stime
    rss: int  # bytes


def _read(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:  # gone meanwhile
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
    return Proc(pid, int(fields[1]), (int(fields[11]) + int(fields[12])) * TICK_S, int(fields[21]) * PAGE)


def precise_cpu_s(pid: int) -> float:
    """CPU seconds of `pid`'s live threads from the scheduler's own clock (/proc/PID/task/*/schedstat, in ns).

    /proc/PID/stat's ticks are 10 ms, and only a tick that lands in a process counts for it: the loopback
    network's softirq work done in a process's context is booked to the system instead (here up to 40 % of a
    service's CPU per saga). A thread that ends meanwhile takes its time with it; a mesh's threads live as long.
    """
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # gone meanwhile
        return 0.0
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split(maxsplit=1)[0])
        except OSError:  # this thread ended meanwhile: the others still count
            pass
    return total / 1e9


def scan() -> dict[int, Proc]:
    return {p.pid: p for pid in os.listdir("/proc") if pid.isdigit() and (p := _read(int(pid)))}


def owned(roots: Roots) -> dict[int, tuple[str, Proc]]:
    """Every process of the trees under `roots`, with the program of its nearest root ancestor."""
    procs, found = scan(), {}
    for proc in procs.values():
        pid = proc.pid
        while pid not in roots and pid in procs and pid > 1:
            pid = procs[pid].ppid
        if pid in roots:
            found[proc.pid] = (roots[pid], proc)
    return found


def supervised(supervisord_pid: int, run_dir: Path) -> Roots:
    """supervisord and each of its programs (nats, envoy, room-0, ...), asked over its XML-RPC socket."""
    info = cast(
        "list[dict[str, Any]]", local.supervisor(run_dir).supervisor.getAllProcessInfo()
    )  # XML-RPC's answers are untyped
    return {supervisord_pid: "supervisord"} | {p["pid"]: p["name"] for p in info if p["pid"]}


@dataclass
class CpuMeter:
    """CPU seconds per program spent since start(), processes started meanwhile included; from /proc/PID/stat,
    or `precise`ly from the scheduler's clock (precise_cpu_s)."""

    roots: Callable[[], Roots]
    precise: bool = False
    _start: dict[int, float] | None = None

    def _cpu(self) -> dict[int, tuple[str, float]]:
        found = owned(self.roots())
        return {pid: (name, precise_cpu_s(pid) if self.precise else proc.cpu_s) for pid, (name, proc) in found.items()}

    def start(self) -> None:
        self._start = {pid: cpu for pid, (_, cpu) in self._cpu().items()}

    def stop(self) -> dict[str, float]:
        assert self._start is not None, "start() first"
        spent: dict[str, float] = defaultdict(float)
        for pid, (name, cpu) in self._cpu().items():
            spent[name] += cpu - self._start.get(pid, 0.0)
        return dict(spent)


def rss(roots: Roots) -> dict[str, int]:
    """Resident memory in bytes per program."""
    total: dict[str, int] = defaultdict(int)
    for name, proc in owned(roots).values():
        total[name] += proc.rss
    return dict(total)
