"""PostgreSQL databases: fresh ones dropped afterwards (tests, bench), lasting ones (`make run DB=postgres`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from svckit.db import DB_THREADS

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


PER_THREAD = 2  # each database thread of a service keeps a reader and a writer (svckit.db)
BORROWED = 2  # what a process's other threads borrow now and then (start-up, /metrics scrapes)


def threads_to_fit(free: int, processes: int) -> int:
    """Database threads per service process so that `processes` of them fit in `free` connections: svckit.db's
    DB_THREADS when they fit, fewer when not (a default server's 100 connections and REPLICAS=2), at least one."""
    return max(1, min(DB_THREADS, (free // max(processes, 1) - BORROWED) // PER_THREAD))


def fit(url: str, processes: int) -> tuple[int, str]:
    """The database threads each of `processes` service processes gets on the server of `url`, and what to say."""
    most, free = room_left(url)
    threads = threads_to_fit(free, processes)
    need = processes * (threads * PER_THREAD + BORROWED)
    said = (
        f"PostgreSQL: {free} of max_connections={most} free for {processes} service processes:"
        f" {threads} database thread{'s' if threads > 1 else ''} each, up to {need} connections"
    )
    if need > free:
        said += ". Too few: calls may fail with 'too many clients' (raise max_connections, or run fewer REPLICAS)"
    return threads, said
