"""Envoy's upstream side: one cluster per service, with the mesh's breakers, outlier detection and health checks."""

from __future__ import annotations

from typing import Any

HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def ms(value: int) -> str:
    """Milliseconds as an Envoy duration."""
    return f"{value / 1000:g}s"


def _health_checks(hc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{
        "timeout": ms(hc["timeout_ms"]),
        "interval": ms(hc["interval_ms"]),
        "unhealthy_threshold": hc["unhealthy_threshold"],
        "healthy_threshold": hc["healthy_threshold"],
        "no_traffic_interval": ms(hc["interval_ms"]),
        "grpc_health_check": {},
    }]  # fmt: skip


def cluster(name: str, ports: list[int], policy: dict[str, Any], pool: dict[str, int], checks: bool) -> dict[str, Any]:
    """One service's cluster: its replicas, with mesh.toml's circuit breakers, outlier detection and health checks."""
    od = policy["outlier_detection"]
    http: dict[str, Any] = {"explicit_http_config": {"http2_protocol_options": {}}}
    if pool["max_requests_per_connection"]:
        http["common_http_protocol_options"] = {"max_requests_per_connection": pool["max_requests_per_connection"]}
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "0.25s",
        "lb_policy": "ROUND_ROBIN",
        "common_lb_config": {
            # Below this share of healthy hosts Envoy would route to unhealthy ones too ("panic");
            # at 0, as Istio's minHealthPercent default, an open breaker answers 503 at once instead.
            "healthy_panic_threshold": {"value": od["min_health_percent"]},
            # Envoy batches health changes for 1 s by default: a draining replica would get calls that long.
            "update_merge_window": "0s",
        },
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": HTTP_OPTIONS, **http}},
        "circuit_breakers": {"thresholds": [{
            "priority": "DEFAULT",
            "max_connections": pool["max_connections"],
            "max_pending_requests": pool["max_pending_requests"],
            "max_requests": pool["max_requests"],
            "max_retries": pool["max_retries"],
        }]},
        "outlier_detection": {
            "consecutive_5xx": od["consecutive_5xx"],
            "consecutive_gateway_failure": od["consecutive_gateway_errors"],
            "enforcing_consecutive_gateway_failure": 100,
            "interval": f"{od['interval_s']}s",
            "base_ejection_time": f"{od['base_ejection_time_s']}s",
            "max_ejection_percent": od["max_ejection_percent"],
        },
        "health_checks": _health_checks(policy["health_check"]) if checks else [],
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}
            for port in ports
        ]}]},
    }  # fmt: skip
