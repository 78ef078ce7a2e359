"""The README's safe retry with an idempotency key, run as printed (curl and grpcurl) against a mesh."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.harness import Mesh
from tests.test_events import new_room

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def retry_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Retrying safely: idempotency keys") : readme.index("## Architecture")]
    [block] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return block


def test_the_readme_retry_runs_as_printed(mesh: Mesh, http: httpx.Client) -> None:
    script = retry_block().replace("localhost:8088", mesh.edge)
    env = {**os.environ, "TOKEN": mesh.token("g-readme-retry", "guest"), "ROOM": new_room(mesh, http, "h-readme")}
    env["no_proxy"] = "127.0.0.1,localhost"
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert re.findall(r"^HTTP/1.1 (\d+)", out, flags=re.M) == ["200", "200", "400"], out
    ids = re.findall(r'"reservation_id":"([^"]+)"', out)
    assert len(ids) == 2 and ids[0] == ids[1], out
    assert re.findall(r"^idempotent-replayed: true", out, flags=re.M | re.I) == ["idempotent-replayed: true"], out
    assert f'"reservationId": "{ids[0]}"' in out, out  # grpcurl's answer: the same reservation
    assert "was used for another request; a new request needs a new key" in out
