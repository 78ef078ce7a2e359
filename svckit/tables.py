"""svckit's own tables (outbox, inbox, dead letters, delivery failures, idempotency keys) and its column types."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, Integer, LargeBinary, MetaData, String, Table, Text, text
from sqlalchemy.types import TypeDecorator


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A zoned time, read back in UTC alike from SQLite (which hands back naive times) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any | None, dialect: Dialect) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


plumbing = MetaData()
outbox = Table(
    "outbox",
    plumbing,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True, index=True),
    Column("traceparent", String(55), nullable=True),  # the W3C trace context of the transaction that wrote it
)
inbox = Table(
    "inbox",
    plumbing,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("handled_at", UtcDateTime(), nullable=False),
)
dead_letters = Table(
    "dead_letters",
    plumbing,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("stream_seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("event_id", String(36), nullable=True),  # none when the message could not be decoded
    Column("error_type", String(200), nullable=True),
    Column("deliveries", Integer, nullable=False, server_default=text("1")),  # failed deliveries, the last included
    Column("replayed_at", UtcDateTime(), nullable=True),
    Column("replay_outcome", String(20), nullable=True),  # 'done', or 'duplicate' when applied meanwhile
)
delivery_failures = Table(  # handler failures of events still being redelivered; RetryLater is not one
    "delivery_failures",
    plumbing,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("first_failed_at", UtcDateTime(), nullable=False),
    Column("last_failed_at", UtcDateTime(), nullable=False),
)
idempotency_keys = Table(  # svckit.idempotency: a caller's key, and the first answer given under it
    "idempotency_keys",
    plumbing,
    Column("caller", String(100), primary_key=True),  # the verified subject...
    Column("role", String(20), primary_key=True),  # ...in the role its token named
    Column("operation", String(100), primary_key=True),  # the request's message type: one per RPC
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # sha256 of the request message
    Column("ref", String(64), nullable=False, index=True),  # what a running claim started (a saga's reservation id)
    Column("code", Integer, nullable=True),  # the answer's gRPC status code; NULL while the first call runs
    Column("reply", LargeBinary, nullable=True),  # the serialized reply, when code is 0
    Column("message", Text, nullable=True),  # the refusal's message, otherwise
    Column("created_at", UtcDateTime(), nullable=False, index=True),
)
