"""Run the whole mesh on localhost under supervisord: NATS JetStream, Envoy and the five services."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import xmlrpc.client
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from tools import topology
from tools.launcher import announcer, databases, nats_cluster, probes
from tools.launcher.config import ROOT, MeshConfig
from tools.launcher.tokens import Identity
from tools.render import dashboard, envoy_config

BIN = Path(sys.executable).parent
SUPERVISORD = [f"{BIN}/python", "-m", "tools.launcher.supervisord"]  # supervisord, restarting at once
SOCKET = "s.sock"  # supervisord's XML-RPC socket in the run dir (a short path: AF_UNIX caps it)
PRIORITY = {"nats": 100, "envoy": 200, "service": 300, "announce": 900}  # stopped in reverse order


def niced(niceness: int) -> list[str]:
    """The words that start a program under `niceness` (mesh.toml); `nice` execs it, so the pid stays the program's."""
    return ["nice", "-n", str(niceness)] if niceness else []


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
    variant = dataclasses.replace(cfg.variant, demo_tokens=demo)
    envoy = envoy_config.render(topo, cfg.ports, str(ROOT / "envoy" / "bnb.pb"), identity, variant)
    parts = [
        f"[supervisord]\nnodaemon=true\nsilent=true\nlogfile={run}/supervisord.log\npidfile={run}/supervisord.pid\n"
        f"childlogdir={logs}\nloglevel=info\n",
        f"[unix_http_server]\nfile={run / SOCKET}\n",
        f"[supervisorctl]\nserverurl=unix://{run / SOCKET}\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
    ]
    for node in cfg.nats:
        program = nats_cluster.program(node, cfg.nats)
        command = nats_cluster.command(BIN / "nats-server", node, cfg.nats, cfg.data_dir, run)
        command = " ".join([*niced(topo.nats_nice), command])
        parts.append(_program(program, command, logs / f"{program}.log", PRIORITY["nats"], cfg.nats_env()))
    for i, admin in enumerate(cfg.envoy_admins):
        parts.append(_envoy(cfg, envoy, i, admin))
    for service, ports in cfg.ports.endpoints.items():
        for i, port in enumerate(ports):
            # The service writes its own log; supervisord keeps only what escapes it (a crash at start-up).
            env = {**cfg.service_env(service, port), "BNB_LOG_FILE": str(logs / f"{service}-{i}.log")}
            if metrics := cfg.metrics_ports.get(service):
                env["BNB_METRICS_PORT"] = str(metrics[i])
            command = " ".join([*niced(topo.services[service].nice), f"{BIN}/python -m {service}_svc"])
            parts.append(_program(f"{service}-{i}", command, logs / f"{service}-{i}.out", PRIORITY["service"], env))
    names = [f"{service}-{i}" for service, ports in cfg.ports.endpoints.items() for i in range(len(ports))]
    # One group: supervisord stops (drains) all services at once instead of one after another.
    parts.append(f"[group:svc]\nprograms={','.join(names)}\npriority={PRIORITY['service']}\n")
    if announce:
        parts.append(
            _program("announce", f"{BIN}/python -m tools.launcher.local announce", Path("/dev/stdout"),
                     PRIORITY["announce"], {"BNB_DATA_DIR": str(cfg.data_dir)}, autorestart="false", startsecs="0",
                     stdout_logfile_maxbytes="0")
        )  # fmt: skip
    conf = run / "supervisord.conf"
    conf.write_text("\n".join(parts))
    (run / "mesh.json").write_text(json.dumps(_describe(cfg)))
    return conf


def _envoy(cfg: MeshConfig, bootstrap: dict[str, object], i: int, admin: int) -> str:
    """Edge Envoy i: the one bootstrap with its own admin port, written as envoy.json (the first) or envoy-<i>.json.

    Several Envoys share the edge and mesh ports (their listeners set SO_REUSEPORT: the kernel spreads new
    connections over them), so that losing one costs only the connections it held.
    """
    run, name = cfg.run_dir, "envoy" if i == 0 else f"envoy-{i}"
    admin_address = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}}
    (run / f"{name}.json").write_text(json.dumps({**bootstrap, "admin": admin_address}, indent=1))
    command = (
        f"{BIN}/envoy -c {run}/{name}.json --disable-hot-restart --base-id {i} --concurrency {cfg.envoy_concurrency}"
        " -l warn --file-flush-interval-msec 500"  # access log lines show up within half a second
    )
    return _program(name, command, run / "logs" / f"{name}.log", PRIORITY["envoy"])


def _describe(cfg: MeshConfig) -> dict[str, object]:
    p = cfg.ports
    return {"edge": p.edge, "mesh": p.mesh, "admin": p.admin, "nats": cfg.nats_port, "monitor": cfg.monitor_port,
            "endpoints": p.endpoints, "metrics": cfg.metrics_ports, "nats_urls": nats_cluster.urls(cfg.nats),
            "nats_programs": {nats_cluster.program(n, cfg.nats): n.monitor for n in cfg.nats},
            "admins": cfg.envoy_admins, "database_urls": cfg.database_urls}  # fmt: skip


def supervisor(run_dir: Path) -> xmlrpc.client.ServerProxy:
    """The XML-RPC interface of the supervisord `write` configured in `run_dir` (one proxy per thread)."""
    transport = SupervisorTransport(serverurl=f"unix://{run_dir / SOCKET}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def wait_ready(cfg: MeshConfig, timeout_s: float = 90.0) -> None:
    """Block until NATS, every replica (gRPC health SERVING) and Envoy (hosts healthy) are ready."""
    cluster = len(cfg.nats) > 1
    for node in cfg.nats:  # a cluster's node is ready once it knows the meta leader
        ready = functools.partial(probes.nats_ready, node.monitor, cluster)
        probes.wait_until(ready, timeout_s, f"NATS JetStream {node.name}")
    for service, ports in cfg.ports.endpoints.items():
        for port in ports:
            probes.wait_until(functools.partial(probes.serving, f"127.0.0.1:{port}"), timeout_s, f"{service} on {port}")
    for service, ports in cfg.ports.endpoints.items():
        wanted = len(ports)
        for admin in cfg.envoy_admins:
            probes.wait_until(
                functools.partial(_sees, admin, service, wanted),
                timeout_s, f"Envoy (admin {admin}) seeing {service} healthy",
            )  # fmt: skip


def _sees(admin: int, service: str, wanted: int) -> bool:
    return probes.envoy_healthy(admin, service) >= wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run", "config", "announce", "wait"])
    args = parser.parse_args()
    cfg = MeshConfig.from_env()
    if args.command in ("announce", "wait"):
        announcer.announce(cfg) if args.command == "announce" else wait_ready(cfg)
        return
    if args.command == "run" and cfg.database_urls:
        if created := databases.ensure(cfg.database_urls):
            print(f"created PostgreSQL databases {', '.join(created)}; each service migrates its own at start-up")
        processes = sum(len(ports) for ports in cfg.ports.endpoints.values())
        threads, said = databases.fit(next(iter(cfg.database_urls.values())), processes)
        cfg.env["BNB_DB_THREADS"] = str(threads)
        print(said, flush=True)
    conf = write(cfg, announce=True)
    if args.command == "run":
        # exec: supervisord itself gets Ctrl-C/SIGTERM and stops the programs in reverse priority.
        os.execv(f"{BIN}/python", [*SUPERVISORD, "-c", str(conf)])
    print(conf)


if __name__ == "__main__":
    main()
