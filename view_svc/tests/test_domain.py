"""The view's merge rules, without a database."""

from __future__ import annotations

from view_svc import domain
from view_svc.domain import Stamp
from view_svc.tests.fakes import at


def test_equal_times_pick_the_same_status_whichever_came_first() -> None:
    a, b = Stamp(at(5), "event-a"), Stamp(at(5), "event-b")
    room = domain.placeholder("room1", at(0))
    one = domain.with_status(domain.with_status(room, "reserved", a), "available", b)
    other = domain.with_status(domain.with_status(room, "available", b), "reserved", a)
    assert one.room_status == other.room_status == "available"


def test_touch_keeps_the_newest_time_and_the_first_host() -> None:
    room = domain.touched(domain.placeholder("room1", at(10)), at(3), "h1")
    room = domain.touched(room, at(7), "h2")
    assert (room.updated_at, room.host_id) == (at(10), "h1")


def test_a_reservation_was_first_seen_at_its_earliest_event() -> None:
    seen = domain.seen(domain.first_seen("r1", "room1", at(9)), at(4), "p1")
    assert (seen.first_seen_at, seen.payment_id) == (at(4), "p1")
    assert domain.seen(seen, at(6), "").first_seen_at == at(4)


def test_refund_is_not_undone_by_a_late_approval() -> None:
    reservation = domain.paid(domain.first_seen("r1", "room1", at(0)), domain.REFUNDED)
    assert domain.paid(reservation, domain.APPROVED).payment_status == "refunded"


def test_showing_no_reservation_keeps_the_room_as_it_is() -> None:
    room = domain.placeholder("room1", at(0))
    assert domain.showing(room, None) == room
