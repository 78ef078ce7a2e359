"""Which notifications an event makes, and what a message query asks for; standard library only."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

GUEST, HOST = "guest", "host"

# Per event type, who is told and what; `{e.<field>}` reads the event's field.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "RoomRegistered": ((HOST, 'Your room {e.room_id} "{e.description}" is registered.'),),
    "ReviewCreated": ((HOST, "Your room {e.room_id} has a new {e.rating}-star review: {e.text}"),),
    "ReservationConfirmed": (
        (GUEST, "Your reservation {e.reservation_id} of room {e.room_id} is confirmed."),
        (HOST, "Your room {e.room_id} is reserved by guest {e.guest_id} (reservation {e.reservation_id})."),
    ),
    "ReservationCancelled": (
        (GUEST, "Your reservation {e.reservation_id} of room {e.room_id} is cancelled."),
        (HOST, "Reservation {e.reservation_id} of your room {e.room_id} is cancelled."),
    ),
    "PaymentApproved": ((GUEST, "Your payment of {e.amount} for reservation {e.reservation_id} is approved."),),
    "PaymentRefunded": ((GUEST, "Your payment of {e.amount} for reservation {e.reservation_id} is refunded."),),
}
_IDS = uuid.UUID("5d0c3c36-9a4e-4c0f-8f43-0e7f6a1b2c3d")  # namespace of message ids


@dataclass(frozen=True)
class Notification:
    message_id: str
    event_id: str
    event_type: str
    reservation_id: str
    recipient_kind: str
    recipient_id: str
    text: str
    created_at: dt.datetime


@dataclass(frozen=True)
class MessageFilter:
    """Messages to this guest or this host (either, when both are given), of this reservation."""

    guest_id: str = ""
    host_id: str = ""
    reservation_id: str = ""


def message_id(event_id: str, recipient_kind: str, recipient_id: str) -> str:
    """Derived, not random, so that replaying an event names the same messages."""
    return str(uuid.uuid5(_IDS, f"{event_id}/{recipient_kind}/{recipient_id}"))


def notifications(event_id: str, event_type: str, event: Any, occurred_at: dt.datetime) -> list[Notification]:
    """The notifications `event` makes; a recipient the event does not name is not told."""
    made = []
    for kind, template in TEMPLATES.get(event_type, ()):
        recipient = getattr(event, f"{kind}_id", "")
        if not recipient:
            continue
        made.append(
            Notification(
                message_id=message_id(event_id, kind, recipient),
                event_id=event_id,
                event_type=event_type,
                reservation_id=getattr(event, "reservation_id", ""),
                recipient_kind=kind,
                recipient_id=recipient,
                text=template.format(e=event),
                created_at=occurred_at,
            )
        )
    return made
