"""The edge's identity config as rendered: filter order, the public rules, and both JWKS sources validated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import topology
from tools.launcher import tokens
from tools.render import envoy_config

TOPO = topology.load()
ENVOY = str(Path(sys.executable).parent / "envoy")
PORTS = envoy_config.Ports(18088, 18089, 19901, {name: [spec.port] for name, spec in TOPO.services.items()})


def render(jwks: str) -> dict[str, Any]:
    identity = tokens.Identity(TOPO.auth.issuer, TOPO.auth.audience, jwks)
    return envoy_config.render(TOPO, PORTS, str(Path("envoy/bnb.pb").resolve()), identity)


def edge_filters(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    [edge] = [x for x in bootstrap["static_resources"]["listeners"] if x["name"] == "edge"]
    return edge["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]


def test_headers_are_stripped_before_the_token_is_verified_before_transcoding(tmp_path: Path) -> None:
    names = [f["name"] for f in edge_filters(render(str(tokens.ensure_keys(tmp_path))))]
    assert names[:4] == ["envoy.filters.http.header_mutation", "envoy.filters.http.jwt_authn",
                         "envoy.filters.http.buffer", "envoy.filters.http.grpc_json_transcoder"]  # fmt: skip
    strip = edge_filters(render("x.json"))[0]["typed_config"]["mutations"]["request_mutations"]
    assert [m["remove"] for m in strip] == list(TOPO.auth.headers)


def test_only_the_public_reads_may_go_without_a_token() -> None:
    jwt_authn = edge_filters(render("x.json"))[1]["typed_config"]
    provider = jwt_authn["providers"]["bnb"]
    assert (provider["issuer"], provider["audiences"], provider["forward"]) == ("bnb-mesh-dev", ["bnb-mesh"], False)
    assert {h["header_name"]: h["claim_name"] for h in provider["claim_to_headers"]} == {
        "x-bnb-subject": "sub", "x-bnb-role": "role"}  # fmt: skip
    *public, last = jwt_authn["rules"]
    assert last == {"match": {"prefix": "/"}, "requires": {"provider_name": "bnb"}}
    optional = {"requires_any": {"requirements": [{"provider_name": "bnb"}, {"allow_missing": {}}]}}
    assert all(rule["requires"] == optional for rule in public)
    rest = {(r["match"]["headers"][0]["string_match"]["exact"], r["match"].get("path") or r["match"]["prefix"] + "*")
            for r in public if "headers" in r["match"]}  # fmt: skip
    grpc = {r["match"].get("path") or r["match"]["prefix"] + "*" for r in public if "headers" not in r["match"]}
    assert rest == set(TOPO.auth.public_rest) and grpc == set(TOPO.auth.public_grpc)
    assert ("POST", "/rooms") not in rest and ("GET", "/reservations") not in rest


def test_internal_routes_say_they_came_through_the_mesh() -> None:
    [mesh] = [x for x in render("x.json")["static_resources"]["listeners"] if x["name"] == "mesh"]
    routes = mesh["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    internal = [r for r in routes if "route" in r]
    assert internal and all(
        r["request_headers_to_add"] == [{"header": {"key": "x-bnb-via", "value": "mesh"},
                                         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}] for r in internal
    )  # fmt: skip


@pytest.mark.parametrize("source", ["file", "https"])
def test_envoy_accepts_the_config_with_either_jwks_source(tmp_path: Path, source: str) -> None:
    jwks = str(tokens.ensure_keys(tmp_path)) if source == "file" else "https://auth.example.com/.well-known/jwks.json"
    bootstrap = render(jwks)
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    if source == "https":
        tls = clusters["jwks"]["transport_socket"]["typed_config"]
        assert tls["sni"] == "auth.example.com" and clusters["jwks"]["load_assignment"]["endpoints"]
    else:
        assert "jwks" not in clusters
    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(bootstrap))
    result = subprocess.run([ENVOY, "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "error"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
