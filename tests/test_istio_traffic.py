"""istio/'s traffic as mesh.toml and the local Envoy have it: rules, routes, gateway, transcoder, who calls whom."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests import istio_expected as x
from tests import istio_manifests as m
from tests import istio_tools
from tools.render.envoy_filters import rest_body_limit

SERVICES = list(x.TOPO.services)


WORKLOADS = [*m.all_of("Deployment"), *m.all_of("StatefulSet")]


@pytest.mark.parametrize("service", SERVICES)
def test_destination_rule_numbers_equal_mesh_toml_and_the_local_envoy(service: str) -> None:
    rule = m.one("DestinationRule", service)["spec"]
    assert rule["host"] == m.host(service)
    assert rule["trafficPolicy"] == x.traffic_policy_from_toml() == x.traffic_policy_from_envoy(service)


@pytest.mark.parametrize("listener", ["mesh", "edge"])
def test_routes_time_out_and_retry_as_the_local_envoy_listener_does(listener: str) -> None:
    routes, local = m.by_prefix(listener), x.envoy_routes(listener)
    assert set(routes) == set(local)
    for prefix, route in routes.items():
        [target] = route["route"]
        ours = {"destination": target["destination"], "timeout": route.get("timeout"), "retries": route["retries"]}
        assert ours == x.route_from_envoy(local[prefix])
        name = prefix.strip("/")
        if name in {n for s in x.TOPO.services.values() for n in s.internal}:
            expected = x.internal_route(prefix)
        elif name in {n for s in x.TOPO.services.values() for n in s.public}:
            expected = {**ours, "retries": x.edge_route_retries()}
        else:
            expected = {**ours, "retries": {"attempts": 0}}
        assert ours == expected, "mesh.toml's retries: idempotent internal routes, safe failures at the edge, else none"


def test_the_mesh_address_is_one_service_routing_to_the_internal_services() -> None:
    host, port = m.config_value("BNB_MESH_ADDR").rsplit(":", 1)
    assert (host, int(port)) == (m.host("mesh"), x.TOPO.mesh_port)
    assert [p["port"] for p in m.one("Service", "mesh")["spec"]["ports"]] == [x.TOPO.mesh_port]
    assert m.one("VirtualService", "mesh")["spec"]["hosts"] == [host]


def test_the_gateway_serves_the_edge_port_and_admits_anyone_there() -> None:
    port = m.one("Gateway", "bnb-gateway")["spec"]["servers"][0]["port"]["number"]
    listener = m.one("EnvoyFilter", "grpc-json-transcoder")["spec"]["configPatches"][0]["match"]["listener"]
    proxy = m.container(m.one("Deployment", "bnb-gateway"), "istio-proxy")
    [service_port] = m.one("Service", "bnb-gateway")["spec"]["ports"]
    assert (service_port["port"], service_port["targetPort"]) == (x.TOPO.edge_port, port)
    assert listener["portNumber"] == proxy["ports"][0]["containerPort"] == port
    assert m.rules_by_principal(m.one("AuthorizationPolicy", "bnb-gateway")) == {"*": {str(port)}}
    assert m.one("VirtualService", "edge")["spec"]["gateways"] == ["bnb-gateway"]


def test_the_transcoder_is_the_local_edge_one_over_the_same_descriptor_set(tmp_path: Path) -> None:
    value = m.one("EnvoyFilter", "grpc-json-transcoder")["spec"]["configPatches"][0]["patch"]["value"]
    [local] = [f for f in x.envoy_hcm("edge")["http_filters"] if f["name"] == value["name"]]
    ours, theirs = dict(value["typed_config"]), dict(local["typed_config"])
    path = Path(ours.pop("proto_descriptor"))
    assert ours == {k: v for k, v in theirs.items() if k != "proto_descriptor"}
    gateway = m.one("Deployment", "bnb-gateway")
    [mount] = [v for v in m.container(gateway, "istio-proxy")["volumeMounts"] if Path(v["mountPath"]) == path.parent]
    [volume] = [v for v in gateway["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    assert path.name in m.one("ConfigMap", volume["configMap"]["name"])["binaryData"]
    from tools.render.istio_descriptors import render

    stale = "istio/descriptors.yaml is stale: python -m tools.render.istio_descriptors"
    assert (m.ISTIO / "descriptors.yaml").read_text() == render(x.DESCRIPTOR_SET.read_bytes()), stale
    local_copy = {**value, "typed_config": {**ours, "proto_descriptor": str(x.DESCRIPTOR_SET)}}
    result = istio_tools.envoy_validate(local_copy, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rest_body_limit_is_the_local_edge_one_just_before_the_transcoder(tmp_path: Path) -> None:
    limit, transcoder = (m.one("EnvoyFilter", n)["spec"] for n in ("rest-body-limit", "grpc-json-transcoder"))
    [patch], [beside] = limit["configPatches"], transcoder["configPatches"]
    assert limit["workloadSelector"] == transcoder["workloadSelector"]
    assert limit.get("priority", 0) > transcoder.get("priority", 0), "applied after the transcoder is there"
    listener = copy.deepcopy(beside["match"])
    listener["listener"]["filterChain"]["filter"]["subFilter"]["name"] = beside["patch"]["value"]["name"]
    assert (patch["match"], patch["patch"]["operation"]) == (listener, "INSERT_BEFORE")
    edge = [f["name"] for f in x.envoy_hcm("edge")["http_filters"]]
    assert edge.index(patch["patch"]["value"]["name"]) == edge.index(beside["patch"]["value"]["name"]) - 1
    assert patch["patch"]["value"] == rest_body_limit()
    result = istio_tools.envoy_validate(patch["patch"]["value"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_principal_names_an_existing_service_account() -> None:
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in m.all_of("ServiceAccount")}
    allows = [p for p in m.all_of("AuthorizationPolicy") if p["spec"]["action"] == "ALLOW"]  # DENY ones: no principal
    principals = {p for policy in allows for p in m.rules_by_principal(policy)} - {"*"}
    unknown = {p for p in principals if not ((match := m.PRINCIPAL.match(p)) and match.groups() in accounts)}
    assert principals and not unknown
    for workload in WORKLOADS:
        assert (m.NAMESPACE, workload["spec"]["template"]["spec"]["serviceAccountName"]) in accounts


@pytest.mark.parametrize("service", SERVICES)
def test_the_edge_reaches_public_services_only_and_callers_the_internal_ones(service: str) -> None:
    policy, deployment = m.one("AuthorizationPolicy", service), m.one("Deployment", service)
    assert policy["spec"]["selector"] == deployment["spec"]["selector"] and policy["spec"]["action"] == "ALLOW"
    assert m.rules_by_principal(policy) == x.allowed_paths(service)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == service


@pytest.mark.parametrize("service", SERVICES)
def test_sidecar_egress_is_what_the_service_calls(service: str) -> None:
    sidecar = m.one("Sidecar", service)["spec"]
    assert {h for egress in sidecar["egress"] for h in egress["hosts"]} == x.egress_hosts(service)
    assert sidecar["workloadSelector"]["labels"] == m.one("Deployment", service)["spec"]["selector"]["matchLabels"]
    assert sidecar["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}


def test_namespace_is_injected_mtls_strict_and_closed_by_default() -> None:
    assert m.one("Namespace", m.NAMESPACE)["metadata"]["labels"]["istio-injection"] == "enabled"
    assert {d["metadata"].get("namespace") for d in m.docs() if d["kind"] != "Namespace"} == {m.NAMESPACE}
    assert m.one("PeerAuthentication", "default")["spec"] == {"mtls": {"mode": "STRICT"}}
    assert m.one("AuthorizationPolicy", "allow-nothing")["spec"] == {"action": "ALLOW"}
