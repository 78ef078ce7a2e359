"""A fetched batch in one transaction: each event applied once, a failing one isolated, the rest committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from room_svc.domain import RoomRegistered
from svckit import events
from svckit.db import Database
from svckit.inbox import handle_batch
from svckit.retries import RetryLater
from svckit.tables import dead_letters, inbox, plumbing
from svckit.uow import UnitOfWork
from tests.test_redelivery import SUBJECT, count, effects, effects_md, sub


def message(room_id: str) -> tuple[bytes, str, int]:
    envelope = events.envelope(
        RoomRegistered(room_id, "h1", "Loft", 100, "available"), producer="room", aggregate_id=room_id
    )
    return envelope.SerializeToString(), SUBJECT, 1


class Policy:
    """Records each event it is given in `effects`; fails, or asks for a redelivery, for the rooms it is told."""

    def __init__(self, fail: str = "", later: str = "") -> None:
        self.fail, self.later, self.calls = fail, later, 0

    def __call__(self, uow: UnitOfWork, event: Any, envelope: events.EventEnvelope) -> None:
        self.calls += 1
        if event.room_id == self.later:
            raise RetryLater("not yet")
        uow.conn.execute(effects.insert(), {"event_id": envelope.event_id})
        if event.room_id == self.fail:
            raise RuntimeError("handler bug")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/c.db", producer="view")
    for metadata in (plumbing, effects_md):  # svckit's tables and this test's own
        metadata.create_all(database.engine)
    return database


def test_a_batch_applies_every_event_once_and_a_redelivered_batch_changes_nothing(db: Database) -> None:
    batch = [message(f"room{i}") for i in range(3)]
    policy = Policy()
    assert handle_batch(db, sub(policy), batch) == ["done"] * 3
    assert handle_batch(db, sub(policy), batch) == ["duplicate"] * 3
    assert (policy.calls, count(db, effects), count(db, inbox)) == (3, 3, 3)


def test_a_first_delivery_of_an_event_handled_already_is_still_a_duplicate(db: Database) -> None:
    handled, new = message("room1"), message("room2")
    policy = Policy()
    assert handle_batch(db, sub(policy), [handled]) == ["done"]
    # Delivered as new (its ack forgotten by a crashed broker): not looked up first, so the batch's transaction
    # fails on the inbox (here already on the effect's key), rolls back, and the replay one by one sorts it out.
    assert handle_batch(db, sub(policy), [handled, new], fresh=True) == ["duplicate", "done"]
    assert (count(db, effects), count(db, inbox)) == (2, 2)
    assert policy.calls == 1 + 1 + 1  # the first batch; the fresh batch failing at room1 again; room2, alone


def test_the_same_event_twice_in_a_fresh_batch_is_applied_once(db: Database) -> None:
    one = message("room1")
    assert handle_batch(db, sub(Policy()), [one, one], fresh=True) == ["done", "duplicate"]
    assert (count(db, effects), count(db, inbox)) == (1, 1)


def test_the_same_event_twice_in_one_batch_is_applied_once(db: Database) -> None:
    one = message("room1")
    assert handle_batch(db, sub(Policy()), [one, one]) == ["done", "duplicate"]
    assert count(db, effects) == 1


def test_a_failing_event_is_isolated_and_the_rest_of_its_batch_commits(db: Database) -> None:
    batch = [message("room1"), message("room2"), message("room3")]
    outcomes = handle_batch(db, sub(Policy(fail="room2")), batch)
    assert outcomes[0] == outcomes[2] == "done" and isinstance(outcomes[1], RuntimeError)
    assert (count(db, effects), count(db, inbox)) == (2, 2)  # nothing of room2's half-written
    assert handle_batch(db, sub(Policy()), batch) == ["duplicate", "done", "duplicate"]  # its redelivery


def test_an_event_that_must_wait_is_redelivered_alone(db: Database) -> None:
    outcomes = handle_batch(db, sub(Policy(later="room2")), [message("room1"), message("room2"), message("room3")])
    assert outcomes[0] == outcomes[2] == "done" and isinstance(outcomes[1], RetryLater)
    assert (count(db, effects), count(db, inbox)) == (2, 2)


def test_an_undecodable_message_is_dead_lettered_and_the_others_applied(db: Database) -> None:
    outcomes = handle_batch(db, sub(Policy()), [message("room1"), (b"\xffnot an envelope", SUBJECT, 7)])
    assert outcomes == ["done", "dead"]
    assert (count(db, effects), count(db, dead_letters)) == (1, 1)
