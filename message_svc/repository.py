"""The messages table and its repository (SQLAlchemy Core); one message per event and recipient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from message_svc.domain import GUEST, HOST, MessageFilter, Notification
from svckit.compiled import Compiled
from svckit.tables import UtcDateTime

metadata = MetaData()
messages = Table(
    "messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("reservation_id", String(36), nullable=False, index=True),
    Column("recipient_kind", String(10), nullable=False),
    Column("recipient_id", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True, index=True),  # null until the Sender took it
    UniqueConstraint("event_id", "recipient_kind", "recipient_id", name="uq_messages_event_recipient"),
    Index("ix_messages_recipient", "recipient_kind", "recipient_id", "created_at"),
)

# INSERT .. ON CONFLICT DO NOTHING, per dialect: no savepoint per notification; compiled once (svckit.compiled).
_ADD = {"sqlite": Compiled(sqlite.insert(messages).on_conflict_do_nothing()),
        "postgresql": Compiled(postgresql.insert(messages).on_conflict_do_nothing())}  # fmt: skip
_UNSENT = Compiled(
    select(messages)
    .where(messages.c.sent_at.is_(None))
    .order_by(messages.c.created_at, messages.c.message_id)
    .limit(bindparam("limit"))
)
# One row at a time, in one executemany (an IN list would be rendered anew for each length).
_MARK_SENT = Compiled(
    messages.update().where(messages.c.message_id == bindparam("mid")).values(sent_at=bindparam("at"))
)


def _notification(row: Mapping[Any, Any]) -> Notification:
    return Notification(**{k: v for k, v in row.items() if k != "sent_at"})


class SqlMessages:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, notification: Notification) -> bool:
        """Store the notification; False if this event already told this recipient."""
        return _ADD[self.conn.dialect.name].run(self.conn, vars(notification)) == 1

    def unsent(self, limit: int) -> list[Notification]:
        """Stored notifications not yet handed to the Sender, oldest first."""
        return [_notification(row) for row in _UNSENT.rows(self.conn, {"limit": limit})]

    def mark_sent(self, message_ids: list[str], at: dt.datetime) -> None:
        _MARK_SENT.run(self.conn, [{"mid": message_id, "at": at} for message_id in message_ids])

    def listing(self, where: MessageFilter, limit: int, offset: int) -> list[Notification]:
        query = select(messages).order_by(messages.c.created_at, messages.c.message_id).limit(limit).offset(offset)
        recipients = [
            and_(messages.c.recipient_kind == kind, messages.c.recipient_id == rid)
            for kind, rid in ((GUEST, where.guest_id), (HOST, where.host_id))
            if rid
        ]
        if recipients:
            query = query.where(or_(*recipients))
        if where.reservation_id:
            query = query.where(messages.c.reservation_id == where.reservation_id)
        return [_notification(row) for row in self.conn.execute(query).mappings()]
