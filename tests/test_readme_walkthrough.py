"""The README's walkthrough, run as printed (curl and grpcurl with tokens from `make -s token`) against a mesh."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.harness import Mesh

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The walkthrough") : readme.index("### Who may call what")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, "the REST and the gRPC walkthrough"
    return "\n".join(blocks)


def test_the_readme_walkthrough_runs_as_printed(mesh: Mesh) -> None:
    script = walkthrough().replace("localhost:8088", mesh.edge)
    assert "curl -s " in script and "make -s token" in script and '-H "authorization: Bearer $TOKEN"' in script
    script = script.replace("curl -s ", "curl -s --fail-with-body ")  # an HTTP error stops the run
    env = {**os.environ, "BNB_DATA_DIR": str(mesh.cfg.data_dir), "no_proxy": "127.0.0.1,localhost"}
    env.pop("BNB_JWKS", None)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert '"status":"cancelled"' in out and '"rating":5' in out and '"text":"Lovely"' in out
    assert '"host_id":"h1"' in out and '"guest_id":"g1"' in out and '"status":"approved"' in out
    assert "bnb.reservation.v1.ReservationService" in out and "grpc.health.v1.Health" in out
    assert '"description": "Loft"' in out and '"reservations": [' in out  # grpcurl's RegisterRoom, List...
