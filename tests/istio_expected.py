"""What envoy/mesh.toml (through tools.topology) and the local Envoy it renders say istio/ must contain."""

from __future__ import annotations

from typing import Any

from svckit.server import STOP_GRACE_S
from tests.istio_manifests import GATEWAY_SA, ROOT, host, principal
from tools import topology
from tools.launcher.tokens import Identity
from tools.render import envoy_config
from tools.render.envoy_config import EDGE_TIMEOUT_S

TOPO = topology.load()
DESCRIPTOR_SET = ROOT / "envoy" / "bnb.pb"
_PORTS = envoy_config.Ports(
    TOPO.edge_port, TOPO.mesh_port, TOPO.admin_port, {name: [spec.port] for name, spec in TOPO.services.items()}
)
ENVOY = envoy_config.render(
    TOPO, _PORTS, str(DESCRIPTOR_SET), Identity(TOPO.auth.issuer, TOPO.auth.audience, "jwks.json")
)
REFLECTION = {"/grpc.reflection.v1alpha.ServerReflection/*", "/grpc.reflection.v1.ServerReflection/*"}
# The reflecting service also answers for the edge's gRPC health, as at the local edge.
HEALTH = {"/grpc.health.v1.Health/*"}
# Settings whose local default (loopback, SQLite, one replica, the repo's path...) would be wrong in the cluster.
CLUSTER_SETTINGS = {
    "BNB_PORT", "BNB_BIND_HOST", "BNB_DATABASE_URL", "BNB_NATS_URL", "BNB_STREAM_REPLICAS", "BNB_DRAIN_SECONDS",
    "BNB_DESCRIPTOR_SET", "BNB_METRICS_PORT",
}  # fmt: skip


def envoy_hcm(listener: str) -> dict[str, Any]:
    [chosen] = [x for x in ENVOY["static_resources"]["listeners"] if x["name"] == listener]
    return chosen["filter_chains"][0]["filters"][0]["typed_config"]


def envoy_routes(listener: str, keyed: bool = False) -> dict[str, dict[str, Any]]:
    """Route prefix -> route action of a local Envoy listener (its 404 catch-all left out): of the routes matching
    no header, or (`keyed`) of those for calls with an idempotency key."""
    routes = envoy_hcm(listener)["route_config"]["virtual_hosts"][0]["routes"]
    return {r["match"]["prefix"]: r["route"] for r in routes if "route" in r and ("headers" in r["match"]) == keyed}


# mesh.toml's keys -> DestinationRule fields; a key added to mesh.toml and not here fails the test (KeyError).
POOL_FIELDS = {
    "max_connections": ("tcp", "maxConnections"),
    "max_pending_requests": ("http", "http1MaxPendingRequests"),
    "max_requests": ("http", "http2MaxRequests"),
    "max_requests_per_connection": ("http", "maxRequestsPerConnection"),  # 0 = unlimited, in both
    "max_retries": ("http", "maxRetries"),
}
OUTLIER_FIELDS = {
    "consecutive_5xx": "consecutive5xxErrors",
    "consecutive_gateway_errors": "consecutiveGatewayErrors",
    "interval_s": "interval",
    "base_ejection_time_s": "baseEjectionTime",
    "max_ejection_percent": "maxEjectionPercent",
    "min_health_percent": "minHealthPercent",
}


def traffic_policy_from_toml() -> dict[str, Any]:
    """mesh.toml's [policy.connection_pool] and [policy.outlier_detection] in DestinationRule terms."""
    pool: dict[str, dict[str, int]] = {"tcp": {}, "http": {}}
    for key, value in TOPO.policy["connection_pool"].items():
        group, field = POOL_FIELDS[key]
        pool[group][field] = value
    outlier = {
        OUTLIER_FIELDS[key]: f"{value}s" if key.endswith("_s") else value
        for key, value in TOPO.policy["outlier_detection"].items()
    }
    return {"connectionPool": pool, "outlierDetection": outlier}


def traffic_policy_from_envoy(service: str) -> dict[str, Any]:
    """The local Envoy cluster's circuit breaker and outlier detection in DestinationRule terms."""
    [cluster] = [c for c in ENVOY["static_resources"]["clusters"] if c["name"] == service]
    breaker, od = cluster["circuit_breakers"]["thresholds"][0], cluster["outlier_detection"]
    options = next(iter(cluster["typed_extension_protocol_options"].values()))
    per_connection = options.get("common_http_protocol_options", {}).get("max_requests_per_connection", 0)
    return {
        "connectionPool": {
            "tcp": {"maxConnections": breaker["max_connections"]},
            "http": {
                "http1MaxPendingRequests": breaker["max_pending_requests"],
                "http2MaxRequests": breaker["max_requests"],
                "maxRequestsPerConnection": per_connection,  # Envoy leaves "unlimited" out; Istio spells it 0
                "maxRetries": breaker["max_retries"],
            },
        },
        "outlierDetection": {
            "consecutive5xxErrors": od["consecutive_5xx"],
            "consecutiveGatewayErrors": od["consecutive_gateway_failure"],
            "interval": od["interval"],
            "baseEjectionTime": od["base_ejection_time"],
            "maxEjectionPercent": od["max_ejection_percent"],
            "minHealthPercent": cluster["common_lb_config"]["healthy_panic_threshold"]["value"],
        },
    }


def internal_route(prefix: str) -> dict[str, Any]:
    """The mesh route for an internal service, as mesh.toml says: its owner, the timeout and the retries."""
    owner = next(s for s in TOPO.services.values() if prefix.strip("/") in s.internal)
    retry = TOPO.policy["retry"]
    return {
        "destination": {"host": host(owner.name), "port": {"number": owner.port}},
        "timeout": f"{TOPO.policy['timeout']['route_ms'] / 1000:g}s",
        "retries": {
            "attempts": retry["attempts"],
            "perTryTimeout": f"{retry['per_try_timeout_ms'] / 1000:g}s",
            "retryOn": retry["retry_on"],
        },
    }


def edge_route_retries() -> dict[str, Any]:
    """A public route's retries, as mesh.toml says: only where the request never reached a service."""
    retry = TOPO.policy["edge_retry"]
    return {"attempts": retry["attempts"], "perTryTimeout": f"{EDGE_TIMEOUT_S:g}s", "retryOn": retry["retry_on"]}


def route_from_envoy(action: dict[str, Any]) -> dict[str, Any]:
    """A local Envoy route action in VirtualService terms (no retry policy: Istio must be told `attempts: 0`)."""
    service, policy = TOPO.services[action["cluster"]], action.get("retry_policy")
    retries = {"attempts": 0}
    if policy:
        retries = {"attempts": policy["num_retries"], "perTryTimeout": policy["per_try_timeout"],
                   "retryOn": policy["retry_on"]}  # fmt: skip
    destination = {"host": host(service.name), "port": {"number": service.port}}
    return {"destination": destination, "timeout": action.get("timeout"), "retries": retries}


def allowed_paths(service: str) -> dict[str, set[str]]:
    """Principal -> paths: the edge gets the public services, a caller (mesh.toml `calls`) the internal ones."""
    spec = TOPO.services[service]
    public = {f"/{name}/*" for name in spec.public} | (REFLECTION | HEALTH if spec.reflection else set())
    allowed = {principal(GATEWAY_SA): public}
    for caller in (other for other, o in TOPO.services.items() if service in o.calls and spec.internal):
        allowed[principal(caller)] = {f"/{name}/*" for name in spec.internal}
    return allowed


def egress_hosts(service: str) -> set[str]:
    """The control plane, NATS, its own database, and what it calls (through the mesh address)."""
    hosts = {"istio-system/*", f"./{host('nats')}", f"./{host(service + '-db')}"}
    calls = TOPO.services[service].calls
    return hosts | ({f"./{host('mesh')}", *(f"./{host(c)}" for c in calls)} if calls else set())


def server_stop_grace() -> float:
    """The grace svckit's server gives in-flight calls after its drain."""
    return float(STOP_GRACE_S)
