"""The notify policy and the message query: plain functions over a unit of work or a Database."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from message_svc import domain
from message_svc import repository as repo
from message_svc.domain import MessageFilter, Notification
from svckit.consumer import Handler
from svckit.db import Database
from svckit.uow import UnitOfWork

logger = logging.getLogger(__name__)


def _nobody() -> None:
    pass


def notify(uow: UnitOfWork, event: Any, envelope: Any, stored: Callable[[], None] = _nobody) -> None:
    """Store the notifications the event makes, unsent; once they commit, `stored()` wakes their delivery.

    Nothing is sent here: a send before the commit would be repeated by the redelivery of a failed commit.
    """
    # The event's own time, not ours: a replay writes the same rows.
    occurred_at = envelope.occurred_at.ToDatetime(tzinfo=dt.UTC)
    for notification in domain.notifications(envelope.event_id, envelope.type, event, occurred_at):
        if repo.add(uow.conn, notification):
            uow.after_commit(stored)
        else:
            logger.info(
                "%s already told %s %s", envelope.event_id, notification.recipient_kind, notification.recipient_id
            )


def list_messages(db: Database, where: MessageFilter, limit: int, offset: int) -> list[Notification]:
    with db.read() as conn:
        return repo.listing(conn, where, limit, offset)


def policies(stored: Callable[[], None] = _nobody) -> dict[str, dict[str, Handler]]:
    """The notify policy per producer and event type; `stored()` after a commit that stored notifications."""
    on_event = functools.partial(notify, stored=stored)
    return {
        "room": {"RoomRegistered": on_event, "ReviewCreated": on_event},
        "reservation": {"ReservationConfirmed": on_event, "ReservationCancelled": on_event},
        "payment": {"PaymentApproved": on_event, "PaymentRefunded": on_event},
    }


POLICIES = policies()  # a replay's notifications are delivered by the running service's relay
