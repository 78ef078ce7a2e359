"""Schema migrations with Alembic, one history per service (`<svc>/migrations/`), run at start-up under a lock.

Every replica upgrades at start-up, in one transaction that first takes a lock (PostgreSQL: an advisory
lock; SQLite: its write lock, BEGIN IMMEDIATE): replicas starting together wait for the first one, then
find the schema at head. A database that `create_all` made before migrations existed is stamped with the
baseline first. `python -m svckit.migrate upgrade <service>` does the same by hand; `revision <service> "..."`
writes the next revision from the models (autogenerate against a scratch database at head).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text

from svckit.config import Settings
from svckit.db import Database
from svckit.tables import plumbing

BASELINE = "0001"  # the schema create_all made before migrations


def models(package: str) -> MetaData:
    """The service's tables (`<svc>.repository.metadata`) and svckit's (outbox, inbox, ...), as one."""
    both = MetaData()
    for source in (importlib.import_module(f"{package}.repository").metadata, plumbing):
        for table in source.tables.values():
            table.to_metadata(both)
    return both


def config(package: str, connection: Connection | None = None) -> Config:
    """One environment for all (svckit/migrations: env.py, the revision template), each service's revisions
    in its own `<svc>/migrations/`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    versions = Path(importlib.import_module(package).__file__ or "").parent / "migrations"
    cfg.set_main_option("version_locations", str(versions))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes.update(connection=connection, metadata=models(package))
    return cfg


def run_env() -> None:
    """The body of svckit/migrations/env.py: migrate the connection svckit.migrate hands over."""
    attributes = context.config.attributes
    context.configure(connection=attributes["connection"], target_metadata=attributes["metadata"],
                      render_as_batch=True, compare_type=True)  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


def _lock(conn: Connection, package: str) -> None:
    if conn.dialect.name == "postgresql":  # released when the transaction ends
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"migrate:{package}".encode())})
    # SQLite: the writer's BEGIN IMMEDIATE (svckit.db) already holds the database's one write lock.


def upgrade(db: Database, package: str, revision: str = "head") -> None:
    """Bring the service's schema to `revision`, safely while other replicas do the same.

    A database already at head is left alone without taking the lock, so that a replica starting next to
    serving ones does not hold their writes back (SQLite's lock is the database's one write lock)."""
    if revision == "head" and current(db) == head(package):
        return
    with db.engine.connect().execution_options(writer=True) as conn, conn.begin():
        _lock(conn, package)
        cfg = config(package, conn)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "outbox" in tables:
            command.stamp(cfg, BASELINE)  # made by create_all: the baseline's schema
        command.upgrade(cfg, revision)


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(package: str) -> str:
    return ScriptDirectory.from_config(config(package)).get_current_head() or ""


def differences(db: Database, package: str, wanted: MetaData | None = None) -> list[Any]:
    """What the models (or `wanted`) say that the database's schema does not: empty when every change to the
    models has its revision."""
    with db.engine.connect() as conn:
        migration = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs: list[Any] = compare_metadata(migration, wanted if wanted is not None else models(package))
        return diffs


def revision(package: str, message: str) -> Path:
    """Write the next revision of `package` from its models, numbered after the head."""
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/head.db", producer=package)
        try:
            upgrade(db, package)
            with db.engine.connect().execution_options(writer=True) as conn, conn.begin():
                number = f"{int(head(package) or '0') + 1:04d}"
                script = command.revision(config(package, conn), message, autogenerate=True, rev_id=number)
        finally:
            db.dispose()
    assert isinstance(script, Script)  # one revision asked for, one made
    path = Path(script.path)
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():  # a contributor's venv: the revision in the house style
        subprocess.run([str(ruff), "format", "-q", str(path)], check=False)
        subprocess.run([str(ruff), "check", "-q", "--fix", str(path)], check=False)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["upgrade", "revision"])
    parser.add_argument("service", help="room, reservation, payment, message or view")
    parser.add_argument("message", nargs="?", default="", help="the revision's message")
    args = parser.parse_args(argv)
    package = f"{args.service}_svc"
    if args.command == "revision":
        print(revision(package, args.message or "change"))
        return
    db = Database(Settings.from_env(args.service).database_url, producer=args.service)
    try:
        upgrade(db, package)
        print(f"{args.service}: at {current(db)}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
