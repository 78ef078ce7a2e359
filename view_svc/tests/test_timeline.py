"""Each reservation's timeline from the streams: its steps in order, with time and service; only for its owners."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from bnb.events.v1 import events_pb2 as ev
from bnb.view.v1 import view_pb2
from svckit.db import Database
from view_svc import handlers, timeline
from view_svc.service import RoomViewService
from view_svc.tests.fakes import apply, wrap
from view_svc.tests.test_service import Aborted, FakeContext
from view_svc.unit_of_work import ViewUnitOfWork

IDS = {"reservation_id": "r1", "room_id": "room1"}


def saga(*, cancelled: bool = False) -> list:
    guest = {**IDS, "guest_id": "g1"}
    events = [
        wrap(ev.RoomHeld(**guest, host_id="h1", check_in="2031-01-01", check_out="2031-01-03"), 0),
        wrap(ev.PaymentApproved(payment_id="p1", amount=200, **guest), 1),
        wrap(ev.ReservationRequested(host_id="h1", payment_id="p1", amount=200, **guest), 2),
        wrap(ev.ReservationConfirmed(host_id="h1", **guest), 3),
        wrap(ev.RoomReserved(**IDS, room_status="reserved", host_id="h1"), 4),
    ]
    if cancelled:
        events += [
            wrap(ev.ReservationCancelled(host_id="h1", **guest), 5),
            wrap(ev.PaymentRefunded(payment_id="p1", amount=200, **guest), 6),
            wrap(ev.RoomReleased(**IDS, room_status="available", host_id="h1"), 7),
        ]
    return events


class Signed(FakeContext):
    def __init__(self, subject: str, role: str) -> None:
        self.metadata = (("x-bnb-subject", subject), ("x-bnb-role", role)) if subject else ()

    def invocation_metadata(self) -> tuple:
        return self.metadata


def ask(db: Database, subject: str, role: str, reservation_id: str = "r1") -> tuple[Any, Signed]:
    context = Signed(subject, role)
    request = view_pb2.GetReservationTimelineRequest(reservation_id=reservation_id)
    try:
        return asyncio.run(RoomViewService(db, ViewUnitOfWork.on(db)).GetReservationTimeline(request, context)), context
    except Aborted:
        return None, context


def test_a_confirmed_then_cancelled_saga_reads_step_by_step_whatever_the_arrival_order(db: Database) -> None:
    events = saga(cancelled=True)
    apply(db, *reversed(events))
    reply, _ = ask(db, "g1", "guest")
    assert [(s.step, s.service) for s in reply.steps] == [
        ("room held", "room"), ("payment approved", "payment"), ("requested", "reservation"),
        ("reservation confirmed", "reservation"), ("room reserved", "room"), ("cancelled", "reservation"),
        ("payment refunded", "payment"), ("room released", "room"),
    ]  # fmt: skip
    assert reply.room_id == "room1" and reply.steps[0].at.startswith("2025-03-01T12:00:00")
    assert [s.event_id for s in reply.steps] == [e.event_id for e in events]


def test_a_failed_payment_shows_its_compensation(db: Database) -> None:
    held = saga()[0]
    apply(db, held, wrap(ev.RoomReleased(**IDS, room_status="available", host_id="h1"), 1))
    assert [s.step for s in ask(db, "h1", "host")[0].steps] == ["room held", "room released"]


def test_a_redelivered_event_is_one_step(db: Database) -> None:
    held = saga()[0]
    assert apply(db, held, held) == ["done", "duplicate"]
    assert len(ask(db, "g1", "guest")[0].steps) == 1


@pytest.mark.parametrize(
    ("subject", "role", "code"),
    [("g2", "guest", grpc.StatusCode.NOT_FOUND), ("h2", "host", grpc.StatusCode.NOT_FOUND),
     ("h1", "guest", grpc.StatusCode.NOT_FOUND), ("g1", "host", grpc.StatusCode.NOT_FOUND),
     ("g1", "admin", grpc.StatusCode.PERMISSION_DENIED), ("", "", grpc.StatusCode.UNAUTHENTICATED)],
)  # fmt: skip
def test_only_the_guest_and_the_host_see_a_timeline(
    db: Database, subject: str, role: str, code: grpc.StatusCode
) -> None:
    apply(db, *saga())
    assert ask(db, "g1", "guest")[0] is not None and ask(db, "h1", "host")[0] is not None
    reply, context = ask(db, subject, role)
    assert reply is None and context.code == code


def test_an_unknown_reservation_is_not_found(db: Database) -> None:
    assert ask(db, "g1", "guest", "nope")[1].code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(timeline.TimelineNotFound):
        handlers.get_timeline(ViewUnitOfWork.on(db), "nope", "guest", "g1")
