"""The mesh a drill runs against, as its launcher described it in run/mesh.json, and its supervisord."""

from __future__ import annotations

import json
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tools.launcher import local, tokens


@dataclass(frozen=True)
class Target:
    """Where the mesh listens, which processes it runs, and each service's database."""

    run_dir: Path
    edge: str
    admins: list[int]
    nats_urls: str
    nats_programs: dict[str, int]  # supervisord program -> its monitoring port
    endpoints: dict[str, list[int]]  # service -> replica ports
    database_urls: dict[str, str]  # every service's, SQLite files included

    @classmethod
    def of(cls, run_dir: Path) -> Target:
        """The mesh whose run dir this is (tools.launcher.local.write wrote its mesh.json)."""
        path = run_dir / "mesh.json"
        if not path.exists():
            raise SystemExit(f"no mesh described at {path}: start one with `make run` first")
        described = json.loads(path.read_text())
        data_dir = run_dir.parent
        urls = {s: f"sqlite:///{data_dir}/{s}.db" for s in described["endpoints"]}
        return cls(
            run_dir=run_dir,
            edge=f"127.0.0.1:{described['edge']}",
            admins=described.get("admins") or [described["admin"]],
            nats_urls=described.get("nats_urls") or f"nats://127.0.0.1:{described['nats']}",
            nats_programs=described.get("nats_programs") or {"nats": described["monitor"]},
            endpoints=described["endpoints"],
            database_urls={**urls, **described.get("database_urls", {})},
        )

    @property
    def data_dir(self) -> Path:
        return self.run_dir.parent

    @property
    def replicas(self) -> int:
        """The fewest replicas any service has: what one kill may leave it with."""
        return min(len(ports) for ports in self.endpoints.values())

    @property
    def postgres(self) -> bool:
        return any(url.startswith("postgresql") for url in self.database_urls.values())

    def supervisor(self) -> xmlrpc.client.ServerProxy:
        """supervisord's XML-RPC interface (one proxy per thread)."""
        return local.supervisor(self.run_dir)

    def pid(self, program: str) -> int:
        """The program's pid; 0 while it is not running."""
        info = cast("dict[str, Any]", self.supervisor().supervisor.getProcessInfo(program))  # XML-RPC: untyped
        return int(info["pid"])

    def token(self, subject: str, role: str) -> str:
        return tokens.mint(self.data_dir, subject, role)

    def shape(self) -> str:
        """ "SQLite, 1 NATS node, 1 replica" and the like."""
        db = "PostgreSQL" if self.postgres else "SQLite"
        nodes, envoys = len(self.nats_programs), len(self.admins)
        return (
            f"{db}, {nodes} NATS node{'s' * (nodes > 1)}, {self.replicas} replica{'s' * (self.replicas > 1)}"
            f" of each service, {envoys} edge Envoy{'s' * (envoys > 1)}"
        )
