"""The external validators behind tests/test_istio.py: yamllint, checkov, Envoy and nats-server, run offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.istio_manifests import ROOT

BIN = Path(sys.executable).parent
YAML_FILES = ["istio", ".yamllint.yaml", ".checkov.yaml"]
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environ, check=False)


def yamllint() -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "yamllint"), "--strict", "-c", ".yamllint.yaml", *YAML_FILES)


def checkov_binary() -> str | None:
    """BNB_CHECKOV, else the separate venv the Makefile makes (checkov's pins clash with ours), else PATH."""
    for candidate in (os.environ.get("BNB_CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("checkov")


def checkov(binary: str, framework: str, *target: str) -> subprocess.CompletedProcess[str]:
    # No network here: no download of Prisma Cloud metadata, no version check.
    env = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "ANSI_COLORS_DISABLED": "1"}
    return run(binary, "--config-file", ".checkov.yaml", "--framework", framework, *target, env=env)


def envoy_validate(http_filter: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate` on a one-listener bootstrap carrying `http_filter` before the router: the
    typed config is parsed strictly (a transcoder also loads its descriptor set and finds its services)."""
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": HCM,
            "stat_prefix": "edge",
            "route_config": {"virtual_hosts": [{"name": "edge", "domains": ["*"], "routes": []}]},
            "http_filters": [http_filter, {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
        },
    }
    address = {"socket_address": {"address": "127.0.0.1", "port_value": 8080}}
    listener = {"name": "edge", "address": address, "filter_chains": [{"filters": [hcm]}]}
    bootstrap = workdir / "bootstrap.json"
    bootstrap.write_text(json.dumps({"static_resources": {"listeners": [listener]}}))
    return run(str(BIN / "envoy"), "--mode", "validate", "-c", str(bootstrap), "-l", "error")


def nats_config_test(config: str, workdir: Path, pod_name: str) -> subprocess.CompletedProcess[str]:
    """`nats-server -t`: the configuration parses and names no unknown field."""
    path = workdir / "nats.conf"
    path.write_text(config)
    return run(str(BIN / "nats-server"), "-t", "-c", str(path), env={"POD_NAME": pod_name})
