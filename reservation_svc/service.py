"""gRPC servicer of the reservation context; domain errors -> status in one place."""

from __future__ import annotations

import datetime as dt

import grpc

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from reservation_svc import domain, handlers
from reservation_svc.domain import Reservation
from reservation_svc.saga import Saga, request_reservation
from svckit import caller
from svckit.caller import GUEST, HOST, Context, resolve_caller
from svckit.calls import Deadline
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.idempotency import Key
from svckit.idempotent import KEY_ERRORS, Keys, idempotent
from svckit.ids import check_id
from svckit.paging import BadPageToken, Page

ERRORS = {
    domain.InvalidReservation: grpc.StatusCode.INVALID_ARGUMENT,
    domain.PaymentDeclined: grpc.StatusCode.INVALID_ARGUMENT,
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.ReservationNotFound: grpc.StatusCode.NOT_FOUND,
    domain.RoomNotFound: grpc.StatusCode.NOT_FOUND,
    domain.RoomUnavailable: grpc.StatusCode.ALREADY_EXISTS,
    domain.NotCancellable: grpc.StatusCode.FAILED_PRECONDITION,
    domain.GuestLimitReached: grpc.StatusCode.RESOURCE_EXHAUSTED,
    domain.DependencyUnavailable: grpc.StatusCode.UNAVAILABLE,
    domain.DependencyTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    **caller.ERRORS,
    **KEY_ERRORS,
}


def reply(r: Reservation) -> reservation_pb2.Reservation:
    dates = {"check_in": str(r.check_in), "check_out": str(r.check_out), "created_at": r.created_at.isoformat()}
    return reservation_pb2.Reservation(**{**vars(r), **dates})


@maps_errors(ERRORS)
class ReservationService(reservation_pb2_grpc.ReservationServiceServicer):
    def __init__(self, db: Database, saga: Saga, max_saga_s: float, key_ttl_s: float) -> None:
        self.db = db
        self.saga = saga
        self.max_saga_s = max_saga_s  # also what recovery waits for before compensating a pending saga
        self.keys = Keys(db, key_ttl_s, ERRORS)

    @idempotent(reservation_pb2.Reservation, reply)
    async def RequestReservation(
        self, request: reservation_pb2.RequestReservationRequest, context: Context, key: Key | None
    ) -> reservation_pb2.Reservation:
        guest_id = resolve_caller(context, GUEST, guest_id=request.guest_id).subject
        room_id = check_id("room_id", request.room_id, required=True)
        r = await request_reservation(
            self.saga, room_id, guest_id, request.check_in, request.check_out,
            today=dt.datetime.now(dt.UTC).date(), deadline=self._deadline(context), key=key,
        )  # fmt: skip
        return reply(r)

    def _deadline(self, context: Context) -> Deadline:
        """The caller's deadline, but never longer than a saga may take."""
        deadline = Deadline.of(context, self.max_saga_s)
        return deadline if deadline.remaining() <= self.max_saga_s else Deadline(self.max_saga_s)

    async def GetReservation(
        self, request: reservation_pb2.GetReservationRequest, context: Context
    ) -> reservation_pb2.Reservation:
        viewer = resolve_caller(context, GUEST, HOST)
        reservation_id = check_id("reservation_id", request.reservation_id, required=True)
        return reply(await self.db.run(handlers.get_reservation, self.saga.units, reservation_id, viewer))

    async def ListReservations(
        self, request: reservation_pb2.ListReservationsRequest, context: Context
    ) -> reservation_pb2.ListReservationsResponse:
        viewer = resolve_caller(context, GUEST, HOST, guest_id=request.guest_id, host_id=request.host_id)
        page = Page.of(request)
        room_id = check_id("room_id", request.room_id)
        units = self.saga.units
        found = await self.db.run(handlers.list_reservations, units, viewer, room_id, page.limit, page.offset)
        return reservation_pb2.ListReservationsResponse(
            reservations=[reply(r) for r in found], next_page_token=page.next_token(found)
        )

    @idempotent(reservation_pb2.Reservation, reply)
    async def CancelReservation(
        self, request: reservation_pb2.CancelReservationRequest, context: Context, key: Key | None
    ) -> reservation_pb2.Reservation:
        guest = resolve_caller(context, GUEST, guest_id=request.guest_id)
        reservation_id = check_id("reservation_id", request.reservation_id, required=True)
        return reply(await self.db.run(handlers.cancel_reservation, self.saga.units, reservation_id, guest, key))
