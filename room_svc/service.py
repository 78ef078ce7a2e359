"""gRPC servicers of the room context: request -> handler -> reply, domain errors -> status in one place."""

from __future__ import annotations

import grpc

from bnb.room.v1 import holds_pb2, holds_pb2_grpc, room_pb2, room_pb2_grpc
from room_svc import domain, handlers
from room_svc.domain import Hold, Review, Room
from room_svc.unit_of_work import RoomWork
from svckit import caller
from svckit.caller import GUEST, HOST, Context, require_mesh, resolve_caller
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.idempotency import Key
from svckit.idempotent import KEY_ERRORS, Keys, idempotent
from svckit.ids import check_id
from svckit.paging import BadPageToken, Page
from svckit.uow import Units

ERRORS = {
    domain.InvalidRoom: grpc.StatusCode.INVALID_ARGUMENT,
    domain.InvalidReview: grpc.StatusCode.INVALID_ARGUMENT,
    domain.InvalidStay: grpc.StatusCode.INVALID_ARGUMENT,
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.RoomNotFound: grpc.StatusCode.NOT_FOUND,
    domain.HoldNotFound: grpc.StatusCode.NOT_FOUND,
    domain.RoomAlreadyHeld: grpc.StatusCode.ALREADY_EXISTS,
    domain.NoStay: grpc.StatusCode.FAILED_PRECONDITION,
    **caller.ERRORS,
    **KEY_ERRORS,
}


def room_reply(room: Room) -> room_pb2.Room:
    return room_pb2.Room(**{**vars(room), "created_at": room.created_at.isoformat()})


def review_reply(review: Review) -> room_pb2.Review:
    return room_pb2.Review(**{**vars(review), "created_at": review.created_at.isoformat()})


def hold_reply(hold: Hold, room: Room) -> holds_pb2.Hold:
    return holds_pb2.Hold(
        reservation_id=hold.reservation_id,
        room_id=hold.room_id,
        host_id=room.host_id,
        price_per_night=room.price_per_night,
        nights=len(hold.nights),
        status=hold.status,
    )


@maps_errors(ERRORS)
class RoomService(room_pb2_grpc.RoomServiceServicer):
    def __init__(self, db: Database, units: Units[RoomWork], key_ttl_s: float) -> None:
        self.db = db
        self.units = units
        self.keys = Keys(db, key_ttl_s, ERRORS)

    @idempotent(room_pb2.Room, room_reply)
    async def RegisterRoom(
        self, request: room_pb2.RegisterRoomRequest, context: Context, key: Key | None
    ) -> room_pb2.Room:
        host_id = resolve_caller(context, HOST, host_id=request.host_id).subject
        description, price = request.description, request.price_per_night
        room = await self.db.run(handlers.register_room, self.units, host_id, description, price, key)
        return room_reply(room)

    async def GetRoom(self, request: room_pb2.GetRoomRequest, context: Context) -> room_pb2.Room:
        room_id = check_id("room_id", request.room_id, required=True)
        return room_reply(await self.db.run(handlers.get_room, self.units, room_id))

    async def ListRooms(self, request: room_pb2.ListRoomsRequest, context: Context) -> room_pb2.ListRoomsResponse:
        page = Page.of(request)
        host_id = check_id("host_id", request.host_id)
        stay = (request.check_in, request.check_out)
        found = await self.db.run(handlers.list_rooms, self.units, page.limit, page.offset, host_id, *stay)
        return room_pb2.ListRoomsResponse(rooms=[room_reply(r) for r in found], next_page_token=page.next_token(found))

    @idempotent(room_pb2.Review, review_reply)
    async def CreateReview(
        self, request: room_pb2.CreateReviewRequest, context: Context, key: Key | None
    ) -> room_pb2.Review:
        guest_id = resolve_caller(context, GUEST, guest_id=request.guest_id).subject
        room_id = check_id("room_id", request.room_id, required=True)
        review = await self.db.run(
            handlers.create_review, self.units, room_id, guest_id, request.rating, request.text, key
        )
        return review_reply(review)

    async def ListReviews(self, request: room_pb2.ListReviewsRequest, context: Context) -> room_pb2.ListReviewsResponse:
        page = Page.of(request)
        room_id = check_id("room_id", request.room_id)
        found = await self.db.run(handlers.list_reviews, self.units, room_id, page.limit, page.offset)
        return room_pb2.ListReviewsResponse(
            reviews=[review_reply(r) for r in found], next_page_token=page.next_token(found)
        )


@maps_errors(ERRORS)
class RoomHolds(holds_pb2_grpc.RoomHoldsServicer):
    def __init__(self, db: Database, units: Units[RoomWork]) -> None:
        self.db = db
        self.units = units

    async def HoldRoom(self, request: holds_pb2.HoldRoomRequest, context: Context) -> holds_pb2.Hold:
        require_mesh(context)
        resolve_caller(context, GUEST, guest_id=request.guest_id)  # the guest the edge verified
        hold, room = await self.db.run(
            handlers.hold_room,
            self.units,
            request.reservation_id,
            request.room_id,
            request.guest_id,
            request.check_in,
            request.check_out,
        )
        return hold_reply(hold, room)

    async def ReleaseRoom(self, request: holds_pb2.ReleaseRoomRequest, context: Context) -> holds_pb2.Hold:
        require_mesh(context)  # also with no caller: a crashed saga is undone by recovery, for no one
        return hold_reply(*await self.db.run(handlers.release_room, self.units, request.reservation_id))
