"""The notify policy and the message query: plain functions over the context's units of work."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

from google.protobuf.message import Message

from bnb.events.v1 import events_pb2 as ev
from message_svc import domain
from message_svc.domain import MessageFilter, Notification
from message_svc.unit_of_work import MessageWork
from svckit.events import EventEnvelope
from svckit.policies import Policies, on
from svckit.uow import Units

logger = logging.getLogger(__name__)


def _nobody() -> None:
    pass


def notify(uow: MessageWork, event: Message, envelope: EventEnvelope, stored: Callable[[], None] = _nobody) -> None:
    """Store the notifications the event makes, unsent; once they commit, `stored()` wakes their delivery.

    Nothing is sent here: a send before the commit would be repeated by the redelivery of a failed commit.
    """
    # The event's own time, not ours: a replay writes the same rows.
    occurred_at = envelope.occurred_at.ToDatetime(tzinfo=dt.UTC)
    for notification in domain.notifications(envelope.event_id, envelope.type, event, occurred_at):
        if uow.messages.add(notification):
            uow.after_commit(stored)
        else:
            logger.info(
                "%s already told %s %s", envelope.event_id, notification.recipient_kind, notification.recipient_id
            )


def list_messages(units: Units[MessageWork], where: MessageFilter, limit: int, offset: int) -> list[Notification]:
    with units(read_only=True) as uow:
        return uow.messages.listing(where, limit, offset)


def policies(stored: Callable[[], None] = _nobody) -> Policies:
    """The notify policy per producer and event type; `stored()` after a commit that stored notifications."""
    on_event = functools.partial(notify, stored=stored)
    return {
        "room": dict([on(ev.RoomRegistered, on_event), on(ev.ReviewCreated, on_event)]),
        "reservation": dict([on(ev.ReservationConfirmed, on_event), on(ev.ReservationCancelled, on_event)]),
        "payment": dict([on(ev.PaymentApproved, on_event), on(ev.PaymentRefunded, on_event)]),
    }


POLICIES = policies()  # svckit.deadletters' replay: its notifications are delivered by the running service's relay
