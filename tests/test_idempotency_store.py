"""svckit.idempotency's table rules, on SQLite and on PostgreSQL: claim, answer, refuse, expire, race."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select, update

from svckit import idempotency
from svckit.db import Database
from svckit.idempotency import InProgress, Key, KeyReused, Replay
from svckit.tables import idempotency_keys, now, plumbing
from tests.dbs import database_url, kinds, skip_without
from tests.test_databases import in_parallel

pytestmark = pytest.mark.postgres


class Refused(Exception):
    """A refusal by the service's rules (kept under the key)."""


def keeps(error: BaseException) -> grpc.StatusCode | None:
    return grpc.StatusCode.ALREADY_EXISTS if isinstance(error, Refused) else None


def key(value: str = "k1", body: bytes = b"body", caller: str = "g1", role: str = "guest", op: str = "A") -> Key:
    fingerprint = hashlib.sha256(body).hexdigest()
    return Key(caller, role, op, value, fingerprint, 3600.0, encode=lambda reply: reply, keeps=keeps)


@pytest.fixture(params=kinds())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    skip_without(request.param)
    with database_url(request.param, tmp_path, "keys") as url:
        database = Database(url, producer="keys")
        plumbing.create_all(database.engine)  # svckit's tables alone
        yield database
        database.dispose()


def answer(db: Database, k: Key, reply: bytes = b"first", ref: str = "") -> bytes:
    """A one-transaction call: claim, effect, reply stored, commit."""
    with db.uow() as uow:
        idempotency.claim(uow.conn, k, ref)
        idempotency.finish(uow.conn, k, reply)
        uow.commit()
    return reply


def held(db: Database, k: Key) -> BaseException | None:
    """What a repeat meets: the exception claim() raises, or None when the key is free (rolled back after)."""
    with db.uow() as uow:
        try:
            idempotency.claim(uow.conn, k)
        except (Replay, InProgress, KeyReused) as exc:
            return exc
    return None


def rows(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()


def test_a_repeat_replays_the_stored_reply_and_another_body_is_refused(db: Database) -> None:
    answer(db, key())
    replay = held(db, key())
    assert isinstance(replay, Replay) and (replay.answer.code, replay.answer.reply) == (0, b"first")
    with pytest.raises(Replay):
        idempotency.lookup(db, key())
    assert isinstance(held(db, key(body=b"other")), KeyReused)
    with pytest.raises(KeyReused):
        idempotency.lookup(db, key(body=b"other"))
    assert rows(db) == 1


def test_a_key_is_per_caller_role_and_operation(db: Database) -> None:
    answer(db, key())
    for other in (key(caller="g2"), key(role="host"), key(op="B"), key(value="k2")):
        idempotency.lookup(db, other)  # free: nothing raised
        assert answer(db, other, b"own") == b"own"
    assert rows(db) == 5


def test_a_rolled_back_call_leaves_the_key_free(db: Database) -> None:
    with db.uow() as uow:
        idempotency.claim(uow.conn, key())
        idempotency.finish(uow.conn, key(), b"never")
    assert held(db, key()) is None and rows(db) == 0


def test_a_running_claim_answers_in_progress_until_undone(db: Database) -> None:
    with db.uow() as uow:
        idempotency.claim(uow.conn, key(), ref="res-1")  # a saga's first transaction
        uow.commit()
    assert isinstance(held(db, key()), InProgress)
    with pytest.raises(InProgress):
        idempotency.lookup(db, key())
    with db.uow() as uow:  # undone after a passing fault: free again
        idempotency.undone(uow.conn, "res-1", key(), TimeoutError("room timed out"))
        uow.commit()
    assert held(db, key()) is None and rows(db) == 0


def test_an_undone_refusal_is_kept_and_recovery_frees_what_it_undoes(db: Database) -> None:
    with db.uow() as uow:
        idempotency.claim(uow.conn, key(), ref="res-1")
        idempotency.claim(uow.conn, key("k2"), ref="res-2")
        uow.commit()
    with db.uow() as uow:
        idempotency.undone(uow.conn, "res-1", key(), Refused("room taken"))
        idempotency.undone(uow.conn, "res-2")  # recovery: no key, no error
        uow.commit()
    replay = held(db, key())
    assert isinstance(replay, Replay)
    assert (replay.answer.code, replay.answer.message) == (grpc.StatusCode.ALREADY_EXISTS.value[0], "room taken")
    assert held(db, key("k2")) is None


def test_refused_keeps_a_refusal_but_never_overwrites_an_answer(db: Database) -> None:
    idempotency.refused(db, key(), Refused("no such room"))
    idempotency.refused(db, key("k2"), ValueError("a bug"))  # not a kept refusal: nothing stored
    answer(db, key("k3"))
    idempotency.refused(db, key("k3"), Refused("late"))
    assert isinstance(replay := held(db, key()), Replay) and replay.answer.message == "no such room"
    assert held(db, key("k2")) is None
    assert isinstance(replay := held(db, key("k3")), Replay) and replay.answer.reply == b"first"


def age(db: Database, hours: float) -> None:
    with db.uow() as uow:
        uow.conn.execute(update(idempotency_keys).values(created_at=now() - dt.timedelta(hours=hours)))
        uow.commit()


def test_an_expired_key_is_ignored_taken_over_and_purged(db: Database) -> None:
    answer(db, key())
    age(db, 2)  # the TTL is 1 h
    idempotency.lookup(db, key(body=b"new"))  # ignored: neither a replay nor "used for another request"
    assert answer(db, key(body=b"new"), b"second") == b"second"
    assert isinstance(replay := held(db, key(body=b"new")), Replay) and replay.answer.reply == b"second"
    answer(db, key("k2"))
    age(db, 2)
    answer(db, key("k3"))
    assert idempotency.purge(db, 3600) == 2 and rows(db) == 1


def test_twenty_simultaneous_calls_with_one_key_run_once(db: Database) -> None:
    ran: list[int] = []
    start = threading.Barrier(20)

    def call(i: int) -> bytes:
        start.wait()
        with db.uow() as uow:
            idempotency.claim(uow.conn, key())
            ran.append(i)
            idempotency.finish(uow.conn, key(), f"reply {i}".encode())
            uow.commit()
        return f"reply {i}".encode()

    def attempt(i: int) -> object:
        try:
            return call(i)
        except Replay as replay:
            return replay.answer.reply

    results = in_parallel(20, attempt)
    assert len(ran) == 1, results
    assert results == [f"reply {ran[0]}".encode()] * 20


def test_a_late_answer_leaves_a_key_that_expired_and_was_taken_to_its_new_owner(db: Database) -> None:
    with db.uow() as uow:
        idempotency.claim(uow.conn, key(), ref="res-1")  # a saga that outlived the TTL
        uow.commit()
    age(db, 2)
    with db.uow() as uow:
        idempotency.claim(uow.conn, key(body=b"new"), ref="res-2")
        uow.commit()
    with db.uow() as uow:
        idempotency.finish(uow.conn, key(), b"late", ref="res-1")
        uow.commit()
    assert isinstance(held(db, key(body=b"new")), InProgress)
