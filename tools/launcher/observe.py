"""`make observe`: Prometheus beside a running `make run`, scraping every process of the mesh it describes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = Path(__file__).with_name("prometheus_rules.yml")
DEFAULT_PORT = 9090
SCRAPE_S = 5  # the services poll JetStream's pending counts every 2 s (svckit.gauges)


def config(mesh: Mapping[str, Any], rules: Path = RULES, interval_s: float = SCRAPE_S) -> dict[str, Any]:
    """A Prometheus configuration for the mesh that tools.launcher.local described in mesh.json: a job per service, its
    replicas as targets labelled `replica`, and Envoy's admin /stats/prometheus."""
    jobs: list[dict[str, Any]] = []
    for service, ports in mesh["metrics"].items():
        targets = [{"targets": [f"127.0.0.1:{port}"], "labels": {"replica": str(i)}} for i, port in enumerate(ports)]
        jobs.append({"job_name": service, "static_configs": targets})
    envoy = {"targets": [f"127.0.0.1:{mesh['admin']}"]}
    jobs.append({"job_name": "envoy", "metrics_path": "/stats/prometheus", "static_configs": [envoy]})
    return {
        "global": {"scrape_interval": f"{interval_s:g}s", "evaluation_interval": f"{interval_s:g}s"},
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }


def write(mesh: Mapping[str, Any], path: Path, interval_s: float = SCRAPE_S) -> Path:
    path.write_text(yaml.safe_dump(config(mesh, interval_s=interval_s), sort_keys=False))
    return path


def binary() -> str | None:
    """The prometheus binary; Debian's package installed first when missing and this process may (root)."""
    if found := shutil.which("prometheus"):
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    print("prometheus is missing: installing Debian's package (apt-get install -y prometheus)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "prometheus"], env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "prometheus"], env=env)
    return shutil.which("prometheus")


def command(prometheus: str, conf: Path, data: Path, port: int) -> list[str]:
    return [prometheus, f"--config.file={conf}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]  # fmt: skip


def main(environ: Mapping[str, str] = os.environ) -> None:
    data_dir = Path(environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve()
    port = int(environ.get("BNB_PROMETHEUS_PORT", DEFAULT_PORT))
    described = data_dir / "run" / "mesh.json"
    if not described.exists():
        sys.exit(f"no running mesh described at {described}: start `make run` first, then `make observe` beside it")
    mesh = json.loads(described.read_text())
    if "metrics" not in mesh:
        sys.exit(f"{described} names no metrics ports: restart `make run` with this checkout")
    prometheus = binary()
    if prometheus is None:
        sys.exit(
            "prometheus is not installed, and this user cannot install it. As root: apt-get install -y prometheus "
            "(Debian's package), or put a prometheus binary on PATH; then run `make observe` again."
        )
    conf = write(mesh, data_dir / "run" / "prometheus.yml")
    targets = sum(len(ports) for ports in mesh["metrics"].values()) + 1
    print(f"Prometheus on http://localhost:{port}: {targets} targets (every replica, and Envoy), rules {RULES}")
    print(f"  try: http://localhost:{port}/targets  http://localhost:{port}/alerts  query bnb:saga_error_ratio:rate5m")
    os.execv(prometheus, command(prometheus, conf, data_dir / "prometheus", port))


if __name__ == "__main__":
    main()
