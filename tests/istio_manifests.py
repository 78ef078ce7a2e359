"""The manifests in istio/, loaded once, and the environment variables each service's code reads."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ISTIO = ROOT / "istio"
NAMESPACE = "bnb"
GATEWAY_SA = "bnb-gateway"
ENV_READERS = {"env_str", "env_int", "env_float"}
PRINCIPAL = re.compile(r"^cluster\.local/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")
Doc = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(p for p in ISTIO.glob("*.yaml") if p.name != "kustomization.yaml")


def load(text: str) -> list[Doc]:
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


@functools.cache
def docs_of(name: str) -> tuple[Doc, ...]:
    return tuple(load((ISTIO / name).read_text()))


def docs() -> list[Doc]:
    return [doc for path in manifest_files() for doc in docs_of(path.name)]


def all_of(kind: str) -> list[Doc]:
    return [doc for doc in docs() if doc["kind"] == kind]


def one(kind: str, name: str) -> Doc:
    found = [doc for doc in all_of(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(workload: Doc, name: str | None = None) -> Doc:
    """The named container, else the workload's only one."""
    containers = workload["spec"]["template"]["spec"]["containers"]
    if name is None:
        [only] = containers
        return only
    return next(c for c in containers if c["name"] == name)


def env_of(workload: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container(workload).get("env", [])}


def by_prefix(virtual_service: str, keyed: bool = False) -> dict[str, Doc]:
    """A VirtualService's HTTP routes by their URI prefix: those matching no header, or (`keyed`) those for calls
    with an idempotency key (mesh.toml [policy.edge_retry] key_header)."""
    routes = one("VirtualService", virtual_service)["spec"]["http"]
    return {r["match"][0]["uri"]["prefix"]: r for r in routes if ("headers" in r["match"][0]) == keyed}


def config_value(key: str) -> str:
    return one("ConfigMap", "bnb-config")["data"][key]


def proxy_config(workload: Doc) -> Doc:
    annotations = workload["spec"]["template"]["metadata"].get("annotations", {})
    return yaml.safe_load(annotations.get("proxy.istio.io/config", "{}"))


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", duration)
    assert match, f"unsupported duration {duration!r}"
    return float(match[1]) / (1000 if match[2] == "ms" else 1)


def host(service: str) -> str:
    return f"{service}.{NAMESPACE}.svc.cluster.local"


def principal(service_account: str) -> str:
    return f"cluster.local/ns/{NAMESPACE}/sa/{service_account}"


def rules_by_principal(policy: Doc) -> dict[str, set[str]]:
    """principal -> the paths (or ports) an ALLOW policy's rules open to it."""
    opened: dict[str, set[str]] = {}
    for rule in policy["spec"].get("rules", []):
        operations = [to["operation"] for to in rule.get("to", [])]
        targets = {t for op in operations for t in op.get("paths", op.get("ports", []))}
        for source in rule.get("from", [{"source": {"principals": ["*"]}}]):
            for who in source["source"]["principals"]:
                opened.setdefault(who, set()).update(targets)
    return opened


def _default_of(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    return next((kw.value for kw in call.keywords if kw.arg == "default"), None)


def _name_read(call: ast.Call) -> tuple[str, bool] | None:
    """(variable, required) when `call` reads one environment variable by a literal name."""
    func = call.func
    fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    first = call.args[0] if call.args else None
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    default = _default_of(call)
    no_default = default is None or (isinstance(default, ast.Constant) and default.value is None)
    if fname in ENV_READERS:
        return first.value, fname == "env_str" and no_default
    if fname == "getenv" or (fname == "get" and "environ" in ast.unparse(func)):
        return first.value, False
    return None


def env_reads(files: list[Path]) -> dict[str, bool]:
    """Variable -> required (read with no default), from env_str/env_int/env_float and os.environ calls."""
    reads: dict[str, bool] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            found = _name_read(node) if isinstance(node, ast.Call) else None
            if isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
                key = node.slice
                found = (key.value, True) if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
            if found:
                reads[found[0]] = reads.get(found[0], False) or found[1]
    return reads


def service_sources(package: str) -> list[Path]:
    """The shared settings and the service's own modules (its unit tests excluded)."""
    return [ROOT / "svckit" / "config.py", *sorted((ROOT / package).glob("*.py"))]
