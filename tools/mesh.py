"""Run the whole mesh on localhost under supervisord: NATS JetStream, Envoy and the five services."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools import dashboard, envoy_config, probes, topology
from tools.tokens import Identity

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRIORITY = {"nats": 100, "envoy": 200, "service": 300, "announce": 900}  # stopped in reverse order


@dataclass
class MeshConfig:
    """Everything that differs between `make run` and a test's private mesh."""

    data_dir: Path
    nats_port: int
    monitor_port: int
    ports: envoy_config.Ports
    database_urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    pool: dict[str, int] | None = None  # connection-pool override (the circuit-breaker demo)
    pool_clusters: tuple[str, ...] | None = None  # the clusters `pool` applies to; None: all
    health_checks: bool = True  # Envoy's active gRPC health checks (a test turns them off)
    faults: dict[str, str] = field(default_factory=dict)  # Envoy fault filters: name -> gRPC path prefix
    envoy_concurrency: int = 2
    identity: Identity | None = None  # what the edge verifies; None: the development key in data_dir
    metrics_ports: dict[str, list[int]] = field(default_factory=dict)  # service -> each replica's /metrics port

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> MeshConfig:
        """envoy/mesh.toml's ports, each overridable (BNB_EDGE_PORT, ROOM_PORT, ...); BNB_DATA_DIR; ROOM_REPLICAS..."""
        topo = topology.load()

        def port(name: str, default: int) -> int:
            return int(environ.get(name, default))

        endpoints, metrics = {}, {}
        for name, spec in topo.services.items():
            base, replicas = port(f"{name.upper()}_PORT", spec.port), port(f"{name.upper()}_REPLICAS", 1)
            endpoints[name] = [base + 100 * i for i in range(replicas)]
            metrics_base = port(f"{name.upper()}_METRICS_PORT", spec.metrics_port)
            metrics[name] = [metrics_base + 100 * i for i in range(replicas)]
        edge = envoy_config.Ports(
            port("BNB_EDGE_PORT", topo.edge_port),
            port("BNB_MESH_PORT", topo.mesh_port),
            port("BNB_ADMIN_PORT", topo.admin_port),
            endpoints,
        )
        nats = port("BNB_NATS_PORT", topo.nats_port)
        data_dir = Path(environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve()
        return cls(
            data_dir=data_dir,
            nats_port=nats,
            monitor_port=port("BNB_NATS_MONITOR_PORT", nats + 4000),
            ports=edge,
            env={k: v for k, v in environ.items() if k == "MAX_RESERVATIONS_PER_GUEST"},
            identity=Identity.from_env(data_dir, environ),
            metrics_ports=metrics,
        )

    def service_env(self, service: str, port: int) -> dict[str, str]:
        env = {
            "BNB_PORT": str(port),
            "BNB_DATA_DIR": str(self.data_dir),
            "BNB_NATS_URL": f"nats://127.0.0.1:{self.nats_port}",
            "BNB_MESH_ADDR": f"127.0.0.1:{self.ports.mesh}",
            "no_proxy": "127.0.0.1,localhost",
            **self.env,
        }
        if service in self.database_urls:
            env["BNB_DATABASE_URL"] = self.database_urls[service]
        return env


def _program(name: str, command: str, log: Path, priority: int, env: dict[str, str] | None = None, **extra: str) -> str:
    options = {
        "command": command,
        "directory": str(ROOT),
        "priority": str(priority),
        "autorestart": "true",  # self-healing: a crashed or kill -9'd process is started again at once
        "startsecs": "1",
        "startretries": "1000",
        "stopsignal": "TERM",
        "stopwaitsecs": "30",  # > drain + grace (svckit.server)
        "stopasgroup": "true",
        "killasgroup": "true",
        "redirect_stderr": "true",
        "stdout_logfile": str(log),
        "stdout_logfile_maxbytes": "50MB",
    }
    if env:
        options["environment"] = ",".join(f'{k}="{v.replace("%", "%%")}"' for k, v in env.items())
    options.update(extra)
    return "\n".join([f"[program:{name}]", *(f"{k}={v}" for k, v in options.items())]) + "\n"


def write(cfg: MeshConfig, announce: bool = False) -> Path:
    """Write envoy.json and supervisord.conf under the run dir; returns the supervisord.conf path."""
    run, logs = cfg.run_dir, cfg.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    topo = topology.load()
    identity = cfg.identity or Identity.from_env(cfg.data_dir, {})
    demo = dashboard.write_demo_tokens(cfg.data_dir, identity, run)  # None unless the development key
    variant = envoy_config.Variant(cfg.pool, cfg.pool_clusters, cfg.health_checks, cfg.faults, demo)
    envoy = envoy_config.render(topo, cfg.ports, str(ROOT / "envoy" / "bnb.pb"), identity, variant)
    (run / "envoy.json").write_text(json.dumps(envoy, indent=1))
    parts = [
        f"[supervisord]\nnodaemon=true\nsilent=true\nlogfile={run}/supervisord.log\npidfile={run}/supervisord.pid\n"
        f"childlogdir={logs}\nloglevel=info\n",
        f"[unix_http_server]\nfile={run}/s.sock\n",
        f"[supervisorctl]\nserverurl=unix://{run}/s.sock\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        _program(
            "nats",
            f"{BIN}/nats-server -a 127.0.0.1 -p {cfg.nats_port} -m {cfg.monitor_port} -js -sd {cfg.data_dir}/jetstream",
            logs / "nats.log", PRIORITY["nats"],
        ),
        _program(
            "envoy",
            f"{BIN}/envoy -c {run}/envoy.json --disable-hot-restart --concurrency {cfg.envoy_concurrency} -l warn"
            " --file-flush-interval-msec 500",  # access log lines show up within half a second
            logs / "envoy.log", PRIORITY["envoy"],
        ),
    ]  # fmt: skip
    for service, ports in cfg.ports.endpoints.items():
        for i, port in enumerate(ports):
            # The service writes its own log; supervisord keeps only what escapes it (a crash at start-up).
            env = {**cfg.service_env(service, port), "BNB_LOG_FILE": str(logs / f"{service}-{i}.log")}
            if metrics := cfg.metrics_ports.get(service):
                env["BNB_METRICS_PORT"] = str(metrics[i])
            parts.append(
                _program(f"{service}-{i}", f"{BIN}/python -m {service}_svc", logs / f"{service}-{i}.out",
                         PRIORITY["service"], env)
            )  # fmt: skip
    names = [f"{service}-{i}" for service, ports in cfg.ports.endpoints.items() for i in range(len(ports))]
    # One group: supervisord stops (drains) all services at once instead of one after another.
    parts.append(f"[group:svc]\nprograms={','.join(names)}\npriority={PRIORITY['service']}\n")
    if announce:
        parts.append(
            _program("announce", f"{BIN}/python -m tools.mesh announce", Path("/dev/stdout"), PRIORITY["announce"],
                     {"BNB_DATA_DIR": str(cfg.data_dir)}, autorestart="false", startsecs="0",
                     stdout_logfile_maxbytes="0")
        )  # fmt: skip
    conf = run / "supervisord.conf"
    conf.write_text("\n".join(parts))
    (run / "mesh.json").write_text(json.dumps(_describe(cfg)))
    return conf


def _describe(cfg: MeshConfig) -> dict[str, object]:
    p = cfg.ports
    return {"edge": p.edge, "mesh": p.mesh, "admin": p.admin, "nats": cfg.nats_port, "monitor": cfg.monitor_port,
            "endpoints": p.endpoints, "metrics": cfg.metrics_ports}  # fmt: skip


def wait_ready(cfg: MeshConfig, timeout_s: float = 90.0) -> None:
    """Block until NATS, every replica (gRPC health SERVING) and Envoy (hosts healthy) are ready."""
    probes.wait_until(lambda: probes.nats_ready(cfg.monitor_port), timeout_s, "NATS JetStream")
    for service, ports in cfg.ports.endpoints.items():
        for port in ports:
            probes.wait_until(functools.partial(probes.serving, f"127.0.0.1:{port}"), timeout_s, f"{service} on {port}")
    for service, ports in cfg.ports.endpoints.items():
        wanted = len(ports)
        probes.wait_until(
            functools.partial(probes.envoy_sees, cfg.ports.admin, service, wanted),
            timeout_s, f"Envoy seeing {service} healthy",
        )  # fmt: skip


def announce(cfg: MeshConfig) -> None:
    started = time.monotonic()
    wait_ready(cfg)
    e = cfg.ports.edge
    check_in = dt.date.today() + dt.timedelta(days=30)  # within BNB_MAX_DAYS_AHEAD
    print(
        f"""
bnb-mesh is up ({time.monotonic() - started:.1f}s): every service reports SERVING.
  REST + gRPC edge   http://localhost:{e}   (Envoy: gRPC-JSON transcoding, public services only)
  dashboard          http://localhost:{e}/   (sign in as the demo users h1, h2, g1, g2)
  mesh listener      127.0.0.1:{cfg.ports.mesh}   (services' sync calls)
  Envoy admin        http://localhost:{cfg.ports.admin}   (Prometheus: /stats/prometheus)
  metrics            {_metrics(cfg)}   (/metrics; make observe: Prometheus)
  NATS JetStream     nats://127.0.0.1:{cfg.nats_port}  (monitor http://localhost:{cfg.monitor_port})
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


def _metrics(cfg: MeshConfig) -> str:
    return ", ".join(f"{s} {','.join(map(str, ports))}" for s, ports in cfg.metrics_ports.items()) or "none"


def _identity(cfg: MeshConfig) -> str:
    identity = cfg.identity or Identity.from_env(cfg.data_dir, {})
    return f"issuer {identity.issuer}, audience {identity.audience}, keys {identity.jwks}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run", "config", "announce", "wait"])
    args = parser.parse_args()
    cfg = MeshConfig.from_env()
    if args.command in ("announce", "wait"):
        announce(cfg) if args.command == "announce" else wait_ready(cfg)
        return
    conf = write(cfg, announce=True)
    if args.command == "run":
        # exec: supervisord itself gets Ctrl-C/SIGTERM and stops the programs in reverse priority.
        os.execv(f"{BIN}/supervisord", [f"{BIN}/supervisord", "-c", str(conf)])
    print(conf)


if __name__ == "__main__":
    main()
