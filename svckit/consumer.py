"""Durable pull consumers with an inbox: each event's work commits once, then the message is acked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import IntegrityError

from svckit import events
from svckit.db import Database, UnitOfWork, dead_letters, inbox, now
from svckit.logs import correlated

logger = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, object, events.EventEnvelope], None]
RETRY_DELAY_S = 1.0


class RetryLater(Exception):
    """A handler's precondition is not met yet (an event overtook another): redeliver soon, quietly."""

    delay_s = 0.01


@dataclass(frozen=True)
class Subscription:
    """A durable consumer `<svc>-<purpose>` on one producer's stream, with a handler per event type."""

    durable: str
    producer: str
    handlers: dict[str, Handler]

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30,
            max_ack_pending=1000,
            filter_subjects=sorted(events.subject(self.producer, t) for t in self.handlers),
        )


def handle(db: Database, sub: Subscription, data: bytes, subject: str, seq: int) -> str:
    """Apply one message; returns 'done', 'duplicate' or 'dead'. Raises on a passing fault."""
    try:
        envelope, payload = events.decode(data)
    except events.UndecodableEvent as exc:
        with db.uow() as uow:
            uow.conn.execute(
                dead_letters.insert().values(
                    consumer=sub.durable,
                    subject=subject,
                    stream_seq=seq,
                    data=data,
                    error=str(exc),
                    created_at=now(),
                )
            )
            uow.commit()
        return "dead"
    with correlated(envelope.correlation_id), db.uow() as uow:
        try:
            with uow.conn.begin_nested():
                uow.conn.execute(
                    inbox.insert().values(consumer=sub.durable, event_id=envelope.event_id, handled_at=now())
                )
        except IntegrityError:
            logger.info("%s: %s %s already handled", sub.durable, envelope.type, envelope.event_id)
            return "duplicate"
        handler = sub.handlers.get(envelope.type)
        if handler is not None:
            handler(uow, payload, envelope)
        uow.commit()
        logger.info("%s handled %s %s", sub.durable, envelope.type, envelope.event_id)
    return "done"


def _handle_all(db: Database, sub: Subscription, msgs: list[Msg]) -> list[str | Exception]:
    """Each message in its own transaction, in order, on one worker thread: an outcome or the fault per message."""
    outcomes: list[str | Exception] = []
    for msg in msgs:
        try:
            outcomes.append(handle(db, sub, msg.data, msg.subject, msg.metadata.sequence.stream))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


async def _settle(sub: Subscription, msg: Msg, outcome: str | Exception) -> None:
    """Ack what was committed, redeliver what failed for now, terminate what can never be decoded."""
    seq = msg.metadata.sequence.stream
    if isinstance(outcome, RetryLater):
        logger.debug("%s: %s; redelivering", sub.durable, outcome)
        await msg.nak(delay=outcome.delay_s)
    elif isinstance(outcome, Exception):
        logger.error("%s: handling message %s failed; redelivering", sub.durable, seq, exc_info=outcome)
        await msg.nak(delay=RETRY_DELAY_S)
    elif outcome == "dead":
        logger.error("%s: message %s cannot be decoded; dead-lettered", sub.durable, seq)
        await msg.term()
    else:
        await msg.ack()


async def consume(js: JetStreamContext, db: Database, sub: Subscription, batch: int = 100) -> None:
    """Fetch and handle forever; replicas bind the same durable and so share the work."""
    stream = events.stream_name(sub.producer)
    await _bind_consumer(js, stream, sub)
    psub = await js.pull_subscribe_bind(durable=sub.durable, stream=stream)
    while True:
        try:
            msgs = await psub.fetch(batch, timeout=5)
        except TimeoutError:
            continue
        except Exception as exc:  # broker away: the durable keeps our place
            logger.warning("%s: fetch failed: %s", sub.durable, exc)
            await asyncio.sleep(RETRY_DELAY_S)
            continue
        outcomes = await asyncio.to_thread(_handle_all, db, sub, msgs)
        for msg, outcome in zip(msgs, outcomes, strict=True):
            await _settle(sub, msg, outcome)


async def _bind_consumer(js: JetStreamContext, stream: str, sub: Subscription) -> None:
    while True:
        try:
            await js.add_consumer(stream, sub.config())
            return
        except Exception as exc:  # the owning service may not have created its stream yet
            logger.info("%s: waiting for stream %s: %s", sub.durable, stream, exc)
            await asyncio.sleep(RETRY_DELAY_S)
