"""istio/ identity, checked offline: the gateway verifies tokens, requires them off the public routes and strips
the identity headers as the local edge does; internal routes say the call came through the mesh."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests import istio_auth as a
from tests import istio_manifests as m
from tests import istio_tools


def test_the_gateway_verifies_tokens_for_mesh_toml_audience_and_headers_as_the_local_edge() -> None:
    spec, local = m.one("RequestAuthentication", m.GATEWAY_SA)["spec"], a.local_jwt_provider()
    assert spec["selector"] == m.one("Deployment", m.GATEWAY_SA)["spec"]["selector"]
    [rule] = spec["jwtRules"]
    assert set(rule) == {"issuer", "jwksUri", "audiences", "forwardOriginalToken", "outputClaimToHeaders"}
    assert rule["audiences"] == [a.AUTH.audience] == local["audiences"]
    claims = [{"header": a.AUTH.subject_header, "claim": "sub"}, {"header": a.AUTH.role_header, "claim": "role"}]
    assert rule["outputClaimToHeaders"] == claims
    assert claims == [{"header": c["header_name"], "claim": c["claim_name"]} for c in local["claim_to_headers"]]
    assert rule["forwardOriginalToken"] is local["forward"] is False
    assert rule["jwksUri"].startswith("https://") and rule["issuer"] != a.AUTH.issuer, "the dev key stays local"


def test_the_gateway_policy_exempts_exactly_mesh_toml_public_operations_in_both_forms() -> None:
    rest, grpc = a.public_lists(m.one("AuthorizationPolicy", "bnb-gateway-require-jwt"))
    assert rest == list(a.AUTH.public_rest) and grpc == list(a.AUTH.public_grpc)


@pytest.mark.parametrize(("method", "path"), a.edge_operations())
def test_without_a_token_the_gateway_admits_only_public_operations(method: str, path: str) -> None:
    request = {"methods": method, "paths": path.split("?", 1)[0], "ports": "8080", "requestPrincipals": None}
    assert a.gateway_admits(request) is a.public_by_mesh_toml(method, path)
    assert a.gateway_admits({**request, "requestPrincipals": "https://auth.example.com//g1"})
    assert not a.gateway_admits({**request, "ports": "15021"}), "the ALLOW policy still bounds the ports"


def test_the_gateway_strips_the_identity_headers_before_the_jwt_filter(tmp_path: Path) -> None:
    strip, transcoder = (m.one("EnvoyFilter", n)["spec"] for n in ("strip-identity-headers", "grpc-json-transcoder"))
    [patch], [beside] = strip["configPatches"], transcoder["configPatches"]
    assert strip["workloadSelector"] == transcoder["workloadSelector"] and patch["applyTo"] == beside["applyTo"]
    listener = copy.deepcopy(beside["match"])
    del listener["listener"]["filterChain"]["filter"]["subFilter"]
    assert patch["match"] == listener, "the transcoder's gateway listener"
    assert patch["patch"]["operation"] == "INSERT_FIRST", "first: before Istio's jwt_authn, and without it too"
    value = patch["patch"]["value"]
    assert [mu["remove"] for mu in value["typed_config"]["mutations"]["request_mutations"]] == list(a.AUTH.headers)
    first, second = a.local_edge_filters()[:2]
    assert value == first and second["name"] == a.JWT_AUTHN, "the local edge's first filter, before its jwt_authn"
    result = istio_tools.envoy_validate(value, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_internal_routes_and_only_they_say_the_call_came_through_the_mesh() -> None:
    local, routes = a.local_mesh_headers(), m.by_prefix("mesh")
    via = {"header": {"key": a.AUTH.via_header, "value": "mesh"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
    assert set(routes) == set(local) and all(local[prefix] == [via] for prefix in local)
    assert all(r["headers"] == {"request": {"set": {a.AUTH.via_header: "mesh"}}} for r in routes.values())
    assert not any("headers" in r for r in m.by_prefix("edge").values())
