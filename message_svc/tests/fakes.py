"""Test helpers of the message context: a recording sender and envelopes with a chosen time."""

from __future__ import annotations

import datetime as dt
import uuid

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from message_svc.domain import Notification
from message_svc.unit_of_work import MessageUnitOfWork
from svckit.db import Database
from svckit.events import EventEnvelope
from svckit.uow import Units

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class FakeSender:
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
