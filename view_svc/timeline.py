"""A reservation's saga, step by step, as the events told it; who may see it. Standard library only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Event type -> (the step it records, the context that did it), in the order a saga takes them.
STEPS = {
    "RoomHeld": ("room held", "room"),
    "PaymentApproved": ("payment approved", "payment"),
    "ReservationRequested": ("requested", "reservation"),
    "ReservationConfirmed": ("reservation confirmed", "reservation"),
    "RoomReserved": ("room reserved", "room"),
    "ReservationCancelled": ("cancelled", "reservation"),
    "PaymentRefunded": ("payment refunded", "payment"),
    "RoomReleased": ("room released", "room"),
}
RANK = {event_type: rank for rank, event_type in enumerate(STEPS)}


class TimelineNotFound(Exception):
    """No steps of that reservation, or none the caller may see (the same answer: no one learns it exists)."""


@dataclass(frozen=True)
class Step:
    event_id: str
    reservation_id: str
    room_id: str
    event_type: str
    at: dt.datetime
    guest_id: str = ""
    host_id: str = ""

    @property
    def step(self) -> str:
        return STEPS[self.event_type][0]

    @property
    def service(self) -> str:
        return STEPS[self.event_type][1]


def in_order(steps: list[Step]) -> list[Step]:
    """By time; steps of the same instant in the saga's order."""
    return sorted(steps, key=lambda s: (s.at, RANK[s.event_type], s.event_id))


def visible_to(steps: list[Step], role: str, subject: str) -> list[Step]:
    """The steps, if `subject` is the reservation's guest (role guest) or its room's host (role host)."""
    owners = {s.guest_id for s in steps if s.guest_id} if role == "guest" else {s.host_id for s in steps if s.host_id}
    if role not in ("guest", "host") or subject not in owners:
        raise TimelineNotFound("no timeline of that reservation for you")
    return in_order(steps)
