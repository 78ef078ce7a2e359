"""A writer's unit of work on SQLite runs in the driver's own transaction (svckit.uow), and SQLAlchemy's statements
join it: all of it commits together, or none of it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from svckit.compiled import Compiled
from svckit.db import Database

t = Table("t", MetaData(), Column("k", String, primary_key=True))
COMPILED = Compiled(insert(t))  # on SQLite's cursor


class Boom(Exception):
    pass


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", producer="room")
    t.metadata.create_all(db.engine)
    return db


def keys(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(t.c.k).order_by(t.c.k)).scalars())


@pytest.mark.parametrize("core", [False, True], ids=["compiled only", "with a Core statement"])
def test_a_failing_unit_of_work_writes_nothing(db: Database, core: bool) -> None:
    with pytest.raises(Boom), db.uow() as uow:
        COMPILED.run(uow.conn, {"k": "a"})
        if core:
            uow.conn.execute(insert(t), {"k": "b"})  # Core autobegins: its BEGIN finds the driver's open
        COMPILED.run(uow.conn, {"k": "c"})
        raise Boom
    assert keys(db) == []


@pytest.mark.parametrize("core", [False, True], ids=["compiled only", "with a Core statement"])
def test_a_committed_unit_of_work_writes_all_and_the_next_one_stands_alone(db: Database, core: bool) -> None:
    with db.uow() as uow:
        COMPILED.run(uow.conn, {"k": "a"})
        if core:
            uow.conn.execute(insert(t), {"k": "b"})
        uow.commit()
    assert not uow.conn.in_transaction()  # SQLAlchemy's own transaction, when Core began one, ended with it
    with pytest.raises(Boom), db.uow() as uow:  # the same kept connection: nothing of the last one is still open
        COMPILED.run(uow.conn, {"k": "c"})
        raise Boom
    with db.uow() as uow:
        uow.conn.execute(insert(t), {"k": "d"})
        uow.commit()
    assert keys(db) == (["a", "b", "d"] if core else ["a", "d"])


def test_a_savepoint_undoes_only_its_own_part(db: Database) -> None:
    with db.uow() as uow:  # as svckit.inbox records a delivery: a duplicate leaves the rest of the unit standing
        COMPILED.run(uow.conn, {"k": "a"})
        with pytest.raises(IntegrityError), uow.conn.begin_nested():
            COMPILED.run(uow.conn, {"k": "b"})
            COMPILED.run(uow.conn, {"k": "a"})
        COMPILED.run(uow.conn, {"k": "c"})
        uow.commit()
    assert keys(db) == ["a", "c"]


def test_a_unit_of_work_is_serialized_with_another_connections_writes(db: Database) -> None:
    with db.uow() as uow:  # BEGIN IMMEDIATE: the write lock is taken up front, not at the first write
        other = db.engine.raw_connection()
        try:
            other.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            with pytest.raises(Exception, match="locked"):
                other.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        finally:
            other.close()
        uow.commit()
