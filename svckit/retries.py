"""Redelivery of events whose handler failed: a growing backoff, at most max_deliver failures, then a dead letter."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, select

from svckit import events
from svckit.db import Database
from svckit.tables import dead_letters, delivery_failures, now

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0  # the longest wait between two failed deliveries
MAX_WAIT_DELAY_S = 1.0  # the longest wait between two deliveries of an event that waits for another
MAX_ERROR_CHARS = 4000
REMEMBERED = 10_000  # messages a consumer remembers waiting; beyond it the oldest one's wait starts anew
Item = tuple[bytes, str, int]  # a message: data, subject, stream sequence


class RetryLater(Exception):
    """A handler's precondition is not met yet (an event overtook another): redeliver soon, quietly.

    Not a failure, so not counted against max_deliver; it is bounded by time instead (`Redelivery.max_wait_s`).
    """

    delay_s = 0.01

    def __init__(self, reason: str, awaits: str = "") -> None:
        super().__init__(reason)
        self.awaits = awaits  # the work it waits for, if it may be underway in this process (svckit.waits)


class Overdue(Exception):
    """An event asked to wait (RetryLater) for longer than max_wait_s: from then on, each wait is a failure."""


@dataclass(frozen=True)
class Redelivery:
    """How events are redelivered: BNB_MAX_DELIVER, BNB_REDELIVERY_BACKOFF_SECONDS, BNB_MAX_WAIT_SECONDS."""

    max_deliver: int = 5
    backoff_s: float = 1.0
    max_wait_s: float = 300.0

    def failure_delay(self, failures: int) -> float:
        """The wait before redelivering an event that failed `failures` times: doubling, at most MAX_BACKOFF_S."""
        return min(self.backoff_s * 2.0 ** min(failures - 1, 30), MAX_BACKOFF_S)

    @staticmethod
    def wait_delay(deliveries: int) -> float:
        """The wait before redelivering an event that waits for another, growing with JetStream's delivery count."""
        return min(RetryLater.delay_s * 2.0 ** min(deliveries - 1, 30), MAX_WAIT_DELAY_S)


@dataclass(frozen=True)
class Failed:
    """The outcome of a handler's `failures`-th failure on an event: redeliver it after a backoff."""

    error: Exception
    failures: int


class Retrying:
    """What one consumer's process remembers of the messages it redelivers, by stream sequence."""

    def __init__(self, max_wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.waiting_since: dict[int, float] = {}
        self.failed: dict[int, str] = {}  # event ids of failures recorded by this process

    def waited_too_long(self, seq: int) -> bool:
        at = self.clock()
        since = self.waiting_since.setdefault(seq, at)
        if len(self.waiting_since) > REMEMBERED:
            del self.waiting_since[next(iter(self.waiting_since))]
        return at - since > self.max_wait_s

    def settled(self, seq: int) -> str | None:
        """Forget the message; the event id of a failure this process recorded for it, if any."""
        self.waiting_since.pop(seq, None)
        return self.failed.pop(seq, None)


def describe(error: BaseException) -> tuple[str, str]:
    """An error's text (bounded) and its type's qualified name."""
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return (str(error) or name)[:MAX_ERROR_CHARS], name


def bury(conn: Connection, durable: str, item: Item, error: BaseException, deliveries: int = 1,
         event_id: str | None = None) -> None:  # fmt: skip
    """Record the message as a dead letter, with the error that killed it."""
    data, subject, seq = item
    text, kind = describe(error)
    conn.execute(
        dead_letters.insert(),
        {"consumer": durable, "subject": subject, "stream_seq": seq, "data": data, "error": text, "error_type": kind,
         "deliveries": deliveries, "event_id": event_id, "created_at": now()},
    )  # fmt: skip


def _failures_of(durable: str, event_id: str) -> ColumnElement[bool]:
    return and_(delivery_failures.c.consumer == durable, delivery_failures.c.event_id == event_id)


def _record(conn: Connection, durable: str, event_id: str, error: Exception) -> int:
    """Count one more failure of the event; how many it has had."""
    key, at, (text, _) = _failures_of(durable, event_id), now(), describe(error)
    before: int | None = conn.execute(select(delivery_failures.c.failures).where(key)).scalar()
    if before is None:
        row = {"consumer": durable, "event_id": event_id, "failures": 1, "error": text}
        conn.execute(delivery_failures.insert(), {**row, "first_failed_at": at, "last_failed_at": at})
        return 1
    conn.execute(delivery_failures.update().where(key).values(failures=before + 1, error=text, last_failed_at=at))
    return before + 1


def _count(db: Database, durable: str, item: Item, error: Exception, redelivery: Redelivery,
           retrying: Retrying) -> Failed | str | Exception:  # fmt: skip
    seq = item[2]
    event_id = events.decode(item[0])[0].event_id  # it was decoded once: undecodable messages never fail here
    try:
        with db.uow() as uow:
            failures = _record(uow.conn, durable, event_id, error)
            if failures >= redelivery.max_deliver:
                uow.conn.execute(delivery_failures.delete().where(_failures_of(durable, event_id)))
                bury(uow.conn, durable, item, error, failures, event_id)
            uow.commit()
    except Exception:  # the database itself is away: redeliver, uncounted
        logger.warning("%s: counting the failure of message %s failed", durable, seq, exc_info=True)
        return error
    if failures < redelivery.max_deliver:
        retrying.failed[seq] = event_id
        return Failed(error, failures)
    retrying.settled(seq)
    logger.error("%s: message %s (event %s) failed %d times; dead-lettered", durable, seq, event_id, failures,
                 exc_info=error)  # fmt: skip
    return "dead"


def account(db: Database, durable: str, items: list[Item], outcomes: list[str | Exception], redelivery: Redelivery,
            retrying: Retrying) -> list[str | Exception | Failed]:  # fmt: skip
    """Count each handler failure: Failed (redeliver after a backoff), or at max_deliver 'dead' (dead-lettered).

    A RetryLater stays one until the event has waited max_wait_s; from then on each is a failure. The failure
    counts of events now handled are removed.
    """
    result: list[str | Exception | Failed] = []
    handled: list[str] = []
    for item, outcome in zip(items, outcomes, strict=True):
        seq = item[2]
        if isinstance(outcome, RetryLater):
            if not retrying.waited_too_long(seq):
                result.append(outcome)
                continue
            outcome = Overdue(f"still waiting after {retrying.max_wait_s:g}s: {outcome}")
        if isinstance(outcome, Exception):
            result.append(_count(db, durable, item, outcome, redelivery, retrying))
            continue
        if (event_id := retrying.settled(seq)) is not None:
            handled.append(event_id)
        result.append(outcome)
    if handled:
        try:
            with db.uow() as uow:
                ids = delivery_failures.c.event_id.in_(handled)
                uow.conn.execute(delivery_failures.delete().where(delivery_failures.c.consumer == durable, ids))
                uow.commit()
        except Exception:  # only tidiness is lost: the rows of handled events are never read again
            logger.warning("%s: removing failure counts failed", durable, exc_info=True)
    return result
