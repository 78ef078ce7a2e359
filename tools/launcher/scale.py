"""The production shape on one machine: `make run DB=postgres NATS_NODES=3 REPLICAS=2` read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
DB_KINDS = ("sqlite", "postgres")
MAX_NATS_NODES = 5  # JetStream replicates a stream on at most 5 servers
MAX_REPLICAS = 9  # replica i listens on its service's port + 100·i: 9 keep clear of the next service's range


class ScaleError(ValueError):
    """A scale option is malformed; the message names it."""


def _count(environ: Mapping[str, str], name: str, default: int, most: int) -> int:
    raw = environ.get(name) or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ScaleError(f"{name} must be a whole number from 1 to {most}, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Scale:
    """How many of each process `make run` starts, and on which databases."""

    db: str = "sqlite"
    postgres: str = DEFAULT_POSTGRES  # the server of the per-service databases when db is "postgres"
    nats_nodes: int = 1
    replicas: int = 1  # of every service, unless <SERVICE>_REPLICAS says otherwise
    envoys: int = 1  # edge Envoys on the same ports (SO_REUSEPORT)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Scale:
        """BNB_DB (sqlite|postgres), BNB_POSTGRES_URL, BNB_NATS_NODES, BNB_REPLICAS, BNB_ENVOYS (default: REPLICAS)."""
        db = environ.get("BNB_DB") or "sqlite"
        if db not in DB_KINDS:
            raise ScaleError(f"BNB_DB must be one of {', '.join(DB_KINDS)}, got {db!r}")
        replicas = _count(environ, "BNB_REPLICAS", 1, MAX_REPLICAS)
        return cls(
            db=db,
            postgres=environ.get("BNB_POSTGRES_URL") or DEFAULT_POSTGRES,
            nats_nodes=_count(environ, "BNB_NATS_NODES", 1, MAX_NATS_NODES),
            replicas=replicas,
            envoys=_count(environ, "BNB_ENVOYS", replicas, MAX_REPLICAS),
        )

    def database_urls(self, services: list[str]) -> dict[str, str]:
        """Each service's own database on the PostgreSQL server, <prefix>_<service>; none (SQLite files) otherwise.

        The prefix is the database BNB_POSTGRES_URL names, "bnb" when it names none.
        """
        if self.db != "postgres":
            return {}
        server = make_url(self.postgres)
        prefix = server.database or "bnb"
        return {
            name: server.set(database=f"{prefix}_{name}").render_as_string(hide_password=False) for name in services
        }
