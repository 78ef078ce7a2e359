"""The fault drill, short: on SQLite with one NATS node, and on PostgreSQL with a 3-node JetStream cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.dbs import postgres_url, skip_without
from tools import topology
from tools.demos.drill import report
from tools.demos.drill.run import drill
from tools.demos.drill.target import Target
from tools.demos.private_mesh import Mesh, mesh_config
from tools.launcher import databases
from tools.launcher.config import MeshConfig

pytestmark = pytest.mark.integration
# A saga a kill left pending is compensated 9 s on (the least the saga deadline allows), not 30: a short settle.
QUICK_RECOVERY = {"BNB_RECOVER_AFTER_SECONDS": "9"}


def run_drill(cfg: MeshConfig, seconds_per_kill: float) -> report.Result:
    with Mesh.start(cfg):
        result = asyncio.run(drill(Target.of(cfg.run_dir), seconds_per_kill, workers=6, settle_timeout_s=90, rooms=20))
    print(report.render(result))  # the tables, with pytest -s or on failure
    return result


def assert_invariants_hold(result: report.Result) -> None:
    assert {c.name: c.violations[:5] for c in result.checks} == {c.name: [] for c in result.checks}
    assert all(c.checked for c in result.checks)
    assert len(result.ledger.accepted) >= 30 and result.ledger.cancelled
    assert {"conflict", "cancel", "reserve"} <= {c.kind for c in result.calls}


def test_short_drill_on_sqlite_with_one_nats_node(tmp_path: Path) -> None:
    result = run_drill(mesh_config(tmp_path, env=QUICK_RECOVERY), seconds_per_kill=2.0)
    assert [k.what for k in result.kills] == [*(f"{s}-0" for s in topology.load().services), "a NATS node", "envoy"]
    assert all("kill -9" in k.detail for k in result.kills), [k.detail for k in result.kills]
    assert_invariants_hold(result)


@pytest.mark.postgres
def test_drill_on_postgres_with_three_nats_nodes(tmp_path: Path) -> None:
    skip_without("postgres")
    with databases.fresh(postgres_url() or "", list(topology.load().services)) as urls:
        cfg = mesh_config(tmp_path, nats_nodes=3, database_urls=urls, env=QUICK_RECOVERY)
        result = run_drill(cfg, seconds_per_kill=2.5)
    kinds = [k.kind for k in result.kills]
    assert kinds == ["service"] * 5 + ["nats", "envoy", "postgres"]
    assert "leader of RESERVATION" in result.kills[5].detail
    assert "pg_terminate_backend(" in result.kills[7].detail and result.kills[7].detail.endswith(": done")
    assert_invariants_hold(result)
