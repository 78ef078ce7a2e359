"""Offline validation as strict as the API server: core kinds by kubernetes-validate, Istio kinds by their CRDs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.istio_manifests import ROOT, Doc

# The oldest Kubernetes the manifests target (HPA ContainerResource is GA from 1.30) and the newest known here.
K8S_VERSIONS = ("1.30", kubernetes_validate.latest_version())
CRDS = ROOT / "tests" / "schemas" / "istio-crds.yaml"  # Istio 1.30.3's crd-all.gen.yaml, vendored
# The CEL rule most Istio durations carry, as the API server would check it: a Go duration such as "1.5s".
GO_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
# What the API server accepts beside `spec` at the root of every custom resource.
ENVELOPE = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}


def strict(node: Any) -> Any:
    """A copy in which an object schema listing `properties`, with neither `additionalProperties` nor
    `x-kubernetes-preserve-unknown-fields`, rejects any other field (structural-schema pruning, made an error)."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: {name: strict(schema) for name, schema in value.items()} if key == "properties" else strict(value)
        for key, value in node.items()
    }
    opted_out = "additionalProperties" in out or out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and not opted_out:
        out["additionalProperties"] = False
    rules = [rule.get("rule", "") for rule in node.get("x-kubernetes-validations", [])]
    if out.get("type") == "string" and any(rule.startswith("duration(self)") for rule in rules):
        out["pattern"] = GO_DURATION
    return out


@functools.cache
def istio_validators(path: Path) -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) -> a validator for every version of every CRD in `path`."""
    crds = [crd for crd in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if crd]
    validators = {}
    for crd in crds:
        for version in crd["spec"]["versions"]:
            schema = dict(version["schema"]["openAPIV3Schema"])
            schema["properties"] = {**ENVELOPE, **schema["properties"]}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = jsonschema.Draft4Validator(strict(schema))
    return validators


def is_istio(doc: Doc) -> bool:
    return ".istio.io/" in doc["apiVersion"]


def istio_errors(doc: Doc) -> list[str]:
    validator = istio_validators(CRDS).get((doc["apiVersion"], doc["kind"]))
    if validator is None:
        return [f"no CRD schema for {doc['apiVersion']} {doc['kind']}"]
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(doc)]


def core_errors(doc: Doc) -> list[str]:
    """kubernetes-validate in strict mode (unknown fields are errors), for each targeted Kubernetes version."""
    errors = []
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"k8s {version}: {'.'.join(map(str, e.path)) or '(root)'}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"k8s {version}: {e.message}")
    return errors
