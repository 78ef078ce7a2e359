"""The projection's policies, in memory and on SQLite through the inbox: rows follow the events, whatever order
they arrive in. Each behaviour runs on both: the fakes must answer as the SQL repositories do."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest

from bnb.events.v1 import events_pb2 as ev
from svckit.db import Database
from svckit.events import EventEnvelope, decode
from svckit.uow import Units
from view_svc import domain, handlers, main, timeline
from view_svc.domain import RoomView
from view_svc.tests.fakes import FakeViewUnitOfWork, apply, at, story, wrap
from view_svc.tests.test_timeline import saga
from view_svc.unit_of_work import ViewUnitOfWork, ViewWork

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


@dataclass
class Backend:
    units: Units[ViewWork]
    deliver: Callable[..., object]  # deliver(*envelopes)


@pytest.fixture
def units() -> FakeViewUnitOfWork:
    return FakeViewUnitOfWork()


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, make_db: Callable[[str], Database]) -> Backend:
    """The view in memory (its policies called directly) or on SQLite (through the consumer's inbox)."""
    if request.param == "memory":
        fake = FakeViewUnitOfWork()
        return Backend(cast(Any, fake), functools.partial(deliver, fake))
    db = make_db("view")
    return Backend(ViewUnitOfWork.on(db), functools.partial(apply, db))


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


def views(units: Units[ViewWork]) -> list[dict[str, Any]]:
    return [shown(view) for view in handlers.list_room_views(units, 10**6, 0)]


def room(units: Units[ViewWork], room_id: str = "room1") -> dict[str, Any]:
    return shown(handlers.get_room_view(units, room_id))


def test_story_gives_the_expected_views(backend: Backend) -> None:
    backend.deliver(*story())
    assert views(backend.units) == STORY_VIEWS


@pytest.mark.parametrize("seed", range(40))
def test_any_arrival_order_gives_the_same_rows_and_timelines(backend: Backend, seed: int) -> None:
    events = story()
    shuffled = random.Random(seed).sample(events, len(events))
    assert shuffled != events
    backend.deliver(*shuffled)
    assert views(backend.units) == STORY_VIEWS
    for rid, guest in GUESTS.items():  # story() lists each reservation's events in the order they occurred
        steps = handlers.get_timeline(backend.units, rid, "guest", guest)
        assert [s.event_id for s in steps] == [e.event_id for e in events if e.correlation_id == rid]


def test_payment_approved_before_reservation_requested_shows_both(backend: Backend) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1")
    backend.deliver(wrap(ev.PaymentApproved(payment_id="p1", amount=5, **ids), 1))
    assert (room(backend.units)["reservation_id"], room(backend.units)["payment_status"]) == ("", "")
    backend.deliver(wrap(ev.ReservationRequested(host_id="h1", payment_id="p1", amount=5, **ids), 2))
    view = room(backend.units)
    assert (view["reservation_status"], view["payment_id"], view["payment_status"]) == ("requested", "p1", "approved")


def test_registration_fills_the_placeholder_a_reservation_made(backend: Backend) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1")
    backend.deliver(wrap(ev.ReservationConfirmed(host_id="h1", **ids), 5))
    assert (room(backend.units)["description"], room(backend.units)["room_status"]) == ("", "")
    backend.deliver(wrap(ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available")))
    view = room(backend.units)
    assert (view["description"], view["room_status"], view["reservation_status"]) == ("Loft", "available", "confirmed")
    assert view["updated_at"] == at(5)


def test_each_change_of_a_rooms_view_holds_the_rooms_lock_which_a_batch_takes_first(units: FakeViewUnitOfWork) -> None:
    confirmed = ev.ReservationConfirmed(host_id="h1", reservation_id="r1", room_id="room1", guest_id="g1")
    registered = ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available")
    deliver(units, wrap(confirmed, 5), wrap(registered))
    assert units.locked == ["roomview:room1"] * 2  # PostgreSQL: three consumers write one room's row
    # svckit.inbox takes these keys, sorted, before a batch's handlers run (tests/test_batch_locks.py)
    assert {sub.locks for sub in main.subscriptions()} == {handlers.locks}
    assert [handlers.locks(e) for e in (confirmed, registered, ev.RoomRegistered())] == [[k] for k in units.locked] + [
        []
    ]


def test_an_older_room_status_never_overwrites_a_newer_one(backend: Backend) -> None:
    base: dict[str, Any] = dict(room_id="room1", reservation_id="r1", host_id="h1")
    backend.deliver(wrap(ev.RoomReleased(room_status="available", **base), 20))
    backend.deliver(wrap(ev.RoomReserved(room_status="reserved", **base), 10))
    assert room(backend.units)["room_status"] == "available"


def test_reservation_status_only_moves_forward(backend: Backend) -> None:
    ids: dict[str, Any] = dict(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
    backend.deliver(wrap(ev.ReservationCancelled(**ids), 3), wrap(ev.ReservationConfirmed(**ids), 2))
    backend.deliver(wrap(ev.ReservationRequested(payment_id="p1", **ids), 1))
    assert room(backend.units)["reservation_status"] == "cancelled"


def test_review_count_keeps_the_largest_seen(backend: Backend) -> None:
    review: dict[str, Any] = dict(room_id="room1", guest_id="g1", rating=5, host_id="h1")
    backend.deliver(wrap(ev.ReviewCreated(review_count=3, **review), 3))
    backend.deliver(wrap(ev.ReviewCreated(review_count=2, **review), 2))
    assert room(backend.units)["review_count"] == 3


def test_the_room_shows_its_latest_reservation(backend: Backend) -> None:
    old: dict[str, Any] = dict(reservation_id="r-old", room_id="room1", guest_id="g1", host_id="h1")
    new: dict[str, Any] = dict(reservation_id="r-new", room_id="room1", guest_id="g2", host_id="h1")
    backend.deliver(wrap(ev.ReservationRequested(**new), 20), wrap(ev.ReservationConfirmed(**old), 30))
    backend.deliver(wrap(ev.ReservationRequested(**old), 10))
    assert (room(backend.units)["reservation_id"], room(backend.units)["updated_at"]) == ("r-new", at(30))


@pytest.mark.parametrize("first", ["r-a", "r-b"])
def test_reservations_first_seen_together_show_the_larger_id(backend: Backend, first: str) -> None:
    later = {"r-a": "r-b", "r-b": "r-a"}[first]
    for rid in (first, later):
        backend.deliver(wrap(ev.ReservationRequested(reservation_id=rid, room_id="room1", guest_id="g1"), 5))
    assert room(backend.units)["reservation_id"] == "r-b"


def test_a_failed_saga_does_not_hide_the_current_reservation(backend: Backend) -> None:
    real: dict[str, Any] = dict(reservation_id="r-real", room_id="room1", guest_id="g1")
    backend.deliver(wrap(ev.ReservationConfirmed(host_id="h1", **real), 10))
    failed: dict[str, Any] = dict(
        payment_id="p-failed", amount=5, reservation_id="r-failed", room_id="room1", guest_id="g2"
    )
    backend.deliver(wrap(ev.PaymentApproved(**failed), 20), wrap(ev.PaymentRefunded(**failed), 21))
    view = room(backend.units)
    assert (view["reservation_id"], view["reservation_status"], view["updated_at"]) == ("r-real", "confirmed", at(21))


def test_a_reservation_event_naming_no_room_changes_no_view(backend: Backend) -> None:
    backend.deliver(wrap(ev.ReservationConfirmed(reservation_id="r1", guest_id="g1", host_id="h1"), 1))
    assert views(backend.units) == []
    with backend.units(read_only=True) as uow:
        assert uow.reservations.get("r1") is None


def test_the_timeline_steps_every_saga_event_in_order_for_guest_and_host(backend: Backend) -> None:
    events = saga(cancelled=True)
    backend.deliver(*reversed(events))
    for role, subject in (("guest", "g1"), ("host", "h1")):
        steps = handlers.get_timeline(backend.units, "r1", role, subject)
        assert [(s.event_id, s.room_id) for s in steps] == [(e.event_id, "room1") for e in events]
    with pytest.raises(timeline.TimelineNotFound):
        handlers.get_timeline(backend.units, "r1", "guest", "g2")


def test_room_held_is_a_step_of_the_timeline_only(backend: Backend) -> None:
    backend.deliver(saga()[0])
    assert views(backend.units) == []
    assert [s.step for s in handlers.get_timeline(backend.units, "r1", "host", "h1")] == ["room held"]
