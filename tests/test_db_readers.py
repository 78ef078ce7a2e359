"""svckit.db on PostgreSQL: a query holds no transaction open (readers in autocommit); writers keep theirs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, text

from svckit.db import Database
from tests.dbs import database_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with database_url("postgres", tmp_path, "readers") as url:
        database = Database(url, "test", threads=1)
        yield database
        database.dispose()


def _status(conn: Connection) -> TransactionStatus:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return TransactionStatus(dbapi.info.transaction_status)


def test_a_query_leaves_no_transaction_open_on_the_kept_reader_or_a_borrowed_one(db: Database) -> None:
    def query() -> TransactionStatus:
        with db.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            return _status(conn)  # IDLE: no BEGIN was sent, so nothing to roll back and no snapshot held

    kept = asyncio.run(db.run(query))  # a database thread's own reader
    borrowed = query()  # any other thread's, from the pool
    assert kept == borrowed == TransactionStatus.IDLE


def test_a_writer_still_runs_in_a_transaction(db: Database) -> None:
    with db.uow() as uow:
        uow.conn.execute(text("SELECT 1"))
        assert _status(uow.conn) == TransactionStatus.INTRANS
