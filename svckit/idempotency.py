"""Idempotency keys: a caller's repeat of a request under the same key gets the first answer, and does nothing.

A key is scoped to the verified caller (subject and role) and the operation (the request's message type), and
kept for the TTL from its first use; after that it is ignored (a new request may take it) and purged. The
answer is stored in the transaction of the call's effect, so that a crash cannot separate them; a call that runs
over several transactions (the reservation saga) claims the key in its first one and answers in its last one.
The servicer side (reading the key, replaying the answer) is svckit.idempotent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from sqlalchemy import ColumnElement, Connection, Row, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svckit.tables import idempotency_keys, now

if TYPE_CHECKING:
    from svckit.db import Database

logger = logging.getLogger(__name__)
KEYS = idempotency_keys
_PRIMARY = [c.name for c in KEYS.primary_key.columns]


class KeyReused(Exception):
    """The key already named another request of this caller."""


class InProgress(Exception):
    """The first call with this key is still running."""


@dataclass(frozen=True)
class Key:
    """A call's idempotency key, scoped to its verified caller and its operation."""

    caller: str
    role: str
    operation: str
    value: str
    fingerprint: str  # of the request: the same key with another request is refused
    ttl_s: float
    encode: Callable[[Any], bytes]  # the handler's result -> the serialized reply to store
    keeps: Callable[[BaseException], grpc.StatusCode | None]  # the status of a refusal to keep, else None

    def where(self) -> ColumnElement[bool]:
        c = KEYS.c
        return and_(c.caller == self.caller, c.role == self.role, c.operation == self.operation, c.key == self.value)

    def cutoff(self) -> dt.datetime:
        """Rows created before it are expired."""
        return now() - dt.timedelta(seconds=self.ttl_s)


@dataclass(frozen=True)
class Answer:
    """What a key holds: a reply (code 0) or a refusal (its code and message)."""

    code: int
    reply: bytes
    message: str


class Replay(Exception):
    """The key holds an answer already: raised where the call's work would start, so that it does not."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"replay of status {answer.code}")
        self.answer = answer


def _found(row: Row[Any], key: Key) -> Exception:
    if row.fingerprint != key.fingerprint:
        return KeyReused(f"idempotency key {key.value!r} was used for another request; a new request needs a new key")
    if row.code is None:
        return InProgress(f"the request with idempotency key {key.value!r} is still in progress; retry in a moment")
    return Replay(Answer(row.code, row.reply or b"", row.message or ""))


def _take(conn: Connection, key: Key, **values: object) -> bool:
    """Insert the key's row, or take over an expired one; False when a live row holds the key.

    On PostgreSQL a concurrent transaction that inserted the same key first makes this one wait for its end.
    """
    row: dict[str, object] = {"caller": key.caller, "role": key.role, "operation": key.operation, "key": key.value}
    row |= {"fingerprint": key.fingerprint, "ref": "", "code": None, "reply": None, "message": None}
    row |= {**values, "created_at": now()}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(KEYS).values(row)
    upsert = insert.on_conflict_do_update(
        index_elements=_PRIMARY,
        set_={name: insert.excluded[name] for name in row if name not in _PRIMARY},
        where=KEYS.c.created_at < key.cutoff(),
    ).returning(KEYS.c.key)  # a row back when inserted or taken over (psycopg's rowcount says -1 here)
    return conn.execute(upsert).first() is not None


def claim(conn: Connection, key: Key | None, ref: str = "") -> None:
    """Take `key` for the work of this transaction; a no-op without a key. `ref`: what the work starts, for
    undone(), when its answer comes in a later transaction.

    Raises Replay when the key holds an answer, InProgress while its first call runs, KeyReused when it named
    another request. The key's row commits with the work, or rolls back with it.
    """
    if key is None:
        return
    for _ in range(2):  # the row seen as live may be gone (purged, undone) by the time it is read
        if _take(conn, key, ref=ref):
            return
        if (row := conn.execute(select(KEYS).where(key.where())).first()) is not None:
            raise _found(row, key)
    raise InProgress(f"idempotency key {key.value!r} is changing hands; retry in a moment")


def finish(conn: Connection, key: Key | None, result: object, ref: str = "") -> None:
    """Store the call's reply under its key, in the transaction of its effect; a no-op without a key. `ref`: as
    claimed (a claim that expired meanwhile and was taken by a new request is left to that one)."""
    if key is not None:
        mine = and_(key.where(), KEYS.c.ref == ref, KEYS.c.code.is_(None))
        conn.execute(update(KEYS).where(mine).values(code=0, reply=key.encode(result), ref=""))


def undone(conn: Connection, ref: str, key: Key | None = None, error: BaseException | None = None) -> None:
    """The work that claimed a key under `ref` was undone: keep `error` under the key when it is a refusal the
    service keeps; otherwise free the key, so that a retry runs anew."""
    running = and_(KEYS.c.ref == ref, KEYS.c.code.is_(None))
    code = key.keeps(error) if key is not None and error is not None else None
    if code is None:
        conn.execute(delete(KEYS).where(running))
    else:
        conn.execute(update(KEYS).where(running).values(code=code.value[0], message=str(error), ref=""))


class KeyStore:
    """The idempotency keys as one transaction sees them (a unit of work's `keys`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, key: Key | None, ref: str = "") -> None:
        claim(self.conn, key, ref)

    def finish(self, key: Key | None, result: object, ref: str = "") -> None:
        finish(self.conn, key, result, ref)

    def undone(self, ref: str, key: Key | None = None, error: BaseException | None = None) -> None:
        undone(self.conn, ref, key, error)


def refused(db: Database, key: Key, error: BaseException) -> None:
    """Keep the refusal `error` under the key, unless the key holds an answer already (or the service does not
    keep such refusals): for work refused before its claim, or whose transaction rolled back with the claim."""
    if (code := key.keeps(error)) is not None:
        with db.uow() as uow:
            _take(uow.conn, key, code=code.value[0], message=str(error))
            uow.commit()


def lookup(db: Database, key: Key) -> None:
    """Raise what a live key holds (Replay, InProgress, KeyReused); return when it is free or expired."""
    with db.read() as conn:
        row = conn.execute(select(KEYS).where(key.where(), KEYS.c.created_at >= key.cutoff())).first()
    if row is not None:
        raise _found(row, key)


def purge(db: Database, ttl_s: float) -> int:
    """Delete the expired keys; how many."""
    with db.uow() as uow:
        gone = uow.conn.execute(delete(KEYS).where(KEYS.c.created_at < now() - dt.timedelta(seconds=ttl_s)))
        uow.commit()
    return gone.rowcount


async def purging(db: Database, ttl_s: float) -> None:
    """Purge expired keys every TTL (at most hourly); expired keys are ignored meanwhile."""
    while True:
        await asyncio.sleep(min(3600.0, max(ttl_s, 1.0)))
        try:
            if gone := await db.run(purge, db, ttl_s):
                logger.info("purged %d expired idempotency keys", gone)
        except Exception:
            logger.exception("idempotency key purge failed; the next one retries")
