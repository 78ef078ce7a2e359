"""Databases for the repository tests: a SQLite file, and a fresh PostgreSQL database when configured."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tools.launcher import databases
from tools.launcher.databases import LOCAL_POSTGRES, POSTGRES_ENV


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


def skip_without(kind: str) -> None:
    """Skip the calling test when it needs PostgreSQL and none is configured or answering."""
    if kind == "postgres" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_ENV} is not set and no PostgreSQL answers on 127.0.0.1:5432")


def kinds() -> list[str]:
    return ["sqlite", "postgres"]


@contextmanager
def database_url(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A URL of an empty database of `kind`, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/{name}.db"
        return
    admin = postgres_url()
    assert admin, f"no PostgreSQL: set {POSTGRES_ENV}"
    with databases.fresh(admin, [name]) as urls:
        yield urls[name]
