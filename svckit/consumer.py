"""Durable JetStream pull consumers: what svckit.inbox applied is acked, redelivered or terminated."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from svckit import broker, events, metrics, pull, tracing
from svckit.db import Database
from svckit.inbox import Outcome, Parents, process
from svckit.policies import Subscription
from svckit.retries import Failed, Item, Redelivery, Retrying, RetryLater
from svckit.waits import Underway

logger = logging.getLogger(__name__)

RETRY_DELAY_S = 1.0  # after a fault that could not be counted (the database away) or a lost broker
STOP_WAIT_S = 5.0  # how long a stopping service lets the batch in hand end (it may wait for work underway, WAIT_S)
WAIT_S = 10.0  # the longest an event waits for work underway here before it is redelivered after a delay instead


async def _settle(sub: Subscription, msg: Msg, outcome: object, redelivery: Redelivery) -> None:
    """Ack what was committed, redeliver what failed or must wait (with backoff), terminate what is dead."""
    seq = msg.metadata.sequence.stream
    if isinstance(outcome, RetryLater):
        logger.debug("%s: %s; redelivering", sub.durable, outcome)
        await msg.nak(delay=redelivery.wait_delay(msg.metadata.num_delivered))
    elif isinstance(outcome, Failed):
        delay = redelivery.failure_delay(outcome.failures)
        logger.error("%s: message %s failed (%d of %d); redelivering in %.1fs", sub.durable, seq, outcome.failures,
                     redelivery.max_deliver, delay, exc_info=outcome.error)  # fmt: skip
        await msg.nak(delay=delay)
    elif isinstance(outcome, Exception):
        logger.error("%s: handling message %s failed; redelivering", sub.durable, seq, exc_info=outcome)
        await msg.nak(delay=RETRY_DELAY_S)
    elif outcome == "dead":
        logger.error("%s: message %s dead-lettered; terminated", sub.durable, seq)
        metrics.dead_lettered(sub.durable)
        await msg.term()
    else:
        await msg.ack()


async def consume(
    nc: Client, db: Database, sub: Subscription, redelivery: Redelivery | None = None, underway: Underway | None = None
) -> None:
    """Handle forever what the durable consumer delivers; replicas bind the same durable and so share the work.

    An event whose handler waits for work `underway` in this process (RetryLater.awaits) is retried when that work
    ends, instead of being redelivered after a delay.
    """
    redelivery = redelivery or Redelivery()
    retrying = Retrying(redelivery.max_wait_s)
    stream = events.stream_name(sub.producer)
    await _bind_consumer(nc.jetstream(), stream, sub)
    while True:
        try:
            async with contextlib.aclosing(pull.batches(nc, stream, sub.durable, linger_s=sub.linger_s)) as batches:
                async for msgs in batches:  # a batch is applied and settled whole, even when the service stops
                    await _whole(_apply(db, sub, msgs, redelivery, retrying, underway))
        except Exception as exc:  # broker away: the durable keeps our place
            logger.warning("%s: consuming failed: %s", sub.durable, exc)
            await asyncio.sleep(RETRY_DELAY_S)


async def _apply(db: Database, sub: Subscription, msgs: list[Msg], redelivery: Redelivery, retrying: Retrying,
                 underway: Underway | None) -> None:  # fmt: skip
    items = [(m.data, m.subject, m.metadata.sequence.stream) for m in msgs]
    if again := sum(m.metadata.num_delivered > 1 for m in msgs):
        metrics.redelivered(sub.durable, again)
    parents = _parents(msgs) if tracing.enabled else None
    fresh = not again  # first deliveries only: the inbox's primary key alone tells a duplicate
    outcomes = await db.run(process, db, sub, items, redelivery, retrying, parents, fresh)
    if underway and any(isinstance(o, RetryLater) and o.awaits for o in outcomes):
        again_args = (underway, redelivery, retrying, parents)
        pairs = zip(items, outcomes, strict=True)
        async with _in_progress(msgs, sub.ack_wait_s / 3):  # waiting for work underway may outlast the ack wait
            outcomes = [*await asyncio.gather(*(_waited(db, sub, [i], o, *again_args) for i, o in pairs))]
    for msg, outcome in zip(msgs, outcomes, strict=True):
        await _settle(sub, msg, outcome, redelivery)


@contextlib.asynccontextmanager
async def _in_progress(msgs: list[Msg], every_s: float) -> AsyncIterator[None]:
    """Tell JetStream every `every_s` that `msgs` are still being worked on, while the block runs: it redelivers
    none of them meanwhile, and a consumer that dies is still found out after the ack wait."""

    async def tell() -> None:
        while True:
            await asyncio.sleep(every_s)
            for msg in msgs:
                await msg.in_progress()

    telling = asyncio.create_task(tell())
    try:
        yield
    finally:
        telling.cancel()


async def _whole(work: Coroutine[Any, Any, None]) -> None:
    """Await `work`; when this task is cancelled meanwhile (the service stops), let `work` end first (up to
    STOP_WAIT_S), then stop: a batch committed and then cancelled before its acks would wait out the ack wait."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task], timeout=STOP_WAIT_S)
        raise


async def _waited(db: Database, sub: Subscription, item: list[Item], outcome: Outcome, underway: Underway,
                  redelivery: Redelivery, retrying: Retrying, parents: Parents) -> Outcome:  # fmt: skip
    """The outcome, or when it waits for work underway here: the outcome of handling it again once that ended."""
    if isinstance(outcome, RetryLater) and outcome.awaits and await underway.ended(outcome.awaits, WAIT_S):
        return (await db.run(process, db, sub, item, redelivery, retrying, parents))[0]
    return outcome


def _parents(msgs: list[Msg]) -> dict[str, str]:
    """Event id (the relay's Nats-Msg-Id) -> the traceparent its message carried."""
    parents = {}
    for m in msgs:
        if (headers := m.headers) and (parent := headers.get("traceparent")) and (eid := headers.get("Nats-Msg-Id")):
            parents[eid] = parent
    return parents


async def _bind_consumer(js: JetStreamContext, stream: str, sub: Subscription) -> None:
    """Create the durable, or bring an existing one to this configuration (JetStream creates or updates)."""
    binding = functools.partial(js.add_consumer, stream, sub.config())
    # The owning service may not have created its stream yet: usual at start-up, so not a warning.
    await broker.persistently(binding, f"{sub.durable}: binding to stream {stream}", RETRY_DELAY_S, logging.INFO)
