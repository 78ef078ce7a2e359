"""The notify policy and the message query: plain functions over a unit of work or a Database."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from message_svc import domain
from message_svc import repository as repo
from message_svc.domain import MessageFilter, Notification
from message_svc.senders import LogSender, Sender
from svckit.consumer import Handler
from svckit.db import Database, UnitOfWork

logger = logging.getLogger(__name__)


def notify(uow: UnitOfWork, event: Any, envelope: Any, sender: Sender) -> None:
    """Store the notifications the event makes, then send each one that was new."""
    # The event's own time, not ours: a replay writes the same rows.
    occurred_at = envelope.occurred_at.ToDatetime(tzinfo=dt.UTC)
    for notification in domain.notifications(envelope.event_id, envelope.type, event, occurred_at):
        if repo.add(uow.conn, notification):
            sender.send(notification)
        else:
            logger.info(
                "%s already told %s %s", envelope.event_id, notification.recipient_kind, notification.recipient_id
            )


def list_messages(db: Database, where: MessageFilter, limit: int, offset: int) -> list[Notification]:
    with db.read() as conn:
        return repo.listing(conn, where, limit, offset)


def policies(sender: Sender) -> dict[str, dict[str, Handler]]:
    """The notify policy per producer and event type, delivering through `sender`."""
    on_event = functools.partial(notify, sender=sender)
    return {
        "room": {"RoomRegistered": on_event, "ReviewCreated": on_event},
        "reservation": {"ReservationConfirmed": on_event, "ReservationCancelled": on_event},
        "payment": {"PaymentApproved": on_event, "PaymentRefunded": on_event},
    }


POLICIES = policies(LogSender())
