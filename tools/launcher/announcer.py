"""What `make run` prints once the mesh is ready: where everything listens, and a first walkthrough."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from tools.launcher import nats_cluster
from tools.launcher.tokens import Identity

if TYPE_CHECKING:
    from tools.launcher.config import MeshConfig


def announce(cfg: MeshConfig) -> None:
    started = time.monotonic()
    from tools.launcher.local import wait_ready  # the launcher imports this module

    wait_ready(cfg)
    e = cfg.ports.edge
    check_in = dt.date.today() + dt.timedelta(days=30)  # within BNB_MAX_DAYS_AHEAD
    print(
        f"""
bnb-mesh is up ({time.monotonic() - started:.1f}s): every service reports SERVING.
  REST + gRPC edge   http://localhost:{e}   (Envoy: gRPC-JSON transcoding, public services only)
  dashboard          http://localhost:{e}/   (sign in as the demo users h1, h2, g1, g2)
  mesh listener      127.0.0.1:{cfg.ports.mesh}   (services' sync calls)
  Envoy admin        {_admins(cfg)}   (Prometheus: /stats/prometheus)
  metrics            {_metrics(cfg)}   (/metrics; make observe: Prometheus)
  NATS JetStream     {_nats(cfg)}
  databases          {_databases(cfg)}
  data and logs      {cfg.data_dir}  (logs in {cfg.run_dir / "logs"})
  tokens verified    {_identity(cfg)}
Try (the catalogue is public; everything else takes a token: make -s token GUEST=g1, or HOST=h1):
  HOST_TOKEN=$(make -s token HOST=h1) GUEST_TOKEN=$(make -s token GUEST=g1)
  curl -s -X POST localhost:{e}/rooms -H "authorization: Bearer $HOST_TOKEN" \\
       -d '{{"description":"Beautiful House","price_per_night":12000}}'
  curl -s localhost:{e}/rooms
  curl -s -X POST localhost:{e}/reservations -H "authorization: Bearer $GUEST_TOKEN" \\
       -d '{{"room_id":"<room_id>","check_in":"{check_in}","check_out":"{check_in + dt.timedelta(days=2)}"}}'
  curl -s localhost:{e}/roomviews
  .venv/bin/grpcurl -plaintext localhost:{e} list
Ctrl-C stops everything.""",
        flush=True,
    )


def _admins(cfg: MeshConfig) -> str:
    shown = ", ".join(f"http://localhost:{port}" for port in cfg.envoy_admins)
    return shown + (f" ({len(cfg.envoy_admins)} edge Envoys on the same ports)" if len(cfg.envoy_admins) > 1 else "")


def _nats(cfg: MeshConfig) -> str:
    monitors = ", ".join(str(node.monitor) for node in cfg.nats)
    shape = (
        f"a {len(cfg.nats)}-node cluster, streams R{nats_cluster.stream_replicas(cfg.nats)}; "
        if len(cfg.nats) > 1
        else ""
    )
    return f"{nats_cluster.urls(cfg.nats)}  ({shape}monitor {monitors})"


def _databases(cfg: MeshConfig) -> str:
    if not cfg.database_urls:
        return f"SQLite, one file per service in {cfg.data_dir}"
    return "PostgreSQL, one per service: " + ", ".join(url.rsplit("/", 1)[1] for url in cfg.database_urls.values())


def _metrics(cfg: MeshConfig) -> str:
    return ", ".join(f"{s} {','.join(map(str, ports))}" for s, ports in cfg.metrics_ports.items()) or "none"


def _identity(cfg: MeshConfig) -> str:
    identity = cfg.identity or Identity.from_env(cfg.data_dir, {})
    return f"issuer {identity.issuer}, audience {identity.audience}, keys {identity.jwks}"
