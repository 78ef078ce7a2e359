"""A service's database: one engine, and the connections its transactions and queries use."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

from svckit.uow import Committed, UnitOfWork

T = TypeVar("T")
logger = logging.getLogger(__name__)
DB_THREAD = "bnb-db"
DB_THREADS = 8  # PostgreSQL: database threads per process, each keeping a reader and a writer (BNB_DB_THREADS)
# SQLite copies its write-ahead log back into the database (a checkpoint, with two fsyncs) inside the commit that
# finds the log past wal_autocheckpoint pages: on the event loop, which it stalled for up to 0.1 s (the view
# wrote ~30 pages a saga, so a checkpoint every ~30 sagas). A served process checkpoints in a thread instead, every
# CHECKPOINT_S; a commit still does when that falls far behind, or where nothing checkpoints (tools, tests).
CHECKPOINT_S = 0.5
AUTOCHECKPOINT_PAGES = 10_000  # SQLite's default is 1,000 (4 MB); a log of ~40 MB is bounded all the same


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        pragmas = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000",
                   f"wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")  # fmt: skip
        for pragma in pragmas:
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the lock up front, so a read-then-write never fails on a stale snapshot
        # and checks like the per-guest limit are serialized.
        immediate = conn.get_execution_options().get("writer", False)
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None  # a connection that is beginning is checked out
        if not dbapi.in_transaction:  # else a unit of work began it (svckit.uow): SQLAlchemy's joins it
            dbapi.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: Any) -> None:
    """`fn(*args)` on `loop`'s thread: at once when called there (SQLite's commits run on the loop), else soon.

    uvloop's call_soon_threadsafe writes to an eventfd, and the loop reads it back on its next turn: two system
    calls per commit that hands over events, where the caller is on the loop already.
    """
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:  # a thread without a loop: a database thread (PostgreSQL), a test's
        here = None
    if here is loop:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


class Database:
    """A service's own database: its engine, and who to wake when events were committed."""

    def __init__(self, url: str, producer: str, unit: type[UnitOfWork] = UnitOfWork, threads: int = DB_THREADS) -> None:
        self.url = url
        self.unit = unit  # the context's, with its repositories (its main.py says which)
        self.producer = producer
        self.sqlite = sqlite = url.startswith("sqlite")
        self.engine = (
            _sqlite_engine(url) if sqlite else create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        )
        self.on_commit: list[Callable[[list[Committed]], object]] = []
        # SQLite work is brief and local: it runs on the event loop, where a thread hop would cost more than
        # the work itself. A PostgreSQL round trip (or a lock wait) must not stall the loop: threads there.
        self.writer_lock = threading.Lock() if sqlite else None  # for callers that bring threads (tests, tools)
        self.executor = None if sqlite else ThreadPoolExecutor(max_workers=threads, thread_name_prefix=DB_THREAD)
        self._kept = threading.local()  # per thread: its reader and writer
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, blocking work on this database: inline for SQLite, on a database thread otherwise."""
        if self.executor is None:
            return fn(*args)
        call = functools.partial(contextvars.copy_context().run, fn, *args)  # the caller's correlation id
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def checkpoint_in_background(self, every_s: float = CHECKPOINT_S) -> None:
        """SQLite: checkpoint the write-ahead log every `every_s` in a thread of its own, until dispose() (see
        CHECKPOINT_S). PASSIVE: it copies what no reader still needs and waits for no one; writers go on meanwhile.
        PostgreSQL has nothing to do."""
        if self.executor is None and self._checkpointer is None:
            self._checkpointer = threading.Thread(
                target=self._checkpoints, args=(every_s,), name="bnb-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _checkpoints(self, every_s: float) -> None:
        raw = self.engine.raw_connection()  # its own: the loop's connections stay the loop's
        try:
            while not self._stopping.wait(every_s):
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                except Exception as exc:  # the next one may do; a commit checkpoints past AUTOCHECKPOINT_PAGES
                    logger.warning("checkpoint failed: %s", exc)
        finally:
            raw.close()

    def connection(self, writer: bool) -> tuple[Connection, bool]:
        """A connection for one transaction, and whether it is kept (else: close it after the transaction).

        The threads that run a service's database work (the loop's, for SQLite; the database threads otherwise)
        each keep a reader and a writer open for good: a checkout from the pool costs more than a short
        transaction, and on PostgreSQL its liveness ping is one more round trip. Other threads borrow from the pool.
        """
        here = threading.current_thread()
        keeps = here.name.startswith(DB_THREAD) if self.executor else here is threading.main_thread()
        if keeps:
            role = "writer" if writer else "reader"
            conn: Connection | None = getattr(self._kept, role, None)
            if conn is None or conn.closed or conn.invalidated:
                conn = self._connect(writer)
                setattr(self._kept, role, conn)
            return conn, True
        return self._connect(writer), False

    def _connect(self, writer: bool) -> Connection:
        """PostgreSQL's readers in autocommit: a query needs no BEGIN and ROLLBACK round trips around it, and under
        READ COMMITTED (PostgreSQL's default, kept here) each statement of a transaction sees a snapshot of its own
        anyway, so a read-only unit of work sees nothing different. A room view read through the edge, at c=1, two
        meshes taking turns: 0.92 of the latency (p50 1.10-1.24 against 1.18-1.30 ms), 0.955 of the view's CPU."""
        conn = self.engine.connect()
        if not writer and not self.sqlite:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execution_options(writer=writer)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries; its transaction is rolled back at the end (PostgreSQL's: autocommit, none)."""
        conn, kept = self.connection(writer=False)
        try:
            yield conn
        finally:
            conn.rollback() if kept else conn.close()

    def uow(self, read_only: bool = False) -> UnitOfWork:
        """A unit of work of this service's kind (`unit`): a transaction, or with `read_only` a query's."""
        return self.unit(self, read_only=read_only)

    def dispose(self) -> None:
        for role in ("reader", "writer"):  # this thread's; the database threads' end with the process
            if (conn := getattr(self._kept, role, None)) is not None:
                conn.close()
                delattr(self._kept, role)
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self._checkpointer is not None:
            self._stopping.set()
            self._checkpointer.join()
        self.engine.dispose()
