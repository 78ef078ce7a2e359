"""What every service's main.py does alike: its database, servicers, consumers, and the run loop."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvloop
from google.protobuf.descriptor import FileDescriptor
from sqlalchemy import inspect, text

from svckit import logs, tracing
from svckit.config import Settings
from svckit.db import Database
from svckit.policies import Policies, Subscription
from svckit.server import App, Servicer, serve
from svckit.uow import UnitOfWork


def database(settings: Settings, unit: type[UnitOfWork] = UnitOfWork) -> Database:
    """The service's own database, migrated to the head of `<svc>/migrations/` (under a lock: replicas may
    start together) by a short-lived process: Alembic (about 11 MB once imported) stays out of the service.
    A database already at head, as on every restart, skips that process (half a second of a restart's gap).
    `unit`: the context's unit of work, with its repositories; the consumers hand its handlers one of these."""
    db = Database(settings.database_url, producer=settings.service, unit=unit, threads=settings.db_threads)
    if schema_version(db) != newest_revision(f"{settings.service}_svc"):
        env = {**os.environ, "BNB_DATABASE_URL": settings.database_url}
        subprocess.run([sys.executable, "-m", "svckit.migrate", "upgrade", settings.service], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return db


def schema_version(db: Database) -> str | None:
    """The revision the database is at (Alembic's own table), None before the first migration."""
    with db.read() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        version: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return version


def newest_revision(package: str) -> str:
    """The head of `<package>/migrations/`, without Alembic: svckit.migrate numbers every revision after the
    head, and names its file after its number (tests/test_migrations.py holds Alembic to the same answer)."""
    folder = Path(importlib.import_module(package).__file__ or "").parent / "migrations"
    return max((p.name[:4] for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py")), default="")


def servicer(add: Callable[[Any, Any], None], impl: object, file: FileDescriptor, name: str) -> Servicer:
    """A servicer and its full service name, taken from the generated descriptor."""
    return Servicer(add, impl, file.services_by_name[name].full_name)


def consumers(
    service: str,
    purpose: str,
    policies: Policies,
    locks: Callable[[Any], Iterable[str]] | None = None,
    linger_s: float = 0.0,
) -> list[Subscription]:
    """One durable consumer `<service>-<producer>-<purpose>` per producer whose events the service handles;
    `locks`: the UnitOfWork.lock keys its handlers take for an event (see Subscription); `linger_s`: how long a
    batch waits for more events when the consumer is caught up (svckit.pull.batches)."""
    return [
        Subscription(f"{service}-{producer}-{purpose}", producer, handlers, locks, linger_s=linger_s)
        for producer, handlers in policies.items()
    ]


def run(service: str, build: Callable[[Settings], App]) -> None:
    """Settings from the environment, JSON logs, then build and serve inside one event loop until SIGTERM."""
    settings = Settings.from_env(service)
    logs.configure(settings.service, settings.log_level, settings.log_file)
    tracing.setup(settings.service, settings.otlp_endpoint)  # before serve wraps the served methods by it

    async def main() -> None:
        try:
            app = build(settings)  # gRPC channels made while building bind to this loop
            # What start-up made (modules, descriptors, the app) lives as long as the process: out of the cyclic
            # collector's sight, each full collection walks only what serving makes (about 5 % less CPU per saga).
            gc.collect()
            gc.freeze()
            await serve(app)
        finally:
            tracing.shutdown()

    uvloop.run(main())  # libuv's loop: less of each call's CPU goes to the loop itself
