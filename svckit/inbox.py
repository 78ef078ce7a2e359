"""Each consumed event's work and its inbox row in one transaction: a batch at once, or one by one."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from svckit import events, metrics, tracing
from svckit.compiled import Compiled
from svckit.db import Database
from svckit.logs import correlated
from svckit.policies import Subscription
from svckit.retries import Failed, Item, Redelivery, Retrying, RetryLater, account, bury
from svckit.tables import inbox, now
from svckit.uow import UnitOfWork

logger = logging.getLogger(__name__)
_OUTCOMES = (RetryLater,)  # an event that must wait for another: its span says so, and records no fault

Parents = dict[str, str] | None  # event id -> the traceparent of its message
Outcome = str | Exception | Failed  # of one message: 'done', 'duplicate', 'dead', or what to redeliver it after


def apply(uow: UnitOfWork, sub: Subscription, envelope: Any, payload: Any) -> str:
    """The event's work and its inbox row in `uow`, left to commit: 'done', or 'duplicate' if it was handled."""
    _lock(uow, sub, [payload])
    try:
        with uow.conn.begin_nested():
            _TRACK.run(uow.conn, _tracking(sub, envelope.event_id))
    except IntegrityError:
        return _duplicate(sub, envelope)
    _run_handler(uow, sub, envelope, payload)
    return "done"


def _lock(uow: UnitOfWork, sub: Subscription, payloads: list[Any]) -> None:
    if (locks := sub.locks) is not None:
        uow.lock_all(key for payload in payloads for key in locks(payload))


def _duplicate(sub: Subscription, envelope: Any) -> str:
    logger.info("%s: %s %s already handled", sub.durable, envelope.type, envelope.event_id)
    metrics.duplicate(sub.durable)
    return "duplicate"


def _run_handler(uow: UnitOfWork, sub: Subscription, envelope: Any, payload: Any) -> None:
    """The handler of the event's type (if the consumer has one) on `uow`, timed."""
    handler = sub.handlers.get(envelope.type)
    if handler is not None:
        started = time.perf_counter()
        handler(uow, payload, envelope)
        metrics.handled(sub.durable, envelope.type, time.perf_counter() - started)


def handle(db: Database, sub: Subscription, data: bytes, subject: str, seq: int, parent: str | None = None) -> str:
    """Apply one message in a transaction of its own: 'done', 'duplicate' or 'dead'. Raises on a passing fault.

    `parent` is the traceparent the message carried: the event's span continues that trace (svckit.tracing).
    """
    try:
        envelope, payload = events.decode(data)
    except events.UndecodableEvent as exc:
        with db.uow() as uow:
            bury(uow.conn, sub.durable, (data, subject, seq), exc)
            uow.commit()
        return "dead"
    consumed = tracing.consumed(sub.durable, envelope, parent, _OUTCOMES)
    with correlated(envelope.correlation_id), consumed, db.uow() as uow:
        if (outcome := apply(uow, sub, envelope, payload)) == "done":
            uow.commit()
            logger.debug("%s handled %s %s", sub.durable, envelope.type, envelope.event_id)
    return outcome


def _tracking(sub: Subscription, event_id: str) -> dict[str, object]:
    return {"consumer": sub.durable, "event_id": event_id, "handled_at": now()}


_SEEN = select(inbox.c.event_id).where(
    inbox.c.consumer == bindparam("consumer"), inbox.c.event_id.in_(bindparam("ids", expanding=True))
)
_TRACK = Compiled(inbox.insert())


def _seen(uow: UnitOfWork, sub: Subscription, event_ids: list[str]) -> set[str]:
    return set(uow.conn.execute(_SEEN, {"consumer": sub.durable, "ids": event_ids}).scalars())


def _apply_batch(
    db: Database, sub: Subscription, decoded: list[tuple[Any, Any]], parents: Parents, fresh: bool
) -> list[str | Exception]:
    """Every new event of the batch and its inbox rows in one transaction; raises when any handler fails.

    A `fresh` batch (first deliveries only) is not looked up in the inbox first: an event handled already (a
    publisher's resend past JetStream's duplicate window, acks a broker crash forgot) then fails the inbox rows'
    insert, the whole transaction rolls back, and the one-by-one replay finds it a duplicate.
    """
    outcomes: list[str | Exception] = []
    handled: list[Any] = []  # envelopes
    spans: list[Any] = []  # their spans (None when tracing is off): the lines logged after commit name their traces
    with db.uow() as uow:
        seen = set() if fresh else _seen(uow, sub, [envelope.event_id for envelope, _ in decoded])
        _lock(uow, sub, [payload for _, payload in decoded])
        for envelope, payload in decoded:
            if envelope.event_id in seen:
                outcomes.append(_duplicate(sub, envelope))
                continue
            try:
                parent = parents.get(envelope.event_id) if parents else None
                consumed = tracing.consumed(sub.durable, envelope, parent, _OUTCOMES)
                with correlated(envelope.correlation_id), consumed as span:
                    _run_handler(uow, sub, envelope, payload)
            except RetryLater as exc:  # raised before the handler wrote anything: the rest of the batch stands
                outcomes.append(exc)
                continue
            seen.add(envelope.event_id)
            handled.append(envelope)
            spans.append(span)
            outcomes.append("done")
        if handled:
            _TRACK.run(uow.conn, [_tracking(sub, envelope.event_id) for envelope in handled])
        uow.commit()
    if logger.isEnabledFor(logging.DEBUG):
        for envelope, span in zip(handled, spans, strict=True):
            with correlated(envelope.correlation_id), tracing.resumed(span):
                logger.debug("%s handled %s %s", sub.durable, envelope.type, envelope.event_id)
    return outcomes


def handle_batch(
    db: Database, sub: Subscription, items: list[Item], parents: Parents = None, fresh: bool = False
) -> list[str | Exception]:
    """Apply a fetched batch (data, subject, stream sequence) in one transaction: an outcome or the fault per message.

    `parents` maps event ids to the traceparent their messages carried: each event gets a span of its own, a child
    of its own producer's, though the batch shares one transaction.

    When the batch fails as a whole (a handler's fault, a replica that handled one of its events meanwhile),
    it is replayed one message at a time, so that only the failing message is redelivered.
    """
    decoded: list[tuple[Any, Any]] = []
    for data, _, _ in items:
        try:
            decoded.append(events.decode(data))
        except events.UndecodableEvent:
            return _one_by_one(db, sub, items, parents)
    try:
        return _apply_batch(db, sub, decoded, parents, fresh)
    except Exception as exc:
        logger.debug("%s: batch of %d failed (%s); one by one", sub.durable, len(items), exc)
        return _one_by_one(db, sub, items, parents)


def _one_by_one(db: Database, sub: Subscription, items: list[Item], parents: Parents) -> list[str | Exception]:
    outcomes: list[str | Exception] = []
    for data, subject, seq in items:
        parent = parents.get(_event_id(data)) if parents else None
        try:
            outcomes.append(handle(db, sub, data, subject, seq, parent))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def process(
    db: Database,
    sub: Subscription,
    items: list[Item],
    redelivery: Redelivery,
    retrying: Retrying,
    parents: Parents = None,
    fresh: bool = False,
) -> list[Outcome]:
    """handle_batch, each handler failure counted: Failed (redeliver after a backoff) or, at max_deliver, 'dead'."""
    return account(db, sub.durable, items, handle_batch(db, sub, items, parents, fresh), redelivery, retrying)


def _event_id(data: bytes) -> str:
    try:
        return events.decode(data)[0].event_id
    except events.UndecodableEvent:
        return ""
