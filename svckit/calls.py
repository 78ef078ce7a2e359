"""Synchronous calls through Envoy's mesh listener: the caller's deadline passed on, retries left to the mesh."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from svckit import grpcmetrics, grpctracing
from svckit.caller import Context

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]
MARGIN_S = 0.05  # left to the caller to undo its work when a dependency runs out of time
MIN_CALL_S = 0.01


class Deadline:
    """An absolute point in time; every call made for one request shares it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    @classmethod
    def of(cls, context: Context, default_s: float) -> Deadline:
        """The incoming call's deadline less a margin, or `default_s` when the caller set none."""
        remaining = context.time_remaining()
        if remaining is None or remaining > 1e6:
            return cls(default_s)
        return cls(max(remaining - MARGIN_S, 0.0))

    def remaining(self) -> float:
        return self.at - time.monotonic()


RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


def channel(addr: str) -> grpc.aio.Channel:
    """One channel to the mesh listener per process; `no_proxy`-proof (no HTTP proxy for loopback).

    A lost connection (an Envoy restarted) is dialled again within 100-500 ms instead of gRPC's default backoff
    of 1 s growing to 2 min, which would keep a service cut off long after a new Envoy listens.
    """
    options = [("grpc.enable_http_proxy", 0), *RECONNECT]
    return grpc.aio.insecure_channel(addr, options=options)


def overloaded(exc: grpc.aio.AioRpcError) -> bool:
    """Envoy's circuit breaker answered: retrying would only add to the overload."""
    metadata = list(exc.trailing_metadata() or ()) + list(exc.initial_metadata() or ())
    return any(key == "x-envoy-overloaded" for key, _ in metadata)


async def call(rpc: Callable[..., Awaitable[T]], request: object, deadline: Deadline, metadata: Metadata = ()) -> T:
    """Call `rpc` once with what is left of `deadline` (and `metadata`: svckit.caller.on_behalf_of).

    Retries are the mesh's alone (Envoy's route retry policy, Istio's VirtualService in a cluster): a client
    layer on top would multiply the attempts under overload. Raises grpc.aio.AioRpcError; DEADLINE_EXCEEDED,
    without calling, when the deadline is already spent. Counted and timed by method and status (svckit.metrics),
    and traced as a CLIENT span when tracing is on (svckit.grpctracing).
    """
    remaining = deadline.remaining()
    if remaining < MIN_CALL_S:
        raise DeadlineSpent()
    with grpctracing.client(grpcmetrics.method_of(rpc)) as traced:  # a CLIENT span, its traceparent as metadata
        return await grpcmetrics.client_call(rpc, request, timeout=remaining, metadata=(*metadata, *traced))


class DeadlineSpent(grpc.aio.AioRpcError):
    """Raised before calling when nothing of the deadline is left."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), details="deadline spent"
        )
