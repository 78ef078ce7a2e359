"""istio/'s workloads: ports, settings and secrets as the services read them, databases, drain, scaling, the image."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests import istio_expected as x
from tests import istio_manifests as m
from tests import istio_tools

SERVICES = list(x.TOPO.services)


FILES = [p.name for p in m.manifest_files()]
WORKLOADS = [*m.all_of("Deployment"), *m.all_of("StatefulSet")]


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
    launcher, ignored = (m.ROOT / "tools" / "launcher" / "local.py").read_text(), (m.ROOT / ".dockerignore").read_text()
    assert entrypoint[-2:] == ["python", "-m"] and "python -m {service}_svc" in launcher and user > 0
    assert re.search(rf"^COPY .* {m.config_value('BNB_DESCRIPTOR_SET')}$", dockerfile, re.MULTILINE)
    for service, spec in x.TOPO.services.items():
        deployment = m.one("Deployment", service)
        assert m.container(deployment)["args"] == [spec.package] and (m.ROOT / spec.package / "__main__.py").is_file()
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == user
        assert f"\n!{spec.package}/\n" in ignored


def test_kustomization_applies_every_manifest_namespace_first() -> None:
    resources = yaml.safe_load((m.ISTIO / "kustomization.yaml").read_text())["resources"]
    assert sorted(resources) == FILES and resources[0] == "namespace.yaml"
    if kubectl := shutil.which("kubectl"):  # kustomize is built in; offline
        built = istio_tools.run(kubectl, "kustomize", "istio")
        assert built.returncode == 0 and len(m.load(built.stdout)) == len(m.docs()), built.stderr
