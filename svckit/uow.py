"""The unit of work: one transaction over a context's repositories, with the events its aggregates raised."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from sqlalchemy import BigInteger, Connection, RootTransaction, bindparam, func, select

from svckit import events, tracing
from svckit.compiled import Compiled
from svckit.idempotency import Key, KeyStore
from svckit.tables import now, outbox

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from svckit.db import Database

T = TypeVar("T")
W_co = TypeVar("W_co", covariant=True)
Committed = tuple[str, str, bytes, str | None]  # an outbox row just committed: event_id, subject, data, traceparent
_OUTBOX_INSERT = Compiled(outbox.insert())  # one per event: compiled once (svckit.compiled)
_LOCK = Compiled(select(func.pg_advisory_xact_lock(bindparam("k", type_=BigInteger))))  # PostgreSQL's, per key


class Claims(Protocol):
    """A transaction's idempotency keys (svckit.idempotency.KeyStore, or a test's fake)."""

    def claim(self, key: Key | None, ref: str = "") -> None: ...
    def finish(self, key: Key | None, result: object, ref: str = "") -> None: ...
    def undone(self, ref: str, key: Key | None = None, error: BaseException | None = None) -> None: ...


class Work(Protocol):
    """What a handler may do in one unit of work; a context's own adds its repositories."""

    @property
    def keys(self) -> Claims: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def lock(self, key: str) -> None: ...
    def emit(self, event: DataclassInstance, *, aggregate_id: str) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None: ...
    def commit(self) -> None: ...


class Units(Protocol[W_co]):
    """Makes a context's units of work: `units()` for a transaction, `units(read_only=True)` for queries."""

    def __call__(self, *, read_only: bool = False) -> W_co: ...


class Runner(Protocol):
    """Where a service's blocking database work runs (svckit.db.Database: inline for SQLite, else a thread)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...


class UnitOfWork:
    """One transaction: state changes and the events they raise commit together, or not at all.

    A context's unit of work subclasses it and makes its repositories in `_bind`, on the transaction's connection.
    `read_only`: a query's, on a reader connection, rolled back at the end.
    """

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self.db = db
        self.read_only = read_only
        self.emitted: list[Committed] = []
        self._after: list[Callable[[], None]] = []
        self._tx: RootTransaction | None = None
        self._raw: Any = None  # SQLite's own connection, when the transaction is the driver's (writers on SQLite)
        self._locked: set[str] = set()  # the keys this transaction holds (PostgreSQL)

    @classmethod
    def on(cls, db: Database) -> Units[Self]:
        """The units of work of this kind on `db`."""
        return functools.partial(cls, db)

    def __enter__(self) -> Self:
        if (lock := self._writer_lock()) is not None:
            lock.acquire()
        try:
            self.conn, self._kept_open = self.db.connection(writer=not self.read_only)
            if self.read_only:
                self._tx = None
            elif self.db.sqlite:  # the driver's own BEGIN: SQLAlchemy's Transaction costs ~40 µs a unit of work
                self._raw = self.conn.connection.dbapi_connection
                self._raw.execute("BEGIN IMMEDIATE")
            else:
                self._tx = self.conn.begin()
        except BaseException:
            self._unlock()
            raise
        self.keys = KeyStore(self.conn)
        self._bind(self.conn)
        return self

    def _bind(self, conn: Connection) -> None:
        """Make the context's repositories on `conn`."""

    def __exit__(self, *exc: object) -> None:
        try:
            if self._raw is not None:
                if self._raw.in_transaction:  # not committed
                    self._end("ROLLBACK")
            elif self._tx is None:
                if self._kept_open:
                    self.conn.rollback()
            elif self._tx.is_active:
                self._tx.rollback()
        finally:
            if not self._kept_open:
                self.conn.close()
            self._unlock()

    def _end(self, how: str) -> None:
        """COMMIT or ROLLBACK the driver's transaction; through SQLAlchemy when a statement of its own made it begin
        one too (Core autobegins, svckit.db's BEGIN then finds the driver's open and leaves it): it ends them both."""
        if not self.conn.in_transaction():
            self._raw.execute(how)
        elif how == "COMMIT":
            self.conn.commit()
        else:
            self.conn.rollback()

    def _writer_lock(self) -> threading.Lock | None:
        return None if self.read_only else self.db.writer_lock

    def _unlock(self) -> None:
        if (lock := self._writer_lock()) is not None:
            lock.release()

    def lock(self, key: str) -> None:
        """Serialize transactions on `key` (e.g. one guest) across processes, until this one ends."""
        if self.conn.dialect.name == "postgresql" and key not in self._locked:
            self._locked.add(key)
            digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
            _LOCK.run(self.conn, {"k": digest})
        # SQLite: BEGIN IMMEDIATE already holds the database's single write lock.

    def lock_all(self, keys: Iterable[str]) -> None:
        """lock() each of `keys` in sorted order: transactions that take their keys in one order never deadlock."""
        if self.conn.dialect.name == "postgresql":  # else nothing to take: `keys` is not even read
            for key in sorted(set(keys)):
                self.lock(key)

    def emit(self, event: DataclassInstance, *, aggregate_id: str) -> None:
        """Write `event` to the outbox in this transaction; the relay publishes it after commit."""
        envelope = events.envelope(event, producer=self.db.producer, aggregate_id=aggregate_id)
        subject, data = events.subject(self.db.producer, envelope.type), envelope.SerializeToString()
        event_id, parent = envelope.event_id, tracing.traceparent()
        values = {"event_id": event_id, "subject": subject, "data": data, "created_at": now(), "traceparent": parent}
        _OUTBOX_INSERT.run(self.conn, values)
        self.emitted.append((event_id, subject, data, parent))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once this transaction has committed (once however often asked); never on rollback."""
        if callback not in self._after:
            self._after.append(callback)

    def commit(self) -> None:
        """Commit, then hand the events just written to the relay (it need not read them back)."""
        if self._raw is not None:
            self._end("COMMIT")
        elif self._tx is None:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        else:
            self._tx.commit()
        if self.emitted:
            for committed in self.db.on_commit:
                committed(self.emitted)
            self.emitted = []
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()
