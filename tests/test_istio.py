"""istio/ and the Dockerfile, checked offline: lint, strict schemas, checkov, and agreement with mesh.toml."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests import istio_expected as x
from tests import istio_manifests as m
from tests import istio_strict, istio_tools

SERVICES = list(x.TOPO.services)
FILES = [p.name for p in m.manifest_files()]
WORKLOADS = [*m.all_of("Deployment"), *m.all_of("StatefulSet")]


@pytest.fixture(scope="session")
def crds() -> Path:
    path = istio_strict.CRDS
    assert path.is_file(), f"Istio CRD schemas missing at {path}: Istio kinds must be validated"
    return path


def test_yaml_passes_yamllint_strict() -> None:
    result = istio_tools.yamllint()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", FILES)
def test_core_kinds_pass_kubernetes_validate_strict(name: str) -> None:
    core = [d for d in m.docs_of(name) if not istio_strict.is_istio(d)]
    assert not {f"{d['kind']}/{d['metadata']['name']}": e for d in core if (e := istio_strict.core_errors(d))}


@pytest.mark.parametrize("name", FILES)
def test_istio_kinds_pass_their_crd_schemas_strict(name: str, crds: Path) -> None:
    istio = [d for d in m.docs_of(name) if istio_strict.is_istio(d)]
    assert not {f"{d['kind']}/{d['metadata']['name']}": e for d in istio if (e := istio_strict.istio_errors(d))}


def test_the_istio_validation_rejects_an_unknown_field(crds: Path) -> None:
    rule = copy.deepcopy(m.one("DestinationRule", "room"))
    rule["spec"]["trafficPolicy"]["connectionPool"]["http"]["http1MaxPendingRequest"] = 100
    assert any("'http1MaxPendingRequest' was unexpected" in e for e in istio_strict.istio_errors(rule))


def test_the_kubernetes_validation_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(m.one("Deployment", "room"))
    m.container(deployment)["readinessProbe"]["grpc"]["prot"] = 50051
    assert any("'prot' was unexpected" in e for e in istio_strict.core_errors(deployment))


CHECKOV_RUNS = [("kubernetes", ("-d", "istio")), ("dockerfile", ("-f", "Dockerfile"))]


@pytest.mark.parametrize(("framework", "target"), CHECKOV_RUNS)
def test_checkov_passes(framework: str, target: tuple[str, str]) -> None:
    binary = istio_tools.checkov_binary()
    assert binary, "checkov not found: the Makefile installs it in .venv-checkov (or set BNB_CHECKOV)"
    result = istio_tools.checkov(binary, framework, *target)
    passed = re.search(r"Passed checks: (\d+), Failed checks: 0,", result.stdout)
    assert result.returncode == 0 and passed and int(passed[1]) > 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_every_skipped_checkov_check_carries_its_reason() -> None:
    lines = (m.ROOT / ".checkov.yaml").read_text().splitlines()
    skipped = [i for i, line in enumerate(lines) if line.strip().startswith("- CKV")]
    assert [lines[i].strip()[2:] for i in skipped] == yaml.safe_load("\n".join(lines))["skip-check"]
    assert all(lines[i - 1].strip().startswith("#") for i in skipped), "each skip needs a '# reason' above it"


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
    from tools.istio_descriptors import render

    stale = "istio/descriptors.yaml is stale: python -m tools.istio_descriptors"
    assert (m.ISTIO / "descriptors.yaml").read_text() == render(x.DESCRIPTOR_SET.read_bytes()), stale
    local_copy = {**value, "typed_config": {**ours, "proto_descriptor": str(x.DESCRIPTOR_SET)}}
    result = istio_tools.envoy_validate(local_copy, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_probes_service_and_settings_use_the_port_of_mesh_toml(service: str) -> None:
    port, deployment = x.TOPO.services[service].port, m.one("Deployment", service)
    app = m.container(deployment)
    assert {app[probe]["grpc"]["port"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")} == {port}
    metrics = x.TOPO.services[service].metrics_port
    assert app["ports"] == [{"name": "grpc", "containerPort": port}, {"name": "http-metrics", "containerPort": metrics}]
    assert m.env_of(deployment)["BNB_PORT"]["value"] == str(port)
    assert m.env_of(deployment)["BNB_METRICS_PORT"]["value"] == str(metrics)
    # What Istio's metrics merging reads: the sidecar agent scrapes this, and serves it with its own on 15020.
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    scrape = {k: v for k, v in annotations.items() if k.startswith("prometheus.io/")}
    wanted = {"prometheus.io/scrape": "true", "prometheus.io/port": str(metrics), "prometheus.io/path": "/metrics"}
    assert scrape == wanted
    assert metrics != port and metrics not in {p.port for p in x.TOPO.services.values()}
    service_ports = m.one("Service", service)["spec"]["ports"]
    assert service_ports == [{"name": "grpc", "port": port, "targetPort": "grpc", "appProtocol": "grpc"}]


@pytest.mark.parametrize("service", SERVICES)
def test_a_deployment_sets_only_what_its_service_reads_and_all_it_needs(service: str) -> None:
    reads = m.env_reads(m.service_sources(x.TOPO.services[service].package))
    env = set(m.env_of(m.one("Deployment", service)))
    assert not env - set(reads), "set, but no code of the service reads it"
    assert not {name for name, required in reads.items() if required} - env, "read without a default, not set"
    assert not x.CLUSTER_SETTINGS - env, "the local default is wrong in the cluster"
    assert ("BNB_MESH_ADDR" in env) == bool(x.TOPO.services[service].calls)


def test_config_and_secret_references_resolve_and_every_setting_is_used() -> None:
    config, used = m.one("ConfigMap", "bnb-config")["data"], set()
    for workload in WORKLOADS:
        for var in (e for c in workload["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])):
            ref = var.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"] == {"name": "bnb-config", "key": var["name"]} and var["name"] in config
                used.add(var["name"])
            if "secretKeyRef" in ref:
                assert ref["secretKeyRef"]["key"] in m.one("Secret", ref["secretKeyRef"]["name"])["stringData"]
    assert used == set(config)
    assert config["MAX_RESERVATIONS_PER_GUEST"] == "10"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_own_database_that_only_it_may_reach(service: str) -> None:
    secret = m.one("Secret", f"{service}-db")["stringData"]
    url = make_url(secret["url"])
    assert (url.drivername, url.host, url.port) == ("postgresql+psycopg", m.host(f"{service}-db"), 5432)
    assert (url.username, url.password, url.database) == (secret["username"], secret["password"], secret["database"])
    ref = m.env_of(m.one("Deployment", service))["BNB_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{service}-db", "key": "url"}
    db_env = m.env_of(m.one("StatefulSet", f"{service}-db"))
    refs = [db_env[v]["valueFrom"]["secretKeyRef"] for v in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")]
    assert refs == [{"name": f"{service}-db", "key": k} for k in ("username", "password", "database")]
    assert m.rules_by_principal(m.one("AuthorizationPolicy", f"{service}-db")) == {m.principal(service): {"5432"}}


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


@pytest.mark.parametrize("service", SERVICES)
def test_a_pod_outlives_its_drain(service: str) -> None:
    deployment, drain = m.one("Deployment", service), float(m.config_value("BNB_DRAIN_SECONDS"))
    readiness = m.container(deployment)["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < drain, "NOT_SERVING noticed within the drain"
    proxy_drain = m.seconds(m.proxy_config(deployment)["terminationDrainDuration"])
    grace_period = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert drain + x.server_stop_grace() < proxy_drain < grace_period, "app drains, then its proxy, then the kill"


@pytest.mark.parametrize("service", SERVICES)
def test_autoscaled_1_to_10_at_half_a_cpu_and_disruptions_bounded(service: str) -> None:
    hpa, deployment = m.one("HorizontalPodAutoscaler", service)["spec"], m.one("Deployment", service)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10) and "replicas" not in deployment["spec"]
    target = {"type": "Utilization", "averageUtilization": 50}
    assert hpa["metrics"] == [
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": service, "target": target}}
    ]
    assert m.one("PodDisruptionBudget", service)["spec"]["selector"] == deployment["spec"]["selector"]


def test_every_container_is_hardened_and_bounded() -> None:
    for workload in WORKLOADS:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["automountServiceAccountToken"] is False
        for c in pod["containers"]:
            sc, res = c["securityContext"], c["resources"]
            assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert set(res["requests"]) == set(res["limits"]) == {"cpu", "memory"}, c["name"]


def test_nats_is_a_3_node_jetstream_cluster_for_3_replica_streams(tmp_path: Path) -> None:
    nats = m.one("StatefulSet", "nats")
    replicas, conf = nats["spec"]["replicas"], m.one("ConfigMap", "nats-config")["data"]["nats.conf"]
    assert replicas == 3 == int(m.config_value("BNB_STREAM_REPLICAS"))
    assert re.findall(r"nats://(nats-\d+)\.nats-headless\.", conf) == [f"nats-{i}" for i in range(replicas)]
    [claim] = nats["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in m.container(nats)["volumeMounts"]
    assert re.search(r"store_dir: /data\b", conf)
    assert m.config_value("BNB_NATS_URL") == f"nats://{m.host('nats')}:4222"
    result = istio_tools.nats_config_test(conf, tmp_path, "nats-0")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_starts_each_service_as_make_run_does_as_non_root() -> None:
    dockerfile = (m.ROOT / "Dockerfile").read_text()
    entrypoint = json.loads(re.findall(r"^ENTRYPOINT (.+)$", dockerfile, re.MULTILINE)[-1])
    user = int(re.findall(r"^USER (\d+)", dockerfile, re.MULTILINE)[-1])
    launcher, ignored = (m.ROOT / "tools" / "mesh.py").read_text(), (m.ROOT / ".dockerignore").read_text()
    assert entrypoint[-2:] == ["python", "-m"] and "python -m {service}_svc" in launcher and user > 0
    assert re.search(rf"^COPY .* {m.config_value('BNB_DESCRIPTOR_SET')}$", dockerfile, re.MULTILINE)
    for service, spec in x.TOPO.services.items():
        deployment = m.one("Deployment", service)
        assert m.container(deployment)["args"] == [spec.package] and (m.ROOT / spec.package / "__main__.py").is_file()
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == user
        assert f"\n!{spec.package}/\n" in ignored


def test_namespace_is_injected_mtls_strict_and_closed_by_default() -> None:
    assert m.one("Namespace", m.NAMESPACE)["metadata"]["labels"]["istio-injection"] == "enabled"
    assert {d["metadata"].get("namespace") for d in m.docs() if d["kind"] != "Namespace"} == {m.NAMESPACE}
    assert m.one("PeerAuthentication", "default")["spec"] == {"mtls": {"mode": "STRICT"}}
    assert m.one("AuthorizationPolicy", "allow-nothing")["spec"] == {"action": "ALLOW"}


def test_kustomization_applies_every_manifest_namespace_first() -> None:
    resources = yaml.safe_load((m.ISTIO / "kustomization.yaml").read_text())["resources"]
    assert sorted(resources) == FILES and resources[0] == "namespace.yaml"
    if kubectl := shutil.which("kubectl"):  # kustomize is built in; offline
        built = istio_tools.run(kubectl, "kustomize", "istio")
        assert built.returncode == 0 and len(m.load(built.stdout)) == len(m.docs()), built.stderr
