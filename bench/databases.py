"""`make bench DB=postgres`: one fresh PostgreSQL database per service on the local server, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "BNB_TEST_POSTGRES_URL"  # as the tests: a server where CREATE DATABASE is allowed
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres(names: list[str]) -> Iterator[dict[str, str]]:
    """name -> the URL of an empty database of its own; every one of them dropped on the way out."""
    admin_url = os.environ.get(POSTGRES_ENV, LOCAL_POSTGRES)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    run, created = uuid.uuid4().hex[:8], {}
    try:
        with admin.connect() as conn:
            for name in names:
                db_name = f"bnb_bench_{name}_{run}"
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
                created[name] = db_name
        url = make_url(admin_url)
        yield {n: url.set(database=db).render_as_string(hide_password=False) for n, db in created.items()}
    finally:
        with admin.connect() as conn:
            for db_name in created.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
