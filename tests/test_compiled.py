"""svckit.compiled gives what Core's conn.execute gives, inside the same transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from svckit.compiled import Compiled
from svckit.tables import UtcDateTime
from tests.dbs import database_url, kinds

pytestmark = pytest.mark.postgres
metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("thing_id", String(36), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("at", UtcDateTime(), nullable=True),
    Column("naive", DateTime(), nullable=True),
)
defaulted = Table("defaulted", metadata, Column("k", String(10), primary_key=True), Column("n", Integer, default=7))
AT = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
ROWS = [{"thing_id": f"t{i}", "size": i, "at": AT + dt.timedelta(hours=i), "naive": dt.datetime(2026, 1, i + 1)}
        for i in range(4)]  # fmt: skip
ADD = Compiled(things.insert())
GET = Compiled(select(things).where(things.c.thing_id == bindparam("key")))
BIGGEST = Compiled(select(things).where(things.c.size > 0).order_by(things.c.size.desc()).limit(2))
GROW = Compiled(things.update().where(things.c.thing_id == bindparam("key")).values(size=things.c.size + 10))
AMONG = Compiled(select(things.c.thing_id).where(things.c.thing_id.in_(bindparam("ids", expanding=True))))


def _connected(kind: str, tmp_path: Path) -> Iterator[Connection]:
    with database_url(kind, tmp_path, "compiled") as url:
        engine = create_engine(url)
        metadata.create_all(engine)
        with engine.connect() as connection:
            yield connection
        engine.dispose()


@pytest.fixture(params=kinds())
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connection]:
    yield from _connected(request.param, tmp_path)


@pytest.fixture
def pg_conn(tmp_path: Path) -> Iterator[Connection]:
    yield from _connected("postgres", tmp_path)


def test_rows_are_cores_rows_as_dicts_with_their_types(conn: Connection) -> None:
    ADD.run(conn, ROWS)
    core = [dict(r) for r in conn.execute(BIGGEST.statement).mappings()]
    assert BIGGEST.rows(conn) == core == [ROWS[3], ROWS[2]]  # aware UTC back from UtcDateTime, naive from DateTime
    assert GET.first(conn, {"key": "t1"}) == dict(conn.execute(GET.statement, {"key": "t1"}).mappings().one())
    assert GET.first(conn, {"key": "none"}) is None
    assert GET.scalar(conn, {"key": "t2"}) == "t2"


def test_changes_count_and_stay_in_the_transaction(conn: Connection) -> None:
    ADD.run(conn, ROWS[0])
    conn.commit()
    assert GROW.run(conn, {"key": "t0"}) == 1
    assert GROW.run(conn, {"key": "none"}) == 0
    assert GET.first(conn, {"key": "t0"}) == {**ROWS[0], "size": 10}
    conn.rollback()  # the update ran in SQLAlchemy's transaction, not on its own
    assert GET.first(conn, {"key": "t0"}) == ROWS[0]


def test_a_read_begins_the_transaction_core_would(conn: Connection) -> None:
    assert not conn.in_transaction()
    assert GET.first(conn, {"key": "t0"}) is None
    assert conn.in_transaction()


def test_a_violation_is_sqlalchemys_and_a_savepoint_undoes_it(conn: Connection) -> None:
    ADD.run(conn, ROWS[0])
    with pytest.raises(IntegrityError), conn.begin_nested():
        ADD.run(conn, {**ROWS[1], "thing_id": "t0"})
    ADD.run(conn, ROWS[1])  # the transaction goes on
    assert [r["thing_id"] for r in BIGGEST.rows(conn)] == ["t1"]  # t0 has size 0


def test_what_cannot_be_rendered_once_goes_through_core(conn: Connection) -> None:
    ADD.run(conn, ROWS)
    assert sorted(r["thing_id"] for r in AMONG.rows(conn, {"ids": ["t1", "t3", "x"]})) == ["t1", "t3"]
    assert sorted(r["thing_id"] for r in AMONG.rows(conn, {"ids": ["t0"]})) == ["t0"]
    Compiled(defaulted.insert()).run(conn, {"k": "a"})  # a Python-side default: Core computes it
    assert conn.execute(select(defaulted.c.n)).scalar_one() == 7


def test_only_what_cannot_be_rendered_once_runs_through_core(conn: Connection) -> None:
    through_core: list[str] = []
    event.listen(conn, "before_cursor_execute", lambda *args: through_core.append(args[2]))
    ADD.run(conn, ROWS)
    GET.first(conn, {"key": "t1"})
    BIGGEST.rows(conn)
    AMONG.rows(conn, {"ids": ["t1"]})
    assert len(through_core) == 1
    assert "IN" in through_core[-1]


def test_a_lost_server_connection_is_invalidated_as_core_would_and_the_next_one_works(pg_conn: Connection) -> None:
    ADD.run(pg_conn, ROWS[0])
    pg_conn.commit()
    pid = pg_conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with pg_conn.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    with pytest.raises(DBAPIError) as lost:
        GET.first(pg_conn, {"key": "t0"})
    assert lost.value.connection_invalidated and pg_conn.invalidated
    pg_conn.rollback()  # as after Core's own error: the transaction is ended, then the connection reconnects
    assert GET.first(pg_conn, {"key": "t0"}) == ROWS[0]
