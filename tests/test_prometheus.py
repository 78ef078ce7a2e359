"""The Prometheus of `make observe`: its generated config and rules pass promtool, and a real one scrapes a mesh."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh, free_ports
from tests.test_events import book, new_room
from tools.launcher import observe as prometheus

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)")
HERE = Path(__file__).resolve().parent
# Two replicas of each service, as `ROOM_REPLICAS=2 ... make run` would describe them in mesh.json.
DESCRIBED = {"admin": 9901, "metrics": {s: [p, p + 100] for s, p in [("room", 9461), ("reservation", 9462)]}}


def promtool(*args: str) -> str:
    result = subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_config_scrapes_every_replica_and_envoy() -> None:
    jobs = {job["job_name"]: job for job in prometheus.config(DESCRIBED)["scrape_configs"]}
    assert set(jobs) == {"room", "reservation", "envoy"}
    room = [(t["targets"], t["labels"]) for t in jobs["room"]["static_configs"]]
    assert room == [(["127.0.0.1:9461"], {"replica": "0"}), (["127.0.0.1:9561"], {"replica": "1"})]
    assert jobs["envoy"]["metrics_path"] == "/stats/prometheus"
    assert jobs["envoy"]["static_configs"] == [{"targets": ["127.0.0.1:9901"]}]


@needs_promtool
def test_the_generated_config_passes_promtool(tmp_path: Path) -> None:
    assert "SUCCESS" in promtool("check", "config", str(prometheus.write(DESCRIBED, tmp_path / "prometheus.yml")))


@needs_promtool
def test_the_rules_pass_promtool_and_their_unit_tests() -> None:
    assert "SUCCESS: 9 rules found" in promtool("check", "rules", str(prometheus.RULES))
    assert "SUCCESS" in promtool("test", "rules", str(HERE / "prometheus_rules_test.yml"))


@pytest.fixture
def observed(mesh: Mesh, tmp_path: Path) -> Iterator[httpx.Client]:
    """A real Prometheus on a free port, configured from the private mesh's mesh.json, as `make observe` does."""
    described = json.loads((mesh.cfg.run_dir / "mesh.json").read_text())
    conf = prometheus.write(described, tmp_path / "prometheus.yml", interval_s=1)
    [port] = free_ports(1)
    process = subprocess.Popen(prometheus.command(str(PROMETHEUS), conf, tmp_path / "data", port))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, trust_env=False) as client:
            eventually(lambda: _ready(client), 30, 0.2)
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/-/ready").status_code == 200
    except httpx.TransportError:
        return False


def _query(client: httpx.Client, expr: str) -> list[dict]:
    reply = client.get("/api/v1/query", params={"query": expr})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["result"]


@pytest.mark.integration
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)")
def test_a_real_prometheus_sees_every_target_up_and_evaluates_the_rules(
    mesh: Mesh, http: httpx.Client, observed: httpx.Client
) -> None:
    wanted = sum(len(ports) for ports in mesh.cfg.metrics_ports.values()) + 1  # every replica, and Envoy

    def all_up() -> list[dict] | None:
        active = observed.get("/api/v1/targets").json()["data"]["activeTargets"]
        return active if len(active) == wanted and all(t["health"] == "up" for t in active) else None

    targets = eventually(all_up, 30, 0.2)
    assert {t["labels"]["job"] for t in targets} == {*mesh.cfg.metrics_ports, "envoy"}
    book(mesh, http, new_room(mesh, http, f"h-{uuid.uuid4()}"), f"g-{uuid.uuid4()}", "2041-01-01", "2041-01-03")
    # A saga happened: the error ratio is a number (0 unless a test's saga failed), over two scrapes at least.
    [ratio] = eventually(lambda: _query(observed, "bnb:saga_error_ratio:rate5m"), 30, 0.5)
    assert 0 <= float(ratio["value"][1]) <= 1
    lag = eventually(lambda: _query(observed, "bnb:consumer_lag:max"), 30, 0.5)
    assert {"reservation-payment-policy"} <= {sample["metric"]["durable"] for sample in lag}
    assert _query(observed, 'up{job="envoy"}')[0]["value"][1] == "1"
