"""Room commands, queries and event policies: plain functions over a Database or a unit of work."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import Connection

from room_svc import domain
from room_svc import repository as repo
from room_svc.domain import Hold, Review, Room
from svckit import idempotency
from svckit.db import Database, UnitOfWork
from svckit.idempotency import Key
from svckit.logs import correlated

logger = logging.getLogger(__name__)


def register_room(
    db: Database, host_id: str, description: str, price_per_night: int, key: Key | None = None
) -> tuple[Room, str]:
    """A new room; with an idempotency key, its reply is stored under the key in the same transaction."""
    room = domain.new_room(str(uuid.uuid4()), host_id, description, price_per_night)
    with db.uow() as uow:
        idempotency.claim(uow.conn, key)
        created = repo.add_room(uow.conn, room)
        uow.emit(
            domain.RoomRegistered(room.room_id, room.host_id, room.description, room.price_per_night, room.status),
            aggregate_id=room.room_id,
        )
        idempotency.finish(uow.conn, key, (room, created))
        uow.commit()
    logger.info("room %s registered by host %s", room.room_id, room.host_id)
    return room, created


def _find(conn: Connection, room_id: str) -> tuple[Room, str]:
    found = repo.get_room(conn, room_id)
    if found is None:
        raise domain.RoomNotFound(f"room {room_id!r} not found")
    return found


def _room(conn: Connection, room_id: str) -> Room:
    return _find(conn, room_id)[0]


def create_review(
    db: Database, room_id: str, guest_id: str, rating: int, text: str, key: Key | None = None
) -> tuple[Review, str]:
    """A guest's review of a room they stayed in; with a key, as register_room."""
    with db.uow() as uow:
        idempotency.claim(uow.conn, key)
        room = _room(uow.conn, room_id)
        review = domain.new_review(str(uuid.uuid4()), room, guest_id, rating, text)
        if not repo.has_stayed(uow.conn, room_id, guest_id):
            raise domain.NoStay(f"guest {guest_id} has no confirmed reservation of room {room_id} to review")
        count, created = repo.add_review(uow.conn, review)
        uow.emit(
            domain.ReviewCreated(
                review.review_id, room.room_id, review.guest_id, review.rating, review.text, count, room.host_id
            ),
            aggregate_id=room.room_id,
        )
        idempotency.finish(uow.conn, key, (review, created))
        uow.commit()
    return review, created


def hold_room(
    db: Database, reservation_id: str, room_id: str, guest_id: str, check_in: str, check_out: str
) -> tuple[Hold, Room]:
    """Hold the room's nights for a reservation; holding again with the same reservation id is a no-op."""
    hold = domain.new_hold(reservation_id, room_id, guest_id, check_in, check_out)
    with correlated(reservation_id), db.uow() as uow:
        existing = repo.get_hold(uow.conn, reservation_id)
        if existing is not None:
            if (existing.room_id, existing.check_in, existing.check_out) != (room_id, hold.check_in, hold.check_out):
                raise domain.InvalidStay(f"reservation {reservation_id} already holds another stay")
            return existing, _room(uow.conn, room_id)
        room = _room(uow.conn, room_id)
        repo.add_hold(uow.conn, hold)
        stay = (str(hold.check_in), str(hold.check_out))
        uow.emit(domain.RoomHeld(room_id, reservation_id, guest_id, room.host_id, *stay), aggregate_id=room_id)
        uow.commit()
        logger.info("room %s held for %s (%d nights)", room_id, reservation_id, len(hold.nights))
    return hold, room


def release_room(db: Database, reservation_id: str) -> tuple[Hold, Room]:
    """Release a hold; releasing twice is a no-op."""
    with correlated(reservation_id), db.uow() as uow:
        hold = _release(uow, reservation_id)
        room = _room(uow.conn, hold.room_id)
        uow.commit()
    return hold, room


def _release(uow: UnitOfWork, reservation_id: str) -> Hold:
    uow.lock(f"hold:{reservation_id}")  # PostgreSQL: a confirmation and a release of one hold take turns
    hold = repo.get_hold(uow.conn, reservation_id)
    if hold is None:
        raise domain.HoldNotFound(f"no hold for reservation {reservation_id!r}")
    if hold.status == domain.RELEASED:
        return hold
    repo.free_nights(uow.conn, reservation_id)
    status = _move_hold(uow, hold, domain.RELEASED, domain.RoomReleased)
    logger.info("room %s released by %s, now %s", hold.room_id, reservation_id, status)
    return Hold(**{**hold.__dict__, "status": domain.RELEASED})


def _move_hold(uow: UnitOfWork, hold: Hold, status: str, event: type) -> str:
    """Give the hold a new status, recompute the room's, and tell the others; returns the room's status."""
    uow.lock(f"room:{hold.room_id}")  # PostgreSQL: the count of reserved holds sees every other move of this room's
    repo.set_hold_status(uow.conn, hold.reservation_id, status)
    room_status = domain.room_status(repo.reserved_holds(uow.conn, hold.room_id))
    repo.set_room_status(uow.conn, hold.room_id, room_status)
    host_id = _room(uow.conn, hold.room_id).host_id
    uow.emit(event(hold.room_id, hold.reservation_id, room_status, host_id), aggregate_id=hold.room_id)
    return room_status


def on_reservation_confirmed(uow: UnitOfWork, event: object, _envelope: object) -> None:
    reservation_id: str = event.reservation_id  # type: ignore[attr-defined]
    uow.lock(f"hold:{reservation_id}")
    hold = repo.get_hold(uow.conn, reservation_id)
    if hold is None or hold.status != domain.HELD:
        logger.info("reservation %s confirmed, but its hold is %s", reservation_id, hold and hold.status)
        return
    _move_hold(uow, hold, domain.HOLD_RESERVED, domain.RoomReserved)


def on_payment_refunded(uow: UnitOfWork, event: object, _envelope: object) -> None:
    try:
        _release(uow, event.reservation_id)  # type: ignore[attr-defined]
    except domain.HoldNotFound:
        logger.warning("refund for %s, which holds no room", event.reservation_id)  # type: ignore[attr-defined]


def get_room(db: Database, room_id: str) -> tuple[Room, str]:
    with db.read() as conn:
        return _find(conn, room_id)


def list_rooms(
    db: Database, limit: int, offset: int, host_id: str, check_in: str = "", check_out: str = ""
) -> list[tuple[Room, str]]:
    """A page of rooms (of one host when given); with a stay, only rooms with none of its nights held."""
    free = domain.stay_filter(check_in, check_out)
    with db.read() as conn:
        return repo.list_rooms(conn, limit, offset, host_id, free)


def list_reviews(db: Database, room_id: str, limit: int, offset: int) -> list[tuple[Review, str]]:
    with db.read() as conn:
        return repo.list_reviews(conn, room_id, limit, offset)


POLICIES = {
    "reservation": {"ReservationConfirmed": on_reservation_confirmed},
    "payment": {"PaymentRefunded": on_payment_refunded},
}
