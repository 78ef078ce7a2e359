"""Render the local Envoy bootstrap (edge + mesh listeners, one cluster per service) from envoy/mesh.toml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.launcher.tokens import Identity
from tools.render import dashboard, envoy_auth, envoy_filters
from tools.render.envoy_clusters import cluster, ms
from tools.topology import Topology

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
PREVIOUS_HOSTS = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
STDOUT_LOG = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
EDGE_TIMEOUT_S = 15
# Envoy's default access-log line plus the gRPC deadline each call carried in and the gRPC status it got.
ACCESS_LOG = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%'
    ' %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"'
    ' "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"'
    " grpc-timeout=%REQ(GRPC-TIMEOUT)% grpc-status=%GRPC_STATUS(NUMBER)%"
)


@dataclass(frozen=True)
class Ports:
    """Where this Envoy listens and where each service's replicas are."""

    edge: int
    mesh: int
    admin: int
    endpoints: dict[str, list[int]]  # service -> replica ports on 127.0.0.1


@dataclass(frozen=True)
class Variant:
    """What the demos and tests change; the defaults render the mesh of envoy/mesh.toml unchanged."""

    pool: dict[str, int] | None = None  # connection-pool numbers to override (the circuit-breaker demo)
    pool_clusters: tuple[str, ...] | None = None  # which clusters get `pool`; None: all
    health_checks: bool = True  # off: outlier detection alone must find a dead replica
    faults: dict[str, str] = field(default_factory=dict)  # name -> gRPC path prefix on the mesh listener
    demo_tokens: Path | None = None  # the dashboard's demo users' tokens (development only: tools.render.dashboard)

    def pool_for(self, cluster: str, policy: dict[str, Any]) -> dict[str, int]:
        """mesh.toml's connection pool of `cluster`, with this variant's numbers where they apply."""
        if self.pool_clusters is not None and cluster not in self.pool_clusters:
            pool: dict[str, int] = policy["connection_pool"]
            return pool
        return {**policy["connection_pool"], **(self.pool or {})}


def _route(
    service: str, cluster: str, timeout_s: float, retry: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "cluster": cluster,
        "timeout": f"{timeout_s:g}s",
        # Honour the caller's grpc-timeout so a deadline travels through Envoy.
        "max_stream_duration": {"grpc_timeout_header_max": f"{timeout_s:g}s"},
    }
    if retry:
        action["retry_policy"] = {
            "retry_on": retry["retry_on"],
            "num_retries": retry["attempts"],
            "per_try_timeout": ms(retry["per_try_timeout_ms"]),
            "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
                                      "typed_config": {"@type": PREVIOUS_HOSTS}}],
            "host_selection_retry_max_attempts": 3,
        }  # fmt: skip
    return {"match": {"prefix": f"/{service}/"}, "route": action, **extra}


def _keyed(route: dict[str, Any], header: str) -> dict[str, Any]:
    """The route for calls that carry `header` (an idempotency key): a reset one is safe to retry."""
    route["match"]["headers"] = [{"name": header, "present_match": True}]
    return route


def _not_found() -> dict[str, Any]:
    body = '{"code":5,"message":"no such route at this edge"}'
    return {"match": {"prefix": "/"}, "direct_response": {"status": 404, "body": {"inline_string": body}}}


def _hcm(name: str, routes: list[dict[str, Any]], http_filters: list[dict[str, Any]], json: bool) -> dict[str, Any]:
    """`json`: Envoy's own replies as JSON bodies for REST clients (the edge); the mesh listener's callers speak
    gRPC only and get plain grpc-status/grpc-message ("no healthy upstream"), which svckit.calls reads."""
    hcm: dict[str, Any] = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": HCM,
            "stat_prefix": name,
            "codec_type": "AUTO",
            "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
                "@type": STDOUT_LOG, "log_format": {"text_format_source": {"inline_string": f"{ACCESS_LOG} {name}\n"}},
            }}],
            "route_config": {"name": name, "virtual_hosts": [{"name": name, "domains": ["*"], "routes": routes}],
                             "max_direct_response_body_size_bytes": dashboard.MAX_BODY_BYTES},
            "http_filters": [
                *http_filters,
                {"name": "envoy.filters.http.grpc_stats", "typed_config": {
                    "@type": GRPC_STATS, "stats_for_all_methods": True, "enable_upstream_stats": True}},
                {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}},
            ],
        },
    }  # fmt: skip
    if json:
        hcm["typed_config"]["local_reply_config"] = envoy_filters.local_replies()
    return hcm


def _listener(name: str, port: int, hcm: dict[str, Any]) -> dict[str, Any]:
    address = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    # SO_REUSEPORT (Envoy's default on Linux, said here because it matters): edge Envoys share the ports.
    return {"name": name, "address": address, "enable_reuse_port": True, "filter_chains": [{"filters": [hcm]}]}


def render(
    topology: Topology, ports: Ports, descriptor_set: str, identity: Identity, variant: Variant = Variant()
) -> dict[str, Any]:
    """The Envoy bootstrap; `identity` is what the edge verifies tokens against; `variant` holds the demos' and
    tests' changes (pool numbers, no health checks, faults)."""
    policy = topology.policy
    services = topology.services.values()
    public = [name for spec in services for name in spec.public]
    edge_retry = {**policy["edge_retry"], "per_try_timeout_ms": EDGE_TIMEOUT_S * 1000}
    keyed_retry = {**edge_retry, "retry_on": edge_retry["keyed_retry_on"]}
    edge_routes = [
        route
        for spec in services
        for name in spec.public
        for route in (
            _keyed(_route(name, spec.name, EDGE_TIMEOUT_S, keyed_retry), edge_retry["key_header"]),
            _route(name, spec.name, EDGE_TIMEOUT_S, edge_retry),
        )
    ]
    reflector = next(spec.name for spec in services if spec.reflection)
    # The edge's own gRPC health and reflection are the reflecting service's.
    edge_routes += [{"match": {"prefix": prefix}, "route": {"cluster": reflector}}
                    for prefix in ("/grpc.reflection.", "/grpc.health.v1.Health/")]  # fmt: skip
    timeout_s = policy["timeout"]["route_ms"] / 1000
    via = envoy_auth.through_mesh(topology.auth)
    mesh_routes = [
        _route(name, spec.name, timeout_s, policy["retry"], request_headers_to_add=via)
        for spec in services
        for name in spec.internal
    ]
    edge_filters = [
        *envoy_auth.filters(topology.auth, identity),
        envoy_filters.rest_body_limit(),
        envoy_filters.transcoder(descriptor_set, public),
    ]
    faults = [envoy_filters.fault(name, prefix) for name, prefix in variant.faults.items()]
    # The browser dashboard's files, served by Envoy itself, before the API's routes.
    edge = [*dashboard.routes(variant.demo_tokens), *edge_routes, _not_found()]
    bootstrap: dict[str, Any] = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": ports.admin}}},
        "static_resources": {
            "listeners": [
                _listener("edge", ports.edge, _hcm("edge", edge, edge_filters, json=True)),
                _listener("mesh", ports.mesh, _hcm("mesh", [*mesh_routes, _not_found()], faults, json=False)),
            ],
            "clusters": [
                cluster(
                    s.name, ports.endpoints[s.name], policy, variant.pool_for(s.name, policy), variant.health_checks
                )
                for s in services
            ]
            + envoy_auth.clusters(identity),
        },
    }
    if faults:
        bootstrap["layered_runtime"] = {"layers": [{"name": "admin", "admin_layer": {}}]}
    return bootstrap
