"""Database plumbing: one engine per service, the unit of work, and the outbox/inbox tables."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)

from svckit import events, tracing

T = TypeVar("T")
DB_THREAD = "bnb-db"
Committed = tuple[str, str, bytes, str | None]  # an outbox row just committed: event_id, subject, data, traceparent
plumbing = MetaData()
outbox = Table(
    "outbox",
    plumbing,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True, index=True),
    Column("traceparent", String(55), nullable=True),  # the W3C trace context of the transaction that wrote it
)
inbox = Table(
    "inbox",
    plumbing,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("handled_at", DateTime(timezone=True), nullable=False),
)
dead_letters = Table(
    "dead_letters",
    plumbing,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("stream_seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(36), nullable=True),  # none when the message could not be decoded
    Column("error_type", String(200), nullable=True),
    Column("deliveries", Integer, nullable=False, server_default=text("1")),  # failed deliveries, the last included
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    Column("replay_outcome", String(20), nullable=True),  # 'done', or 'duplicate' when applied meanwhile
)
delivery_failures = Table(  # handler failures of events still being redelivered; RetryLater is not one
    "delivery_failures",
    plumbing,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)
idempotency_keys = Table(  # svckit.idempotency: a caller's key, and the first answer given under it
    "idempotency_keys",
    plumbing,
    Column("caller", String(100), primary_key=True),  # the verified subject...
    Column("role", String(20), primary_key=True),  # ...in the role its token named
    Column("operation", String(100), primary_key=True),  # the request's message type: one per RPC
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # sha256 of the request message
    Column("ref", String(64), nullable=False, index=True),  # what a running claim started (a saga's reservation id)
    Column("code", Integer, nullable=True),  # the answer's gRPC status code; NULL while the first call runs
    Column("reply", LargeBinary, nullable=True),  # the serialized reply, when code is 0
    Column("message", Text, nullable=True),  # the refusal's message, otherwise
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)
_OUTBOX_INSERT = outbox.insert()  # built once: SQLAlchemy then skips building and keying it per event


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(value: dt.datetime) -> str:
    """A stored time as ISO 8601 in UTC with its offset, alike from SQLite (naive) and PostgreSQL (zoned)."""
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.isoformat()


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the lock up front, so a read-then-write never fails on a stale snapshot
        # and checks like the per-guest limit are serialized.
        immediate = conn.get_execution_options().get("writer", False)
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]

    return engine


class Database:
    """A service's own database: its engine, and who to wake when events were committed."""

    def __init__(self, url: str, producer: str) -> None:
        self.url = url
        self.producer = producer
        sqlite = url.startswith("sqlite")
        self.engine = (
            _sqlite_engine(url) if sqlite else create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        )
        self.on_commit: list[Callable[[list[Committed]], None]] = []
        # SQLite work is brief and local: it runs on the event loop, where a thread hop would cost more than
        # the work itself. A PostgreSQL round trip (or a lock wait) must not stall the loop: threads there.
        self.writer_lock = threading.Lock() if sqlite else None  # for callers that bring threads (tests, tools)
        self.executor = None if sqlite else ThreadPoolExecutor(max_workers=8, thread_name_prefix=DB_THREAD)
        self._kept = threading.local()  # per thread: its reader and writer

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, blocking work on this database: inline for SQLite, on a database thread otherwise."""
        if self.executor is None:
            return fn(*args)
        call = functools.partial(contextvars.copy_context().run, fn, *args)  # the caller's correlation id
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

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
                conn = self.engine.connect().execution_options(writer=writer)
                setattr(self._kept, role, conn)
            return conn, True
        return self.engine.connect().execution_options(writer=writer), False

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries; its transaction is rolled back at the end."""
        conn, kept = self.connection(writer=False)
        try:
            yield conn
        finally:
            conn.rollback() if kept else conn.close()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self)

    def dispose(self) -> None:
        for role in ("reader", "writer"):  # this thread's; the database threads' end with the process
            if (conn := getattr(self._kept, role, None)) is not None:
                conn.close()
                delattr(self._kept, role)
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


class UnitOfWork:
    """One transaction: state changes and the events they raise commit together, or not at all."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.emitted: list[Committed] = []
        self._after: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        if self.db.writer_lock:
            self.db.writer_lock.acquire()
        try:
            self.conn, self._kept_open = self.db.connection(writer=True)
            self._tx = self.conn.begin()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            if not self._kept_open:
                self.conn.close()
            self._unlock()

    def _unlock(self) -> None:
        if self.db.writer_lock:
            self.db.writer_lock.release()

    def lock(self, key: str) -> None:
        """Serialize transactions on `key` (e.g. one guest) across processes."""
        if self.conn.dialect.name == "postgresql":
            digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})
        # SQLite: BEGIN IMMEDIATE already holds the database's single write lock.

    def emit(self, event: object, *, aggregate_id: str) -> None:
        """Write `event` to the outbox in this transaction; the relay publishes it after commit."""
        envelope = events.envelope(event, producer=self.db.producer, aggregate_id=aggregate_id)
        subject, data = events.subject(self.db.producer, envelope.type), envelope.SerializeToString()
        event_id, parent = envelope.event_id, tracing.traceparent()
        values = {"event_id": event_id, "subject": subject, "data": data, "created_at": now(), "traceparent": parent}
        self.conn.execute(_OUTBOX_INSERT, values)
        self.emitted.append((event_id, subject, data, parent))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once this transaction has committed (once however often asked); never on rollback."""
        if callback not in self._after:
            self._after.append(callback)

    def commit(self) -> None:
        """Commit, then hand the events just written to the relay (it need not read them back)."""
        self._tx.commit()
        if self.emitted:
            for committed in self.db.on_commit:
                committed(self.emitted)
            self.emitted = []
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()
