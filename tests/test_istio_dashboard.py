"""istio/ serves the dashboard as the local edge does: the same files from a ConfigMap the gateway mounts, the
same routes (direct_response), and no demo tokens; checked offline."""

from __future__ import annotations

from pathlib import Path

from tests import istio_manifests as m
from tools.render import dashboard, istio_dashboard


def test_istio_dashboard_yaml_is_current() -> None:
    stale = "istio/dashboard.yaml is stale: make dashboard"
    assert (m.ISTIO / "dashboard.yaml").read_text() == istio_dashboard.render(), stale


def test_the_gateway_mounts_the_files_its_routes_serve() -> None:
    files = m.one("ConfigMap", "bnb-dashboard")["data"]
    assert set(files) == {f.name for f in dashboard.served()} and "index.html" in files
    gateway = m.one("Deployment", "bnb-gateway")
    [mount] = [v for v in m.container(gateway, "istio-proxy")["volumeMounts"] if v["name"] == "dashboard"]
    [volume] = [v for v in gateway["spec"]["template"]["spec"]["volumes"] if v["name"] == "dashboard"]
    assert volume["configMap"]["name"] == "bnb-dashboard" and mount["readOnly"] is True
    patches = m.one("EnvoyFilter", "dashboard")["spec"]["configPatches"]
    routes = [p["patch"]["value"] for p in patches if p["applyTo"] == "HTTP_ROUTE"]
    served = {Path(r["direct_response"]["body"]["filename"]) for r in routes}
    assert served == {Path(mount["mountPath"]) / name for name in files}
    local = dashboard.routes()
    assert [r["match"] for r in reversed(routes)] == [r["match"] for r in local], "the local edge's paths, in order"
    assert all("demo-tokens" not in r["match"]["path"] for r in routes), "production mints nothing"
