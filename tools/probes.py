"""Readiness checks: gRPC health, NATS JetStream, Envoy's view of its clusters."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def wait_until(ready: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s")
        time.sleep(interval_s)


def serving(addr: str, service: str = "") -> bool:
    try:
        with grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)]) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.read().decode()
    except OSError:
        return None


def nats_ready(monitor_port: int) -> bool:
    return _get(f"http://127.0.0.1:{monitor_port}/healthz?js-enabled-only=true") is not None


def envoy_stats(admin_port: int, prefix: str = "") -> dict[str, int]:
    """Envoy's counters and gauges whose names contain `prefix`."""
    text = _get(f"http://127.0.0.1:{admin_port}/stats?filter={prefix}") or ""
    stats = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.strip().lstrip("-").isdigit():
            stats[name] = int(value)
    return stats


def envoy_healthy(admin_port: int, cluster: str) -> int:
    """How many of the cluster's hosts Envoy would route to."""
    return envoy_stats(admin_port, f"cluster.{cluster}.membership_healthy").get(
        f"cluster.{cluster}.membership_healthy", 0
    )
