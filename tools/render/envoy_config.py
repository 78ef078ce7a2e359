"""Render the local Envoy bootstrap (edge + mesh listeners, one cluster per service) from envoy/mesh.toml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.launcher.tokens import Identity
from tools.render import dashboard, envoy_auth
from tools.render.envoy_clusters import cluster, ms
from tools.topology import Topology

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TRANSCODER = "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
PREVIOUS_HOSTS = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
STDOUT_LOG = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
BUFFER = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"
WITH_MATCHER = "type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher"
HEADER_INPUT = "type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput"
SKIP_FILTER = "type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter"
EDGE_TIMEOUT_S = 15
# REST bodies larger than this get 413 from the edge's buffer filter (gRPC messages: svckit.server.MAX_REQUEST_BYTES).
MAX_REQUEST_BYTES = 64 * 1024
TOO_LARGE = f"the request body is larger than {MAX_REQUEST_BYTES} bytes"
# The transcoder buffers a whole gRPC reply before it writes JSON. The largest possible page (100 items, every
# text at its longest in 4-byte characters) is about 1.7 MB of protobuf (tests/test_largest_page.py computes it);
# Envoy's default, the 1 MiB stream buffer, would turn it into a 500.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
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
        # jwt_authn answers 403 to a token for another audience, the one 403 Envoy itself gives at the edge;
        # a token that is not for us is as unauthenticated as a bad one: 401 for it too.
        audience = [_local_reply(403, 16, rest, status=401) for rest in (True, False)]
        mappers = [*audience, *(_local_reply(http, grpc, message=LOCAL_REPLY_MESSAGES.get(http, ENVOYS_WORDS))
                                for http, grpc in LOCAL_REPLY_CODES.items())]  # fmt: skip
        hcm["typed_config"]["local_reply_config"] = {"mappers": mappers}
    return hcm


def rest_body_limit() -> dict[str, Any]:
    """A REST body over MAX_REQUEST_BYTES gets 413 before the transcoder sees it. The transcoder's own limit
    counts only the bytes not yet parsed: a body that arrives in pieces slipped past it to the service (429).
    The buffer filter counts the whole body (Content-Length first). gRPC callers skip it: their messages are
    limited by the service itself, with RESOURCE_EXHAUSTED, as gRPC clients expect."""
    grpc = {"single_predicate": {
        "input": {"name": "content-type", "typed_config": {"@type": HEADER_INPUT, "header_name": "content-type"}},
        "value_match": {"prefix": "application/grpc"},
    }}  # fmt: skip
    skip = {"name": "skip", "typed_config": {"@type": SKIP_FILTER}}
    return {"name": "envoy.filters.http.buffer", "typed_config": {
        "@type": WITH_MATCHER,
        "extension_config": {"name": "envoy.filters.http.buffer",
                             "typed_config": {"@type": BUFFER, "max_request_bytes": MAX_REQUEST_BYTES}},
        "xds_matcher": {"matcher_list": {"matchers": [{"predicate": grpc, "on_match": {"action": skip}}]}},
    }}  # fmt: skip


# Envoy's own replies (no route, bad JSON, breaker open) carry the gRPC code a service would have sent.
LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 413: 8, 429: 8, 431: 8, 500: 13, 502: 14, 503: 14, 504: 4}
ENVOYS_WORDS = "%LOCAL_REPLY_BODY%"
LOCAL_REPLY_MESSAGES = {413: TOO_LARGE}  # where Envoy's own words ("Payload Too Large") say less than ours


# A REST caller: not gRPC, or transcoded (the transcoder sets the gRPC content-type and keeps the REST path).
_REST_CALL = {"or_filter": {"filters": [
    {"header_filter": {"header": {"name": "content-type", "string_match": {"prefix": "application/grpc"},
                                  "invert_match": True, "treat_missing_header_as_empty": True}}},
    {"header_filter": {"header": {"name": "x-envoy-original-path", "present_match": True}}},
]}}  # fmt: skip


def _local_reply(
    http: int, grpc: int, rest: bool = True, status: int | None = None, message: str = ENVOYS_WORDS
) -> dict[str, Any]:
    """REST callers get the JSON body; the others (`rest` False: gRPC callers, after the REST mappers) keep
    Envoy's plain grpc-message ("Jwt is missing"). `status` rewrites the HTTP status (and so the gRPC code
    Envoy derives from it); `message` replaces Envoy's own words."""
    code = {"status_code_filter": {"comparison": {"op": "EQ", "value": {"default_value": http, "runtime_key": "_"}}}}
    mapper: dict[str, Any] = {"filter": {"and_filter": {"filters": [code, _REST_CALL]}} if rest else code}
    if rest:
        body = {"code": grpc, "message": message, "details": "%RESPONSE_CODE_DETAILS%"}
        mapper["body_format_override"] = {"json_format": body}
    if status:
        mapper["status_code"] = status
    return mapper


def _listener(name: str, port: int, hcm: dict[str, Any]) -> dict[str, Any]:
    address = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    # SO_REUSEPORT (Envoy's default on Linux, said here because it matters): edge Envoys share the ports.
    return {"name": name, "address": address, "enable_reuse_port": True, "filter_chains": [{"filters": [hcm]}]}


def _fault(name: str, prefix: str) -> dict[str, Any]:
    """A delay injected before matching calls reach their service; 0% until set at runtime through the admin:
    POST /runtime_modify?fault.<name>.delay_percent=100&fault.<name>.delay_ms=2000."""
    return {"name": f"envoy.filters.http.fault.{name}", "typed_config": {
        "@type": FAULT,
        "headers": [{"name": ":path", "string_match": {"prefix": prefix}}],
        "delay": {"fixed_delay": "0.001s", "percentage": {"numerator": 0, "denominator": "HUNDRED"}},
        "delay_percent_runtime": f"fault.{name}.delay_percent",
        "delay_duration_runtime": f"fault.{name}.delay_ms",
    }}  # fmt: skip


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
    transcoder = {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": {
        "@type": TRANSCODER,
        "proto_descriptor": descriptor_set,
        "services": public,
        "convert_grpc_status": True,
        "print_options": {"always_print_primitive_fields": True, "preserve_proto_field_names": True},
        "request_validation_options": {"reject_unknown_method": True, "reject_unknown_query_parameters": True},
        "max_request_body_size": MAX_REQUEST_BYTES,
        "max_response_body_size": MAX_RESPONSE_BYTES,
    }}  # fmt: skip
    timeout_s = policy["timeout"]["route_ms"] / 1000
    via = envoy_auth.through_mesh(topology.auth)
    mesh_routes = [
        _route(name, spec.name, timeout_s, policy["retry"], request_headers_to_add=via)
        for spec in services
        for name in spec.internal
    ]
    edge_filters = [*envoy_auth.filters(topology.auth, identity), rest_body_limit(), transcoder]
    faults = [_fault(name, prefix) for name, prefix in variant.faults.items()]
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
