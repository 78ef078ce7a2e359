"""Databases for the repository tests: a SQLite file, and a fresh PostgreSQL database when configured."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "BNB_TEST_POSTGRES_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@functools.cache
def postgres_url() -> str | None:
    """BNB_TEST_POSTGRES_URL, else the local server if one answers there; None when there is none."""
    if url := os.environ.get(POSTGRES_ENV):
        return url
    try:
        engine = create_engine(LOCAL_POSTGRES, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return None
    return LOCAL_POSTGRES


def kinds() -> list[str]:
    return ["sqlite", "postgres"]


@contextmanager
def database_url(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A URL of an empty database of `kind`, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/{name}.db"
        return
    admin_url = postgres_url()
    assert admin_url, f"no PostgreSQL: set {POSTGRES_ENV}"
    db_name = f"bnb_{name}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    try:
        yield make_url(admin_url).set(database=db_name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
