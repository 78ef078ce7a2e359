"""Dead letters of a service's consumers: list them, or replay one after a fix (`python -m svckit.deadletters`)."""

from __future__ import annotations

import argparse
import functools
import importlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from svckit import events, migrate
from svckit.config import Settings
from svckit.db import Database
from svckit.inbox import apply
from svckit.logs import correlated
from svckit.policies import Subscription
from svckit.retries import RetryLater
from svckit.tables import dead_letters, now

EPILOG = """Without --replay: every dead letter as a JSON line, oldest first. With --replay ID: the dead letter's
event is applied once through its consumer's handler and inbox (an event handled meanwhile is a duplicate and
changes nothing), and the dead letter is marked replayed, in one transaction; run it after deploying the fix.
The database is the service's (BNB_DATA_DIR or BNB_DATABASE_URL, as for the service)."""


class ReplayRefused(Exception):
    """The dead letter does not exist, was replayed already, or still cannot be decoded."""


def listing(db: Database) -> list[dict[str, Any]]:
    """Every dead letter, oldest first, with its payload shown as hex."""
    with db.read() as conn:
        rows = conn.execute(select(dead_letters).order_by(dead_letters.c.id)).mappings().all()
    fields = ("id", "consumer", "subject", "stream_seq", "event_id", "error_type", "error", "deliveries",
              "replay_outcome")  # fmt: skip
    return [
        {**{k: row[k] for k in fields}, "created_at": row["created_at"].isoformat(),
         "replayed_at": row["replayed_at"] and row["replayed_at"].isoformat(), "data_hex": row["data"][:256].hex()}
        for row in rows
    ]  # fmt: skip


def subscription(service: str, consumer: str) -> Subscription:
    """The consumer `<service>-<producer>-<purpose>` with the handlers the service runs (its handlers.POLICIES)."""
    policies = importlib.import_module(f"{service}_svc.handlers").POLICIES
    parts = consumer.split("-", 2)
    if len(parts) != 3 or parts[0] != service or parts[1] not in policies:
        raise ReplayRefused(f"consumer {consumer!r} is not one of {service}'s")
    return Subscription(consumer, parts[1], policies[parts[1]])


def replay(db: Database, letter_id: int, subscription_of: Callable[[str], Subscription]) -> str:
    """Apply the dead letter once and mark it replayed, in one transaction: 'done' or 'duplicate'.

    A handler that still fails (or must wait: RetryLater) raises, and nothing is written.
    """
    with db.uow() as uow:
        row = uow.conn.execute(select(dead_letters).where(dead_letters.c.id == letter_id)).mappings().first()
        if row is None:
            raise ReplayRefused(f"no dead letter {letter_id}")
        if row["replayed_at"] is not None:
            raise ReplayRefused(f"dead letter {letter_id} was replayed at {row['replayed_at'].isoformat()}")
        try:
            envelope, payload = events.decode(row["data"])
        except events.UndecodableEvent as exc:
            raise ReplayRefused(f"dead letter {letter_id} still cannot be decoded: {exc}") from exc
        with correlated(envelope.correlation_id):
            outcome = apply(uow, subscription_of(row["consumer"]), envelope, payload)
        marked = {"replayed_at": now(), "replay_outcome": outcome}
        uow.conn.execute(dead_letters.update().where(dead_letters.c.id == letter_id).values(**marked))
        uow.commit()
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m svckit.deadletters", description=__doc__, epilog=EPILOG)
    parser.add_argument("service", help="room, reservation, payment, message or view")
    parser.add_argument("--replay", type=int, metavar="ID", help="apply this dead letter once, then mark it replayed")
    args = parser.parse_args()
    unit = importlib.import_module(f"{args.service}_svc.main").UNIT_OF_WORK  # the service's, as its main.py wires
    db = Database(Settings.from_env(args.service).database_url, producer=args.service, unit=unit)
    try:
        migrate.upgrade(db, f"{args.service}_svc")
        if args.replay is None:
            for entry in listing(db):
                print(json.dumps(entry))
            return
        try:
            outcome = replay(db, args.replay, functools.partial(subscription, args.service))
        except ReplayRefused as exc:
            parser.exit(1, f"{exc}\n")
        except RetryLater as exc:
            parser.exit(1, f"dead letter {args.replay} must wait ({exc}): nothing changed; replay it later\n")
        except Exception as exc:
            parser.exit(1, f"dead letter {args.replay} failed again, nothing changed: {type(exc).__name__}: {exc}\n")
        print(json.dumps({"id": args.replay, "outcome": outcome}))
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
