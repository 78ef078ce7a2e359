"""Test helpers of the message context: a recording sender, envelopes with a chosen time, a unit of work in memory."""

from __future__ import annotations

import datetime as dt
import uuid

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from message_svc.domain import MessageFilter, Notification
from message_svc.unit_of_work import MessageUnitOfWork
from svckit.db import Database
from svckit.events import EventEnvelope
from svckit.testing import FakeUnitOfWork
from svckit.uow import Units

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class FakeSender:
    blocking = False

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


def wrap(event: Message, producer: str, minute: int = 0, event_id: str = "") -> EventEnvelope:
    """An envelope for `event` that occurred `minute` minutes after T0."""
    occurred = Timestamp()
    occurred.FromDatetime(T0 + dt.timedelta(minutes=minute))
    return EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        type=type(event).__name__,
        aggregate_id=getattr(event, "reservation_id", "") or getattr(event, "room_id", ""),
        correlation_id=getattr(event, "reservation_id", ""),
        occurred_at=occurred,
        payload=event.SerializeToString(),
        producer=producer,
    )


def work(db: Database) -> Units[MessageUnitOfWork]:
    """The message context's units of work on `db` (whose own, from db.uow(), are typed as svckit's)."""
    return MessageUnitOfWork.on(db)


class FakeMessages:
    """Stored notifications in memory, one per event and recipient, as the table's unique key keeps them."""

    def __init__(self) -> None:
        self.rows: dict[str, Notification] = {}
        self.sent: set[str] = set()

    def add(self, notification: Notification) -> bool:
        if notification.message_id in self.rows:  # derived from event and recipient: the same key
            return False
        self.rows[notification.message_id] = notification
        return True

    def unsent(self, limit: int) -> list[Notification]:
        pending = [n for n in self.rows.values() if n.message_id not in self.sent]
        return sorted(pending, key=lambda n: (n.created_at, n.message_id))[:limit]

    def mark_sent(self, message_ids: list[str], at: dt.datetime) -> None:
        self.sent |= set(message_ids)

    def listing(self, where: MessageFilter, limit: int, offset: int) -> list[Notification]:
        recipients = {(kind, rid) for kind, rid in (("guest", where.guest_id), ("host", where.host_id)) if rid}
        found = [
            n for n in sorted(self.rows.values(), key=lambda n: (n.created_at, n.message_id))
            if (not recipients or (n.recipient_kind, n.recipient_id) in recipients)
            and where.reservation_id in ("", n.reservation_id)
        ]  # fmt: skip
        return found[offset : offset + limit]


class FakeMessageUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.messages = FakeMessages()
