"""One measured sequence on a running mesh (or on the ceiling): memory, latency, event lag, throughput, CPU, REST."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bench import procs, rest, workloads
from tools.demos import load

T = TypeVar("T")


@dataclass
class Figures:
    """What one sequence measured; CPU in seconds per program over the load and the events it caused."""

    label: str
    idle_rss: dict[str, int]
    latency: load.Result  # c=1
    sagas: load.Result  # c=args.concurrency
    saga_cpu: dict[str, float]
    backlog_s: float
    lags: workloads.Lags | None = None
    registrations: rest.Result | None = None  # REST POST /rooms
    registration_cpu: dict[str, float] | None = None
    lag_cpu: dict[str, float] | None = None  # over the lag run: its reservations at the paced rate, and their reads


@dataclass
class Subject:
    """Where a sequence runs: its edge, its NATS, the process trees whose CPU and memory count, and the tokens
    its edge accepts (each edge verifies against the key of its own data dir)."""

    label: str
    edge: str
    nats_port: int
    roots: Callable[[], procs.Roots]
    full: bool  # the real mesh: event lag and REST too; the ceiling has no consumers and measures the saga only
    mint: load.Mint  # Mesh.token, Ceiling.token

    async def drained(self) -> float:
        return await workloads.drained(self.nats_port)


async def metered(
    t: Subject, work: Callable[[workloads.Ready], Awaitable[T]], precise: bool = False
) -> tuple[T, dict[str, float], float]:
    """`work(ready)` with CPU metered (procs.CpuMeter) from when it awaits `ready` (its rooms registered, events
    drained) until every consumer is idle; and the event backlog: seconds from its end until then."""
    meter = procs.CpuMeter(t.roots, precise)

    async def ready() -> None:
        await t.drained()
        meter.start()

    result = await work(ready)
    backlog_s = await t.drained()
    return result, meter.stop(), backlog_s


async def metered_sagas(
    t: Subject, n: int, concurrency: int, precise: bool = False
) -> tuple[load.Result, dict[str, float], float]:
    """The sagas, metered from just before the first (see metered)."""
    return await metered(t, lambda ready: workloads.sagas(t.edge, n, concurrency, t.mint, ready), precise)


async def _metered_rest(t: Subject, args: argparse.Namespace, tool: str) -> tuple[rest.Result, dict[str, float]]:
    token = t.mint(workloads.HOST, "host")  # one host registers every room
    await t.drained()
    meter = procs.CpuMeter(t.roots)
    meter.start()
    result = await asyncio.to_thread(rest.post_rooms, t.edge, args.rest_concurrency, args.rest_seconds, tool, token)
    await t.drained()
    return result, meter.stop()


async def measure(t: Subject, args: argparse.Namespace, tool: str) -> Figures:
    """Idle memory; warm-up; c=1 latency; (open-loop event lag); metered sagas at c=N; (metered REST)."""
    await t.drained()
    idle_rss = procs.rss(t.roots())
    print(f"{t.label}: up; warm-up ({args.warmup} sagas)", flush=True)
    await workloads.sagas(t.edge, args.warmup, args.concurrency, t.mint)  # connections, consumers, caches
    await t.drained()
    print(f"{t.label}: latency, {args.latency_sagas} sagas at c=1", flush=True)
    latency = await workloads.sagas(t.edge, args.latency_sagas, 1, t.mint)
    latency.label = f"{t.label} c=1"
    lags = lag_cpu = None
    if t.full:
        await t.drained()
        print(f"{t.label}: event lag, {args.lag_rate:g}/s open loop for {args.lag_seconds:g} s", flush=True)
        lags, lag_cpu, _ = await metered(
            t, lambda ready: workloads.paced_lags(t.edge, args.lag_rate, args.lag_seconds, t.mint, ready)
        )
    print(f"{t.label}: throughput, {args.sagas} sagas at c={args.concurrency}", flush=True)
    sagas, cpu, backlog_s = await metered_sagas(t, args.sagas, args.concurrency)
    sagas.label = f"{t.label} c={args.concurrency}"
    figures = Figures(t.label, idle_rss, latency, sagas, cpu, backlog_s, lags, lag_cpu=lag_cpu)
    if t.full:
        print(f"{t.label}: REST POST /rooms at c={args.rest_concurrency} for {args.rest_seconds} s", flush=True)
        figures.registrations, figures.registration_cpu = await _metered_rest(t, args, tool)
    return figures
