"""Identity at the edge in istio/ (edge-auth.yaml), read against mesh.toml [auth]: Istio's authorization
semantics for the fields the gateway's policies use, and every operation the edge serves."""

from __future__ import annotations

import re
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from tests import istio_expected as x
from tests import istio_manifests as m
from tests.istio_manifests import Doc

AUTH = x.TOPO.auth
JWT_AUTHN = "envoy.filters.http.jwt_authn"
# What a request carries that the policies can match: method, path (its query left out, as Istio does), the
# edge port, and the request principal ("<iss>/<sub>" of a verified token; None without one).
Request = dict[str, str | None]
# The fields the evaluator below knows; any other in a gateway policy fails the test rather than being ignored.
KNOWN = {"methods", "paths", "ports", "requestPrincipals"}


def _matches(pattern: str, value: str | None) -> bool:
    """Istio's string match: exact, `x*` a prefix, `*x` a suffix, `*` anything present."""
    if value is None:
        return False
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _fields_match(fields: Doc, request: Request) -> bool:
    """An operation or a source: its fields ANDed, the values of one field ORed; `notX` matches what X would not."""
    for key, patterns in fields.items():
        name = key[3].lower() + key[4:] if key.startswith("not") else key
        assert name in KNOWN, f"the evaluator does not model {key!r}"
        hit = any(_matches(p, request[name]) for p in patterns)
        if hit == key.startswith("not"):
            return False
    return True


def rule_matches(rule: Doc, request: Request) -> bool:
    """`from`, `to` (and `when`, unsupported here) ANDed; the entries of each ORed; an absent one matches all."""
    assert set(rule) <= {"from", "to"}, rule
    sources, operations = [f["source"] for f in rule.get("from", [])], [t["operation"] for t in rule.get("to", [])]
    return all(not group or any(_fields_match(g, request) for g in group) for group in (sources, operations))


def _applies(policy: Doc, labels: dict[str, str]) -> bool:
    selector = policy["spec"].get("selector", {}).get("matchLabels", {})
    return policy["metadata"]["namespace"] == m.NAMESPACE and selector.items() <= labels.items()


def gateway_admits(request: Request) -> bool:
    """Istio's order for the gateway's pods: a matching DENY denies; else, if ALLOW policies apply, one must match."""
    labels = m.one("Deployment", m.GATEWAY_SA)["spec"]["template"]["metadata"]["labels"]
    policies = [p["spec"] for p in m.all_of("AuthorizationPolicy") if _applies(p, labels)]
    assert {p.get("action", "ALLOW") for p in policies} <= {"ALLOW", "DENY"}
    if any(rule_matches(r, request) for p in policies if p.get("action") == "DENY" for r in p.get("rules", [])):
        return False
    allows = [p for p in policies if p.get("action", "ALLOW") == "ALLOW"]
    return not allows or any(rule_matches(r, request) for p in allows for r in p.get("rules", []))


def public_by_mesh_toml(method: str, path: str) -> bool:
    """mesh.toml's definition: a GET (or other listed method) on a public REST path, or a public gRPC path."""
    path = path.split("?", 1)[0]
    rest = any(method == verb and _matches(pattern, path) for verb, pattern in AUTH.public_rest)
    return rest or any(_matches(pattern, path) for pattern in AUTH.public_grpc)


def edge_operations() -> list[tuple[str, str]]:
    """(method, path) of every call a client can make at the edge: each public service's gRPC methods and REST
    bindings (descriptor set), health, reflection, the internal services, and a listing with a query."""
    files = descriptor_pb2.FileDescriptorSet.FromString(x.DESCRIPTOR_SET.read_bytes()).file
    public = {n for spec in x.TOPO.services.values() for n in spec.public}
    internal = [f"/{n}/Any" for spec in x.TOPO.services.values() for n in spec.internal]
    ops = [("POST", p) for p in [*internal, "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"]]
    ops += [("POST", f"/grpc.reflection.{v}.ServerReflection/ServerReflectionInfo") for v in ("v1", "v1alpha")]
    for package, service in ((f.package, s) for f in files for s in f.service if f"{f.package}.{s.name}" in public):
        for method in service.method:
            ops.append(("POST", f"/{package}.{service.name}/{method.name}"))
            rule = method.options.Extensions[annotations_pb2.http]
            for binding in [rule, *rule.additional_bindings]:
                verb = binding.WhichOneof("pattern")
                if verb and verb != "custom":
                    ops.append((verb.upper(), re.sub(r"\{[^}]*\}", "x1", getattr(binding, verb))))
    return [*ops, ("GET", "/rooms?page_size=2"), ("DELETE", "/rooms/x1"), ("GET", "/")]


def public_lists(policy: Doc) -> tuple[list[tuple[str, str]], list[str]]:
    """The DENY policy's exceptions, read back as mesh.toml's two lists (REST as (method, path), gRPC paths)."""
    [rule] = policy["spec"]["rules"]
    assert rule["from"] == [{"source": {"notRequestPrincipals": ["*"]}}], "denies exactly the calls without a token"
    [other_methods, other_paths] = [t["operation"] for t in rule["to"]]
    [method] = other_methods["notMethods"]
    grpc = other_methods["notPaths"]
    assert other_paths["notPaths"][-len(grpc) :] == grpc, "the second operation lists the REST paths, then gRPC's"
    return [(method, p) for p in other_paths["notPaths"][: -len(grpc)]], grpc


def local_edge_filters() -> list[dict[str, Any]]:
    return x.envoy_hcm("edge")["http_filters"]


def local_jwt_provider() -> dict[str, Any]:
    [jwt] = [f for f in local_edge_filters() if f["name"] == JWT_AUTHN]
    [provider] = jwt["typed_config"]["providers"].values()
    return provider


def local_mesh_headers() -> dict[str, list[dict[str, Any]]]:
    """Route prefix -> the headers the local mesh listener adds to it."""
    routes = x.envoy_hcm("mesh")["route_config"]["virtual_hosts"][0]["routes"]
    return {r["match"]["prefix"]: r.get("request_headers_to_add", []) for r in routes if "route" in r}
