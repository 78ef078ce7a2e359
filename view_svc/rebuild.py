"""Rebuild the view from the first event of every stream: stop view_svc, run `python -m view_svc.rebuild`, start it."""

from __future__ import annotations

import argparse
import asyncio
import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from svckit import broker, events, logs, migrate
from svckit.config import Settings
from svckit.db import Database
from svckit.inbox import handle_batch
from svckit.policies import Subscription
from svckit.tables import dead_letters, inbox
from view_svc import repository
from view_svc.main import UNIT_OF_WORK, subscriptions

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 1.0
USAGE = """Drop the view's tables and its consumers' inbox rows, then replay ROOM, RESERVATION and PAYMENT
from their first message through the same consumers as view_svc (BNB_DATABASE_URL, BNB_NATS_URL).
view_svc must not be consuming meanwhile: stop it, rebuild, start it (its durable consumers then deliver
whatever arrived since, and the inbox skips what the rebuild already applied). Or rebuild into a fresh
database by pointing BNB_DATABASE_URL at it."""


def reset(db: Database, subs: list[Subscription]) -> None:
    """Empty the view and forget which events its consumers handled, in one transaction."""
    migrate.upgrade(db, "view_svc")
    consumers = [sub.durable for sub in subs]
    with db.uow() as uow:
        for table in reversed(repository.metadata.sorted_tables):
            uow.conn.execute(table.delete())
        uow.conn.execute(inbox.delete().where(inbox.c.consumer.in_(consumers)))
        # The replay records undecodable messages again.
        uow.conn.execute(dead_letters.delete().where(dead_letters.c.consumer.in_(consumers)))
        uow.commit()


def _apply(db: Database, sub: Subscription, msgs: list[Msg]) -> list[str]:
    applied: list[str] = []
    for outcome in handle_batch(db, sub, [(msg.data, msg.subject, msg.metadata.sequence.stream) for msg in msgs]):
        if isinstance(outcome, Exception):
            raise outcome
        applied.append(outcome)
    return applied


async def replay(db: Database, js: JetStreamContext, sub: Subscription, batch: int = 500) -> int:
    """Apply every message of `sub`'s stream that it subscribes to; returns how many were applied."""
    stream = events.stream_name(sub.producer)
    # Ephemeral and unacknowledged: it reads the stream in order and leaves no trace once idle.
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        filter_subjects=sub.config().filter_subjects,
        inactive_threshold=30.0,
    )
    try:
        psub = await js.pull_subscribe("", stream=stream, config=config)
    except NotFoundError:
        logger.warning("stream %s does not exist yet: nothing to replay", stream)
        return 0
    applied = 0
    try:
        pending = (await psub.consumer_info()).num_pending
        while pending:
            try:
                msgs = await psub.fetch(batch, timeout=FETCH_TIMEOUT_S)
            except TimeoutError:
                pending = (await psub.consumer_info()).num_pending
                continue
            outcomes = await db.run(_apply, db, sub, msgs)
            applied += outcomes.count("done")
            pending = msgs[-1].metadata.num_pending
    finally:
        await psub.unsubscribe()
    logger.info("%s: replayed %d events of %s", sub.durable, applied, stream)
    return applied


async def rebuild(db: Database, js: JetStreamContext) -> int:
    """Reset the view, then replay the three streams one after the other; returns how many events were applied.

    The merge rules do not depend on order, so stream after stream gives the rows that the live
    interleaving gave.
    """
    subs = subscriptions()
    await db.run(reset, db, subs)
    applied = 0
    for sub in subs:
        applied += await replay(db, js, sub)
    return applied


async def _run(settings: Settings) -> int:
    db = Database(settings.database_url, producer="view", unit=UNIT_OF_WORK)
    nc = await broker.connect(settings.nats_url, "view-rebuild")
    try:
        return await rebuild(db, nc.jetstream())
    finally:
        await nc.close()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m view_svc.rebuild", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    settings = Settings.from_env("view")
    logs.configure(settings.service, settings.log_level)
    applied = asyncio.run(_run(settings))
    print(f"view rebuilt: {applied} events applied")


if __name__ == "__main__":
    main()
