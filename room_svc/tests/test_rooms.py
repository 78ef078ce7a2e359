"""Room commands and policies through the handlers, on a unit of work in memory."""

from __future__ import annotations

from typing import Any

import pytest

from bnb.events.v1 import events_pb2 as ev
from room_svc import domain, handlers, service
from room_svc.tests.fakes import FakeRoomUnitOfWork
from svckit.events import EventEnvelope

NO_ENVELOPE = EventEnvelope()


@pytest.fixture
def units() -> FakeRoomUnitOfWork:
    return FakeRoomUnitOfWork()


def published(units: FakeRoomUnitOfWork) -> list[tuple[str, Any]]:
    return [(type(event).__name__, event) for event in units.events]


def test_registering_a_room_raises_room_registered(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, " h1 ", "  House ", 12000)
    assert service.room_reply(room).created_at.endswith("+00:00")
    assert (room.host_id, room.description, room.status) == ("h1", "  House ", "available")  # text as sent
    [(kind, event)] = published(units)
    assert kind == "RoomRegistered" and event.room_id == room.room_id and event.price_per_night == 12000


@pytest.mark.parametrize(("host", "text", "price"), [("", "x", 1), ("h", " ", 1), ("h", "x", 0), ("h", "x", -5)])
def test_invalid_rooms_are_refused(units: FakeRoomUnitOfWork, host: str, text: str, price: int) -> None:
    with pytest.raises(domain.InvalidRoom):
        handlers.register_room(units, host, text, price)
    assert handlers.list_rooms(units, 10, 0, "") == [] and published(units) == []


def stay(
    units: FakeRoomUnitOfWork, room_id: str, guest_id: str, reservation_id: str, check_in: str = "2031-01-01"
) -> None:
    """The guest holds the room and the reservation is confirmed."""
    handlers.hold_room(units, reservation_id, room_id, guest_id, check_in, check_in[:-2] + "28")
    with units() as uow:
        handlers.on_reservation_confirmed(uow, ev.ReservationConfirmed(reservation_id=reservation_id), NO_ENVELOPE)
        uow.commit()


def test_review_counts_and_rating_bounds(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, "h1", "House", 100)
    for i, guest in enumerate(("g1", "g2", "g3")):
        stay(units, room.room_id, guest, f"r{i}", f"2031-0{i + 1}-01")
    handlers.create_review(units, room.room_id, "g1", 5, "great")
    handlers.create_review(units, room.room_id, "g2", 1, "noisy")
    for bad in (0, 6):
        with pytest.raises(domain.InvalidReview):
            handlers.create_review(units, room.room_id, "g3", bad, "?")
    with pytest.raises(domain.RoomNotFound):
        handlers.create_review(units, "nope", "g1", 3, "?")
    assert handlers.get_room(units, room.room_id).review_count == 2
    assert [e.review_count for k, e in published(units) if k == "ReviewCreated"] == [1, 2]


def test_only_a_guest_with_a_confirmed_stay_may_review(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, "h1", "House", 100)
    other = handlers.register_room(units, "h1", "Loft", 100)
    handlers.hold_room(units, "held", room.room_id, "g1", "2031-01-01", "2031-01-03")  # not confirmed yet
    stay(units, other.room_id, "g2", "elsewhere")  # a stay, in another room
    stay(units, room.room_id, "g3", "gone", "2031-02-01")
    with units() as uow:
        handlers.on_payment_refunded(uow, ev.PaymentRefunded(reservation_id="gone"), NO_ENVELOPE)  # cancelled: released
        uow.commit()
    for guest in ("g1", "g2", "g3", "g4"):
        with pytest.raises(domain.NoStay, match=f"guest {guest} has no confirmed reservation"):
            handlers.create_review(units, room.room_id, guest, 5, "?")
    assert handlers.get_room(units, room.room_id).review_count == 0
    assert "ReviewCreated" not in [k for k, _ in published(units)]
    stay(units, room.room_id, "g1", "again", "2031-04-01")
    assert handlers.create_review(units, room.room_id, "g1", 4, "ok").rating == 4


def test_confirmed_reservation_reserves_the_room_and_refund_frees_it(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, "h1", "House", 100)
    handlers.hold_room(units, "r1", room.room_id, "g1", "2031-01-01", "2031-01-03")
    for _ in range(2):  # twice: idempotent
        with units() as uow:
            handlers.on_reservation_confirmed(uow, ev.ReservationConfirmed(reservation_id="r1"), NO_ENVELOPE)
            uow.commit()
    assert handlers.get_room(units, room.room_id).status == "reserved"
    with units() as uow:
        handlers.on_payment_refunded(uow, ev.PaymentRefunded(reservation_id="r1"), NO_ENVELOPE)
        uow.commit()
    assert handlers.get_room(units, room.room_id).status == "available"
    kinds = [k for k, _ in published(units)]
    assert kinds == ["RoomRegistered", "RoomHeld", "RoomReserved", "RoomReleased"]


def test_a_consumed_events_handler_locks_what_its_transaction_took_first(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, "h1", "House", 100)
    handlers.hold_room(units, "r1", room.room_id, "g1", "2031-01-01", "2031-01-03")
    confirmed = ev.ReservationConfirmed(reservation_id="r1", room_id=room.room_id)
    refunded = ev.PaymentRefunded(reservation_id="r1", room_id=room.room_id)
    with units() as uow:
        handlers.on_reservation_confirmed(uow, confirmed, NO_ENVELOPE)
        handlers.on_payment_refunded(uow, refunded, NO_ENVELOPE)
        uow.commit()
    # svckit.inbox takes locks(event), sorted, before the handler: the handler's own order must agree
    assert units.locked == handlers.locks(confirmed) + handlers.locks(refunded)
    assert handlers.locks(confirmed) == sorted(handlers.locks(confirmed)) == ["hold:r1", f"room:{room.room_id}"]


def test_a_stay_must_have_at_least_one_night(units: FakeRoomUnitOfWork) -> None:
    room = handlers.register_room(units, "h1", "House", 100)
    for check_in, check_out in [("2031-01-02", "2031-01-02"), ("2031-01-03", "2031-01-01"), ("x", "2031-01-01")]:
        with pytest.raises(domain.InvalidStay):
            handlers.hold_room(units, "r1", room.room_id, "g1", check_in, check_out)
