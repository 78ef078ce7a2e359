"""A small siege-like load generator over grpc.aio: bounded in time and count, it stops by itself.

The edge verifies a JWT on every call that is not a public read: a load sends one, minted once per identity
before it starts (a mint loads the key and signs; the edge caches the tokens it verified).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from bnb.room.v1 import room_pb2, room_pb2_grpc

CALL_TIMEOUT_S = 5.0  # no request of a load can hang


@dataclass
class Result:
    """One run, as siege reports it, plus what Envoy counted (`overflow`) and the failures by gRPC code."""

    label: str
    concurrency: int
    ok: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    failure_latencies_ms: list[float] = field(default_factory=list)
    details: Counter[str] = field(default_factory=Counter)  # "CODE: message" of the failures
    overflow: int | None = None

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def availability(self) -> float:
        total = self.ok + self.failed
        return 100.0 * self.ok / total if total else 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float, failures: bool = False) -> float:
        return quantile(sorted(self.failure_latencies_ms if failures else self.latencies_ms), q)


Call = Callable[[int], Awaitable[object]]
Mint = Callable[[str, str], str]  # (subject, role) -> a token the edge accepts: Mesh.token, Ceiling.token
Metadata = tuple[tuple[str, str], ...]


def bearer(token: str) -> Metadata:
    """The gRPC metadata that carries `token`."""
    return (("authorization", f"Bearer {token}"),)


async def run(
    call: Call, concurrency: int, duration_s: float, max_requests: int = 1_000_000, stop: asyncio.Event | None = None,
    label: str = "",
) -> Result:  # fmt: skip
    """`concurrency` workers call `call(i)` back to back until `duration_s`, `max_requests` or `stop`."""
    result = Result(label, concurrency)
    stop = stop or asyncio.Event()
    started = time.monotonic()
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while not stop.is_set() and sent < max_requests and time.monotonic() - started < duration_s:
            i, sent = sent, sent + 1
            t0 = time.perf_counter()
            try:
                await call(i)
            except grpc.aio.AioRpcError as exc:
                result.failures[exc.code().name] += 1
                result.details[f"{exc.code().name}: {_reason(exc.details() or '')}"] += 1
                result.failure_latencies_ms.append(1000 * (time.perf_counter() - t0))
            else:
                result.ok += 1
                result.latencies_ms.append(1000 * (time.perf_counter() - t0))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.monotonic() - started
    return result


def _reason(details: str) -> str:
    """Envoy's own replies at the edge are JSON (for REST clients): keep its short reason."""
    try:
        return str(json.loads(details)["details"])
    except (ValueError, KeyError, TypeError):
        return details


def channel(edge: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(edge, options=[("grpc.enable_http_proxy", 0)])


def register_rooms(ch: grpc.aio.Channel, mint: Mint) -> Call:
    """The original's siege target: register a room (POST /rooms), here as gRPC through the edge, by one host
    whose token is minted here, once."""
    stub = room_pb2_grpc.RoomServiceStub(ch)
    host = f"siege-{uuid.uuid4().hex[:8]}"
    auth = bearer(mint(host, "host"))

    async def call(i: int) -> object:
        request = room_pb2.RegisterRoomRequest(host_id=host, description=f"Beautiful House {i}", price_per_night=100)
        return await stub.RegisterRoom(request, metadata=auth, timeout=CALL_TIMEOUT_S)

    return call


HEADER = (
    f"{'run':<28}{'conc':>5}{'trans':>8}{'failed':>8}{'avail %':>9}{'elapsed s':>11}{'trans/s':>9}"
    f"{'p50 ms':>8}{'p99 ms':>8}{'fail p50 ms':>13}{'overflow':>10}"
)


def row(r: Result) -> str:
    overflow = "-" if r.overflow is None else str(r.overflow)
    fail_p50 = f"{r.percentile(0.5, failures=True):.1f}" if r.failed else "-"
    return (
        f"{r.label:<28}{r.concurrency:>5}{r.ok:>8}{r.failed:>8}{r.availability:>9.2f}{r.elapsed_s:>11.2f}"
        f"{r.rate:>9.1f}{r.percentile(0.5):>8.1f}{r.percentile(0.99):>8.1f}{fail_p50:>13}{overflow:>10}"
    )


def table(title: str, results: list[Result]) -> str:
    """A siege-like table, one line per run; below it the failures by gRPC code and the commonest messages."""
    lines = [title, HEADER, "-" * len(HEADER), *(row(r) for r in results)]
    for r in results:
        if r.failures:
            lines.append(f"  {r.label}: failures {dict(r.failures)}")
            lines += [f"    {n} x {detail[:110]}" for detail, n in r.details.most_common(3)]
    return "\n".join(lines)


def quantile(ordered: list[float], q: float, empty: float = 0.0) -> float:
    """The q-quantile of sorted samples (the nearest rank below); `empty` when there are none."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else empty


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
