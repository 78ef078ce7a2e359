"""istio/ and the Dockerfile, checked offline as files: yamllint, strict schemas (Kubernetes, Istio's CRDs), checkov."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

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
