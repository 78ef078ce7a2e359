"""The projection's policies on a unit of work in memory: rows follow the events, whatever order they arrive in."""

from __future__ import annotations

import random
from typing import Any, cast

import pytest

from bnb.events.v1 import events_pb2 as ev
from svckit.events import EventEnvelope, decode
from view_svc import domain, handlers, timeline
from view_svc.domain import RoomView
from view_svc.tests.fakes import FakeViewUnitOfWork, at, story, wrap
from view_svc.tests.test_timeline import saga

# What story() shows (test_projection asserts the same of the SQL repositories): room1's latest reservation is resB
# (first seen at 20, after resA), cancelled and refunded, and resA's release at 31 leaves the room available; room3
# was never registered, so only its reservation shows.
STORY_VIEWS = [
    {
        **dict(room_id="room1", host_id="h1", description="Loft", room_status="available", review_count=2),
        **dict(reservation_id="resB", reservation_status="cancelled", payment_id="payB", payment_status="refunded"),
        "updated_at": at(32),
    },
    {
        **dict(room_id="room2", host_id="h2", description="Cabin", room_status="reserved", review_count=0),
        **dict(reservation_id="resD", reservation_status="confirmed", payment_id="payD", payment_status="approved"),
        "updated_at": at(53),
    },
    {
        **dict(room_id="room3", host_id="h3", description="", room_status="", review_count=0),
        **dict(reservation_id="resC", reservation_status="requested", payment_id="payC", payment_status="approved"),
        "updated_at": at(41),
    },
]
GUESTS = {"resA": "g1", "resB": "g2", "resC": "g3", "resD": "g4"}


@pytest.fixture
def units() -> FakeViewUnitOfWork:
    return FakeViewUnitOfWork()


def deliver(units: FakeViewUnitOfWork, *envelopes: EventEnvelope) -> None:
    """Each event in a unit of work of its own, through the policy its stream's consumer runs (the inbox aside)."""
    for envelope in envelopes:
        _, event = decode(envelope.SerializeToString())
        with units() as uow:
            # The policies take svckit's unit of work and cast it to the view's (svckit.policies.on).
            handlers.POLICIES[envelope.producer][envelope.type](cast(Any, uow), event, envelope)
            uow.commit()


def shown(view: RoomView) -> dict[str, Any]:
    return {f: getattr(view, f) for f in domain.SHOWN}


def views(units: FakeViewUnitOfWork) -> list[dict[str, Any]]:
    return [shown(view) for view in handlers.list_room_views(units, 10**6, 0)]


def room(units: FakeViewUnitOfWork, room_id: str = "room1") -> dict[str, Any]:
    return shown(handlers.get_room_view(units, room_id))


def test_story_gives_the_expected_views(units: FakeViewUnitOfWork) -> None:
    deliver(units, *story())
    assert views(units) == STORY_VIEWS


@pytest.mark.parametrize("seed", range(40))
def test_any_arrival_order_gives_the_same_rows_and_timelines(units: FakeViewUnitOfWork, seed: int) -> None:
    events = story()
    shuffled = random.Random(seed).sample(events, len(events))
    assert shuffled != events
    deliver(units, *shuffled)
    assert views(units) == STORY_VIEWS
    for rid, guest in GUESTS.items():  # story() lists each reservation's events in the order they occurred
        steps = handlers.get_timeline(units, rid, "guest", guest)
        assert [s.event_id for s in steps] == [e.event_id for e in events if e.correlation_id == rid]


def test_payment_approved_before_reservation_requested_shows_both(units: FakeViewUnitOfWork) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1")
    deliver(units, wrap(ev.PaymentApproved(payment_id="p1", amount=5, **ids), 1))
    assert (room(units)["reservation_id"], room(units)["payment_status"]) == ("", "")
    deliver(units, wrap(ev.ReservationRequested(host_id="h1", payment_id="p1", amount=5, **ids), 2))
    view = room(units)
    assert (view["reservation_status"], view["payment_id"], view["payment_status"]) == ("requested", "p1", "approved")


def test_registration_fills_the_placeholder_a_reservation_made(units: FakeViewUnitOfWork) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1")
    deliver(units, wrap(ev.ReservationConfirmed(host_id="h1", **ids), 5))
    assert (room(units)["description"], room(units)["room_status"]) == ("", "")
    deliver(units, wrap(ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available")))
    view = room(units)
    assert (view["description"], view["room_status"], view["reservation_status"]) == ("Loft", "available", "confirmed")
    assert view["updated_at"] == at(5)
    assert units.locked == ["roomview:room1"] * 2  # each event's change of the room's view holds its lock


def test_an_older_room_status_never_overwrites_a_newer_one(units: FakeViewUnitOfWork) -> None:
    base: dict[str, Any] = dict(room_id="room1", reservation_id="r1", host_id="h1")
    deliver(units, wrap(ev.RoomReleased(room_status="available", **base), 20))
    deliver(units, wrap(ev.RoomReserved(room_status="reserved", **base), 10))
    assert room(units)["room_status"] == "available"


def test_reservation_status_only_moves_forward(units: FakeViewUnitOfWork) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
    deliver(units, wrap(ev.ReservationCancelled(**ids), 3), wrap(ev.ReservationConfirmed(**ids), 2))
    deliver(units, wrap(ev.ReservationRequested(payment_id="p1", **ids), 1))
    assert room(units)["reservation_status"] == "cancelled"


def test_review_count_keeps_the_largest_seen(units: FakeViewUnitOfWork) -> None:
    review: dict[str, Any] = dict(room_id="room1", guest_id="g1", rating=5, host_id="h1")
    deliver(units, wrap(ev.ReviewCreated(review_count=3, **review), 3))
    deliver(units, wrap(ev.ReviewCreated(review_count=2, **review), 2))
    assert room(units)["review_count"] == 3


def test_the_room_shows_its_latest_reservation(units: FakeViewUnitOfWork) -> None:
    old: dict[str, Any] = dict(reservation_id="r-old", room_id="room1", guest_id="g1", host_id="h1")
    new: dict[str, Any] = dict(reservation_id="r-new", room_id="room1", guest_id="g2", host_id="h1")
    deliver(units, wrap(ev.ReservationRequested(**new), 20), wrap(ev.ReservationConfirmed(**old), 30))
    deliver(units, wrap(ev.ReservationRequested(**old), 10))
    assert (room(units)["reservation_id"], room(units)["updated_at"]) == ("r-new", at(30))


@pytest.mark.parametrize("first", ["r-a", "r-b"])
def test_reservations_first_seen_together_show_the_larger_id(units: FakeViewUnitOfWork, first: str) -> None:
    later = {"r-a": "r-b", "r-b": "r-a"}[first]
    for rid in (first, later):
        deliver(units, wrap(ev.ReservationRequested(reservation_id=rid, room_id="room1", guest_id="g1"), 5))
    assert room(units)["reservation_id"] == "r-b"


def test_a_failed_saga_does_not_hide_the_current_reservation(units: FakeViewUnitOfWork) -> None:
    real: dict[str, Any] = dict(reservation_id="r-real", room_id="room1", guest_id="g1")
    deliver(units, wrap(ev.ReservationConfirmed(host_id="h1", **real), 10))
    failed: dict[str, Any] = dict(
        payment_id="p-failed", amount=5, reservation_id="r-failed", room_id="room1", guest_id="g2"
    )
    deliver(units, wrap(ev.PaymentApproved(**failed), 20), wrap(ev.PaymentRefunded(**failed), 21))
    view = room(units)
    assert (view["reservation_id"], view["reservation_status"], view["updated_at"]) == ("r-real", "confirmed", at(21))


def test_a_reservation_event_naming_no_room_changes_no_view(units: FakeViewUnitOfWork) -> None:
    deliver(units, wrap(ev.ReservationConfirmed(reservation_id="r1", guest_id="g1", host_id="h1"), 1))
    assert views(units) == [] and units.reservations.rows == {}


def test_the_timeline_steps_every_saga_event_in_order_for_guest_and_host(units: FakeViewUnitOfWork) -> None:
    events = saga(cancelled=True)
    deliver(units, *reversed(events))
    for role, subject in (("guest", "g1"), ("host", "h1")):
        steps = handlers.get_timeline(units, "r1", role, subject)
        assert [(s.event_id, s.room_id) for s in steps] == [(e.event_id, "room1") for e in events]
    with pytest.raises(timeline.TimelineNotFound):
        handlers.get_timeline(units, "r1", "guest", "g2")


def test_room_held_is_a_step_of_the_timeline_only(units: FakeViewUnitOfWork) -> None:
    deliver(units, saga()[0])
    assert views(units) == []
    assert [s.step for s in handlers.get_timeline(units, "r1", "host", "h1")] == ["room held"]
