"""PostgreSQL databases: fresh ones dropped afterwards (tests, bench), lasting ones (`make run DB=postgres`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "BNB_TEST_POSTGRES_URL"  # a server where CREATE DATABASE is allowed
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    """BNB_TEST_POSTGRES_URL, else the machine's local server."""
    return os.environ.get(POSTGRES_ENV) or LOCAL_POSTGRES


@contextmanager
def fresh(admin: str, names: list[str], prefix: str = "bnb") -> Iterator[dict[str, str]]:
    """name -> the URL of an empty database of its own on the server of `admin`; every one dropped on the way out."""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    run, created = uuid.uuid4().hex[:10], {}
    try:
        with engine.connect() as conn:
            for name in names:
                created[name] = f"{prefix}_{name}_{run}"
                conn.execute(text(f'CREATE DATABASE "{created[name]}"'))
        url = make_url(admin)
        yield {name: url.set(database=db).render_as_string(hide_password=False) for name, db in created.items()}
    finally:
        with engine.connect() as conn:
            for db in created.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        engine.dispose()


def ensure(urls: dict[str, str], maintenance: str = "postgres") -> list[str]:
    """Create each URL's PostgreSQL database when it is missing (through the server's `maintenance` database);
    the names of those created. The services migrate them at start-up."""
    created: list[str] = []
    for url in urls.values():
        target = make_url(url)
        engine = create_engine(target.set(database=maintenance), isolation_level="AUTOCOMMIT",
                               connect_args={"connect_timeout": 5})  # fmt: skip
        try:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
                if found.first() is None:
                    conn.execute(text(f'CREATE DATABASE "{target.database}"'))
                    created.append(str(target.database))
        finally:
            engine.dispose()
    return created


def room_left(url: str) -> tuple[int, int]:
    """The server's max_connections, and how many of them are free now (less those reserved for superusers)."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            most = int(conn.execute(text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
            used = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    finally:
        engine.dispose()
    return most, most - reserved - used


# Each service process keeps a reader and a writer per database thread (svckit.db: 8 threads) under load.
CONNECTIONS_PER_PROCESS = 16


def short_of_connections(url: str, processes: int) -> str | None:
    """A warning when the server of `url` may run out of connections for this many service processes."""
    most, free = room_left(url)
    if free >= processes * CONNECTIONS_PER_PROCESS:
        return None
    return (
        f"warning: {processes} service processes may hold up to {processes * CONNECTIONS_PER_PROCESS} PostgreSQL"
        f" connections under load; the server has {free} free of max_connections={most}. Calls may fail with"
        " 'too many clients' (raise max_connections, or run fewer REPLICAS)"
    )
