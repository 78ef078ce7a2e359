"""List the messages a service's consumers could not decode: `python -m svckit.deadletters <service>`."""

from __future__ import annotations

import argparse
import json

from sqlalchemy import select

from svckit import migrate
from svckit.config import Settings
from svckit.db import Database, dead_letters


def listing(db: Database) -> list[dict[str, object]]:
    """Every dead letter, oldest first, with its payload shown as hex."""
    with db.read() as conn:
        rows = conn.execute(select(dead_letters).order_by(dead_letters.c.id)).mappings().all()
    return [
        {**{k: row[k] for k in ("id", "consumer", "subject", "stream_seq", "error")},
         "created_at": row["created_at"].isoformat(), "data_hex": row["data"][:256].hex()}
        for row in rows
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="room, reservation, payment, message or view")
    args = parser.parse_args()
    db = Database(Settings.from_env(args.service).database_url, producer=args.service)
    migrate.upgrade(db, f"{args.service}_svc")
    for entry in listing(db):
        print(json.dumps(entry))


if __name__ == "__main__":
    main()
