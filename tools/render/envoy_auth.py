"""Identity at the edge, as Envoy config: strip the mesh's own headers, then verify the JWT (jwt_authn).

The verified `sub` and `role` reach the services as mesh.toml's subject and role headers; the public reads
(mesh.toml [auth]) pass without a token, and a token that is sent is verified there too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tools.launcher.tokens import Identity
from tools.topology import Auth

JWT_AUTHN = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
HEADER_MUTATION = "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"
UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
PROVIDER = "bnb"
JWKS_CLUSTER = "jwks"
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"


def _match(path: str) -> dict[str, str]:
    return {"prefix": path[:-1]} if path.endswith("*") else {"path": path}


def _public_rules(auth: Auth) -> list[dict[str, Any]]:
    """Either a valid token or none at all: a token that is sent must verify."""
    either = {"requires": {"requires_any": {"requirements": [{"provider_name": PROVIDER}, {"allow_missing": {}}]}}}
    rest = [
        {"match": {**_match(path), "headers": [{"name": ":method", "string_match": {"exact": method}}]}, **either}
        for method, path in auth.public_rest
    ]
    return [*rest, *({"match": _match(path), **either} for path in auth.public_grpc)]


def _jwks(identity: Identity) -> dict[str, Any]:
    if identity.jwks.startswith("https://"):
        return {"remote_jwks": {
            "http_uri": {"uri": identity.jwks, "cluster": JWKS_CLUSTER, "timeout": "5s"},
            "cache_duration": "600s",
            "async_fetch": {},  # fetched when the listener starts, not on the first request
            "retry_policy": {"num_retries": 3},
        }}  # fmt: skip
    return {"local_jwks": {"filename": identity.jwks}}


def filters(auth: Auth, identity: Identity) -> list[dict[str, Any]]:
    """The edge's first two HTTP filters, before the transcoder: REST and gRPC alike."""
    strip = {"name": "envoy.filters.http.header_mutation", "typed_config": {
        "@type": HEADER_MUTATION,
        "mutations": {"request_mutations": [{"remove": header} for header in auth.headers]},
    }}  # fmt: skip
    provider = {
        "issuer": identity.issuer,
        "audiences": [identity.audience],
        **_jwks(identity),
        "forward": False,  # the services get the verified claims, never the token
        "require_expiration": True,
        "claim_to_headers": [
            {"header_name": auth.subject_header, "claim_name": "sub"},
            {"header_name": auth.role_header, "claim_name": "role"},
        ],
        "jwt_cache_config": {"jwt_cache_size": 1000},  # a token seen again is not verified again
    }
    verify = {"name": "envoy.filters.http.jwt_authn", "typed_config": {
        "@type": JWT_AUTHN,
        "providers": {PROVIDER: provider},
        "rules": [*_public_rules(auth), {"match": {"prefix": "/"}, "requires": {"provider_name": PROVIDER}}],
    }}  # fmt: skip
    return [strip, verify]


def clusters(identity: Identity) -> list[dict[str, Any]]:
    """The issuer's JWKS endpoint, when the keys are remote."""
    if not identity.jwks.startswith("https://"):
        return []
    url = urlsplit(identity.jwks)
    host, port = url.hostname or "", url.port or 443
    return [{
        "name": JWKS_CLUSTER,
        "type": "LOGICAL_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "connect_timeout": "5s",
        "load_assignment": {"cluster_name": JWKS_CLUSTER, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}]}]},
        "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": UPSTREAM_TLS,
            "sni": host,
            "common_tls_context": {"validation_context": {
                "trusted_ca": {"filename": SYSTEM_CAS},
                "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": host}}],
            }},
        }},
    }]  # fmt: skip


def through_mesh(auth: Auth) -> list[dict[str, Any]]:
    """Set on every internal route: the service knows the call came through the mesh listener."""
    header = {"key": auth.via_header, "value": "mesh"}
    return [{"header": header, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]
