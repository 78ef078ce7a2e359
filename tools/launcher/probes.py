"""Readiness checks: gRPC health, NATS JetStream, Envoy's view of its clusters."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def wait_until(ready: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s")
        time.sleep(interval_s)


def serving(addr: str, service: str = "") -> bool:
    try:
        with grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)]) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service=service)
            # types-grpcio-health-checking's HealthStub declares no methods
            reply: health_pb2.HealthCheckResponse = stub.Check(request, timeout=1)  # type: ignore[attr-defined]
            return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def _get(url: str) -> str | None:
    try:
        with _DIRECT.open(url, timeout=1) as response:
            body: bytes = response.read()
            return body.decode()
    except OSError:
        return None


def admin_post(admin_port: int, path: str) -> str:
    """POST to Envoy's admin, e.g. admin_post(9901, "/runtime_modify?key=1")."""
    request = urllib.request.Request(f"http://127.0.0.1:{admin_port}{path}", data=b"", method="POST")
    with _DIRECT.open(request, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


def nats_ready(monitor_port: int, cluster: bool = False) -> bool:
    """JetStream is on; in a `cluster`, the node also knows the meta leader and its streams are current."""
    query = "" if cluster else "?js-enabled-only=true"
    return _get(f"http://127.0.0.1:{monitor_port}/healthz{query}") is not None


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


def envoy_sees(admin_port: int, cluster: str, wanted: int) -> bool:
    """Whether Envoy would route to at least `wanted` of the cluster's hosts."""
    return envoy_healthy(admin_port, cluster) >= wanted


def envoy_hosts(admin_port: int, cluster: str) -> dict[int, str]:
    """Each replica port of `cluster` with Envoy's health flags for it: "healthy", "/failed_active_hc", ..."""
    hosts = {}
    for line in (_get(f"http://127.0.0.1:{admin_port}/clusters") or "").splitlines():
        name, _, rest = line.partition("::")
        if name == cluster and "::health_flags::" in rest:
            address, _, flags = rest.partition("::health_flags::")
            hosts[int(address.rpartition(":")[2])] = flags
    return hosts
