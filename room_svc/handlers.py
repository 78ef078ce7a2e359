"""Room commands, queries and event policies: plain functions over the context's units of work."""

from __future__ import annotations

import dataclasses
import logging

from bnb.events.v1 import events_pb2 as ev
from room_svc import domain
from room_svc.domain import Hold, Review, Room
from room_svc.unit_of_work import RoomWork
from svckit.events import EventEnvelope
from svckit.idempotency import Key
from svckit.ids import new_id
from svckit.logs import correlated
from svckit.policies import Policies, on
from svckit.tables import now
from svckit.uow import Units

logger = logging.getLogger(__name__)


def register_room(
    units: Units[RoomWork], host_id: str, description: str, price_per_night: int, key: Key | None = None
) -> Room:
    """A new room; with an idempotency key, its reply is stored under the key in the same transaction."""
    room = domain.new_room(new_id(), host_id, description, price_per_night, now())
    with units() as uow:
        uow.keys.claim(key)
        uow.rooms.add(room)
        uow.emit(
            domain.RoomRegistered(room.room_id, room.host_id, room.description, room.price_per_night, room.status),
            aggregate_id=room.room_id,
        )
        uow.keys.finish(key, room)
        uow.commit()
    logger.info("room %s registered by host %s", room.room_id, room.host_id)
    return room


def _room(uow: RoomWork, room_id: str) -> Room:
    found = uow.rooms.get(room_id)
    if found is None:
        raise domain.RoomNotFound(f"room {room_id!r} not found")
    return found


def create_review(
    units: Units[RoomWork], room_id: str, guest_id: str, rating: int, text: str, key: Key | None = None
) -> Review:
    """A guest's review of a room they stayed in; with a key, as register_room."""
    with units() as uow:
        uow.keys.claim(key)
        room = _room(uow, room_id)
        review = domain.new_review(new_id(), room, guest_id, rating, text, now())
        if not uow.holds.has_stayed(room_id, guest_id):
            raise domain.NoStay(f"guest {guest_id} has no confirmed reservation of room {room_id} to review")
        uow.reviews.add(review)
        count = uow.rooms.count_review(room_id)
        uow.emit(
            domain.ReviewCreated(
                review.review_id, room.room_id, review.guest_id, review.rating, review.text, count, room.host_id
            ),
            aggregate_id=room.room_id,
        )
        uow.keys.finish(key, review)
        uow.commit()
    return review


def hold_room(
    units: Units[RoomWork], reservation_id: str, room_id: str, guest_id: str, check_in: str, check_out: str
) -> tuple[Hold, Room]:
    """Hold the room's nights for a reservation; holding again with the same reservation id is a no-op."""
    hold = domain.new_hold(reservation_id, room_id, guest_id, check_in, check_out)
    with correlated(reservation_id), units() as uow:
        existing = uow.holds.get(reservation_id)
        if existing is not None:
            if (existing.room_id, existing.check_in, existing.check_out) != (room_id, hold.check_in, hold.check_out):
                raise domain.InvalidStay(f"reservation {reservation_id} already holds another stay")
            return existing, _room(uow, room_id)
        room = _room(uow, room_id)
        uow.holds.add(hold)
        stay = (str(hold.check_in), str(hold.check_out))
        uow.emit(domain.RoomHeld(room_id, reservation_id, guest_id, room.host_id, *stay), aggregate_id=room_id)
        uow.commit()
        logger.info("room %s held for %s (%d nights)", room_id, reservation_id, len(hold.nights))
    return hold, room


def release_room(units: Units[RoomWork], reservation_id: str) -> tuple[Hold, Room]:
    """Release a hold; releasing twice is a no-op."""
    with correlated(reservation_id), units() as uow:
        hold = _release(uow, reservation_id)
        room = _room(uow, hold.room_id)
        uow.commit()
    return hold, room


def _release(uow: RoomWork, reservation_id: str) -> Hold:
    uow.lock(_hold_key(reservation_id))  # PostgreSQL: a confirmation and a release of one hold take turns
    hold = uow.holds.get(reservation_id)
    if hold is None:
        raise domain.HoldNotFound(f"no hold for reservation {reservation_id!r}")
    if hold.status == domain.RELEASED:
        return hold
    uow.holds.free_nights(reservation_id)
    status = _move_hold(uow, hold, domain.RELEASED, domain.RoomReleased)
    logger.info("room %s released by %s, now %s", hold.room_id, reservation_id, status)
    return dataclasses.replace(hold, status=domain.RELEASED)


def _move_hold(uow: RoomWork, hold: Hold, status: str, event: type[domain.RoomReserved | domain.RoomReleased]) -> str:
    """Give the hold a new status, recompute the room's, and tell the others; returns the room's status."""
    uow.lock(_room_key(hold.room_id))  # PostgreSQL: the count of reserved holds sees every other move of this room's
    uow.holds.set_status(hold.reservation_id, status)
    room_status = domain.room_status(uow.holds.reserved(hold.room_id))
    uow.rooms.set_status(hold.room_id, room_status)
    host_id = _room(uow, hold.room_id).host_id
    uow.emit(event(hold.room_id, hold.reservation_id, room_status, host_id), aggregate_id=hold.room_id)
    return room_status


def _hold_key(reservation_id: str) -> str:
    return f"hold:{reservation_id}"


def _room_key(room_id: str) -> str:
    return f"room:{room_id}"


def locks(event: ev.ReservationConfirmed | ev.PaymentRefunded) -> list[str]:
    """What its handler locks: the hold, then the hold's room (svckit.inbox.Subscription.locks; sorted alike)."""
    return [_hold_key(event.reservation_id), _room_key(event.room_id)]


def on_reservation_confirmed(uow: RoomWork, event: ev.ReservationConfirmed, _envelope: EventEnvelope) -> None:
    uow.lock(_hold_key(event.reservation_id))
    hold = uow.holds.get(event.reservation_id)
    if hold is None or hold.status != domain.HELD:
        logger.info("reservation %s confirmed, but its hold is %s", event.reservation_id, hold and hold.status)
        return
    _move_hold(uow, hold, domain.HOLD_RESERVED, domain.RoomReserved)


def on_payment_refunded(uow: RoomWork, event: ev.PaymentRefunded, _envelope: EventEnvelope) -> None:
    try:
        _release(uow, event.reservation_id)
    except domain.HoldNotFound:
        logger.warning("refund for %s, which holds no room", event.reservation_id)


def get_room(units: Units[RoomWork], room_id: str) -> Room:
    with units(read_only=True) as uow:
        return _room(uow, room_id)


def list_rooms(
    units: Units[RoomWork], limit: int, offset: int, host_id: str, check_in: str = "", check_out: str = ""
) -> list[Room]:
    """A page of rooms (of one host when given); with a stay, only rooms with none of its nights held."""
    free = domain.stay_filter(check_in, check_out)
    with units(read_only=True) as uow:
        return uow.rooms.listing(limit, offset, host_id, free)


def list_reviews(units: Units[RoomWork], room_id: str, limit: int, offset: int) -> list[Review]:
    with units(read_only=True) as uow:
        return uow.reviews.listing(room_id, limit, offset)


POLICIES: Policies = {
    "reservation": dict([on(ev.ReservationConfirmed, on_reservation_confirmed)]),
    "payment": dict([on(ev.PaymentRefunded, on_payment_refunded)]),
}
