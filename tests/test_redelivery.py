"""Poison events: a failing handler is retried with backoff up to max_deliver, then dead-lettered; replayed once."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select

from room_svc.domain import RoomRegistered
from svckit import events
from svckit.config import Settings, SettingsError
from svckit.db import Database
from svckit.deadletters import ReplayRefused, listing, replay, subscription
from svckit.inbox import handle, process
from svckit.policies import Handler, Subscription
from svckit.retries import Failed, Overdue, Redelivery, Retrying, RetryLater
from svckit.tables import dead_letters, delivery_failures, plumbing
from svckit.uow import UnitOfWork
from tests.dbs import database_url, kinds, skip_without

effects_md = MetaData()
effects = Table("effects", effects_md, Column("event_id", String(36), primary_key=True))
SUBJECT = events.subject("room", "RoomRegistered")
DURABLE = "view-room-test"
POLICY = Redelivery(max_deliver=4, backoff_s=0.5, max_wait_s=60)


def message(room_id: str, seq: int) -> tuple[bytes, str, int]:
    envelope = events.envelope(
        RoomRegistered(room_id, "h1", "Loft", 100, "available"), producer="room", aggregate_id=room_id
    )
    return envelope.SerializeToString(), SUBJECT, seq


class Policy:
    """Records each event in `effects`; fails for the room `fail` names, asks to wait for the room `later` names."""

    def __init__(self, fail: str = "", later: str = "") -> None:
        self.fail, self.later = fail, later

    def __call__(self, uow: UnitOfWork, event: Any, envelope: events.EventEnvelope) -> None:
        if event.room_id == self.later:
            raise RetryLater("the reservation is still pending")
        uow.conn.execute(effects.insert(), {"event_id": envelope.event_id})
        if event.room_id == self.fail:
            raise KeyError(f"no rule for {event.room_id}")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=kinds())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    skip_without(request.param)
    with database_url(request.param, tmp_path, "view") as url:
        database = Database(url, producer="view")
        for metadata in (plumbing, effects_md):  # svckit's tables and this test's own
            metadata.create_all(database.engine)
        yield database
        database.dispose()


def count(db: Database, table: Table) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def sub(policy: Handler) -> Subscription:
    return Subscription(DURABLE, "room", {"RoomRegistered": policy})


def test_a_failing_event_backs_off_then_is_dead_lettered_at_max_deliver_while_the_rest_flow(db: Database) -> None:
    policy, retrying = Policy(fail="poison"), Retrying(POLICY.max_wait_s)
    poison = message("poison", 2)
    outcomes = process(db, sub(policy), [message("a", 1), poison, message("b", 3)], POLICY, retrying)
    assert outcomes[0] == outcomes[2] == "done" and isinstance(outcomes[1], Failed)
    failures: list[int | str | Exception] = [outcomes[1].failures]
    for seq in range(4, 4 + POLICY.max_deliver - 1):  # the poison's redeliveries, each beside a later event
        outcome, later = process(db, sub(policy), [poison, message(f"r{seq}", seq)], POLICY, retrying)
        assert later == "done"
        failures.append(outcome.failures if isinstance(outcome, Failed) else outcome)
    assert failures == [1, 2, 3, "dead"]
    assert [POLICY.failure_delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    (letter,) = listing(db)
    assert (letter["consumer"], letter["stream_seq"], letter["deliveries"]) == (DURABLE, 2, POLICY.max_deliver)
    assert (letter["error_type"], letter["error"]) == ("KeyError", "'no rule for poison'")
    assert letter["event_id"] == events.decode(poison[0])[0].event_id and letter["replayed_at"] is None
    assert count(db, delivery_failures) == 0
    assert count(db, effects) == 2 + POLICY.max_deliver - 1  # every later event, nothing of the poison's


def test_an_event_that_must_wait_is_not_counted_however_often_it_is_redelivered(db: Database) -> None:
    policy, retrying = Policy(later="early"), Retrying(POLICY.max_wait_s)
    early = message("early", 1)
    for _ in range(5 * POLICY.max_deliver):
        (outcome,) = process(db, sub(policy), [early], POLICY, retrying)
        assert isinstance(outcome, RetryLater)
    assert (count(db, delivery_failures), count(db, dead_letters)) == (0, 0)
    policy.later = ""  # what it waited for happened
    assert process(db, sub(policy), [early], POLICY, retrying) == ["done"]
    assert retrying.waiting_since == {}


def test_the_wait_backs_off_with_each_delivery_and_stays_short() -> None:
    delays = [Redelivery.wait_delay(n) for n in (1, 2, 3, 8, 50)]
    assert delays == [0.01, 0.02, 0.04, 1.0, 1.0]


def test_an_event_waiting_longer_than_max_wait_s_fails_from_then_on(db: Database) -> None:
    clock = Clock()
    policy, retrying = Policy(later="stuck"), Retrying(POLICY.max_wait_s, clock)
    stuck = message("stuck", 1)
    assert isinstance(process(db, sub(policy), [stuck], POLICY, retrying)[0], RetryLater)
    clock.now = POLICY.max_wait_s + 1
    outcomes = [process(db, sub(policy), [stuck], POLICY, retrying)[0] for _ in range(POLICY.max_deliver)]
    assert [o.failures for o in outcomes[:-1]] == [1, 2, 3] and outcomes[-1] == "dead"  # type: ignore[union-attr]
    assert isinstance(outcomes[0].error, Overdue)  # type: ignore[union-attr]
    (letter,) = listing(db)
    assert letter["error_type"] == "svckit.retries.Overdue" and "still waiting after 60s" in letter["error"]


def test_an_event_that_succeeds_after_failing_leaves_no_failure_count(db: Database) -> None:
    policy, retrying = Policy(fail="flaky"), Retrying(POLICY.max_wait_s)
    flaky = message("flaky", 1)
    for _ in range(2):
        assert isinstance(process(db, sub(policy), [flaky], POLICY, retrying)[0], Failed)
    assert count(db, delivery_failures) == 1
    policy.fail = ""
    assert process(db, sub(policy), [flaky], POLICY, retrying) == ["done"]
    assert (count(db, delivery_failures), count(db, dead_letters)) == (0, 0)


def poisoned(db: Database, policy: Policy, room_id: str = "poison") -> tuple[int, tuple[bytes, str, int]]:
    """A dead letter of `room_id`'s event after max_deliver failures; its id and the message."""
    retrying, poison = Retrying(POLICY.max_wait_s), message(room_id, 7)
    while process(db, sub(policy), [poison], POLICY, retrying) != ["dead"]:
        pass
    return listing(db)[-1]["id"], poison


def test_replay_after_the_fix_applies_the_event_once_and_marks_the_dead_letter(db: Database) -> None:
    policy = Policy(fail="poison")
    letter_id, _ = poisoned(db, policy)
    with pytest.raises(KeyError):  # not fixed yet: nothing is written
        replay(db, letter_id, lambda _consumer: sub(policy))
    assert (count(db, effects), listing(db)[0]["replayed_at"]) == (0, None)
    policy.fail = ""  # the fix
    assert replay(db, letter_id, lambda _consumer: sub(policy)) == "done"
    assert count(db, effects) == 1
    (letter,) = listing(db)
    assert letter["replay_outcome"] == "done" and letter["replayed_at"]
    with pytest.raises(ReplayRefused, match="was replayed at"):
        replay(db, letter_id, lambda _consumer: sub(policy))
    assert count(db, effects) == 1


def test_replaying_an_event_applied_meanwhile_is_a_duplicate_and_changes_nothing(db: Database) -> None:
    policy = Policy(fail="poison")
    letter_id, poison = poisoned(db, policy)
    policy.fail = ""
    assert handle(db, sub(policy), *poison) == "done"  # e.g. the producer published it again
    assert replay(db, letter_id, lambda _consumer: sub(policy)) == "duplicate"
    assert count(db, effects) == 1 and listing(db)[0]["replay_outcome"] == "duplicate"


def test_an_undecodable_dead_letter_or_a_missing_one_is_refused(db: Database) -> None:
    assert handle(db, sub(Policy()), b"\xffnot an envelope", SUBJECT, 3) == "dead"
    (letter,) = listing(db)
    assert (letter["error_type"], letter["deliveries"], letter["event_id"]) == (
        "svckit.events.UndecodableEvent", 1, None)  # fmt: skip
    with pytest.raises(ReplayRefused, match="still cannot be decoded"):
        replay(db, letter["id"], lambda _consumer: sub(Policy()))
    with pytest.raises(ReplayRefused, match="no dead letter 99"):
        replay(db, 99, lambda _consumer: sub(Policy()))


def test_replay_uses_the_handlers_the_service_runs() -> None:
    found = subscription("message", "message-room-notify")
    assert (found.durable, found.producer, sorted(found.handlers)) == (
        "message-room-notify", "room", ["ReviewCreated", "RoomRegistered"])  # fmt: skip
    for stranger in ("view-room-projection", "message-nowhere-notify", "message"):
        with pytest.raises(ReplayRefused, match="not one of message's"):
            subscription("message", stranger)
    assert functools.partial(subscription, "view")("view-payment-projection").producer == "payment"


def test_the_redelivery_settings_are_read_and_checked() -> None:
    settings = Settings.from_env("view", {"BNB_MAX_DELIVER": "3", "BNB_REDELIVERY_BACKOFF_SECONDS": "0.2"})
    assert (settings.max_deliver, settings.redelivery_backoff_s, settings.max_wait_s) == (3, 0.2, 300.0)
    assert Settings.from_env("view", {}).max_deliver == 5
    with pytest.raises(SettingsError, match="BNB_MAX_DELIVER must be >= 1"):
        Settings.from_env("view", {"BNB_MAX_DELIVER": "0"})
