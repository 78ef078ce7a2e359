"""SQLite's checkpoints (the write-ahead log copied back into the database, with fsyncs) run in a thread of their own
in a served process, not inside the commits on the event loop."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from svckit.db import AUTOCHECKPOINT_PAGES, Database
from tests.events_helpers import eventually
from tools.launcher.databases import LOCAL_POSTGRES

ROWS = 50  # of 4 KB: ~100 pages of log, far below any autocheckpoint


def rows_in_the_database_file(path: Path, tmp_path: Path) -> int:
    """The rows of t that the database file holds by itself, without its write-ahead log."""
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as conn:
        count: int = conn.execute("SELECT count(*) FROM t").fetchone()[0]
    return count


def test_a_served_database_checkpoints_in_a_thread_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "room.db"
    db = Database(f"sqlite:///{path}", producer="room")
    with db.uow() as uow:
        uow.conn.exec_driver_sql("CREATE TABLE t (x BLOB)")
        uow.commit()
    with db.read() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the table itself is in the database file
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == AUTOCHECKPOINT_PAGES
    for _ in range(ROWS):  # commits on this thread, as the service's loop makes them
        with db.uow() as uow:
            uow.conn.exec_driver_sql("INSERT INTO t VALUES (randomblob(4000))")
            uow.commit()
    assert rows_in_the_database_file(path, tmp_path) == 0  # no commit checkpointed: all of it is in the log
    db.checkpoint_in_background(every_s=0.05)
    try:
        assert eventually(lambda: rows_in_the_database_file(path, tmp_path) == ROWS)
        assert "bnb-checkpoint" in [t.name for t in threading.enumerate()]
    finally:
        db.dispose()
    assert "bnb-checkpoint" not in [t.name for t in threading.enumerate()]  # dispose() ended it


def test_postgresql_needs_no_checkpointer() -> None:
    db = Database(LOCAL_POSTGRES, producer="room")  # not even connected
    db.checkpoint_in_background()
    assert "bnb-checkpoint" not in [t.name for t in threading.enumerate()]
    db.dispose()
