"""The gRPC servicer of the view: request -> query -> reply, errors -> status in one place."""

from __future__ import annotations

import grpc

from bnb.view.v1 import view_pb2, view_pb2_grpc
from svckit import caller
from svckit.caller import GUEST, HOST, Context, resolve_caller
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.ids import InvalidId, check_id
from svckit.paging import BadPageToken, Page
from svckit.uow import Units
from view_svc import domain, handlers, timeline
from view_svc.domain import RoomView
from view_svc.timeline import Step
from view_svc.unit_of_work import ViewWork

ERRORS = {
    InvalidId: grpc.StatusCode.INVALID_ARGUMENT,
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.RoomViewNotFound: grpc.StatusCode.NOT_FOUND,
    timeline.TimelineNotFound: grpc.StatusCode.NOT_FOUND,
    **caller.ERRORS,
}


def view_reply(view: RoomView) -> view_pb2.RoomView:
    fields = {f: getattr(view, f) for f in domain.SHOWN}
    return view_pb2.RoomView(**{**fields, "updated_at": view.updated_at.isoformat()})


def step_reply(step: Step) -> view_pb2.TimelineStep:
    return view_pb2.TimelineStep(
        step=step.step, service=step.service, at=step.at.isoformat(), event_type=step.event_type, event_id=step.event_id
    )


@maps_errors(ERRORS)
class RoomViewService(view_pb2_grpc.RoomViewServiceServicer):
    def __init__(self, db: Database, units: Units[ViewWork]) -> None:
        self.db = db
        self.units = units

    async def GetRoomView(self, request: view_pb2.GetRoomViewRequest, context: Context) -> view_pb2.RoomView:
        room_id = check_id("room_id", request.room_id, required=True)
        return view_reply(await self.db.run(handlers.get_room_view, self.units, room_id))

    async def ListRoomViews(
        self, request: view_pb2.ListRoomViewsRequest, context: Context
    ) -> view_pb2.ListRoomViewsResponse:
        page = Page.of(request)
        found = await self.db.run(handlers.list_room_views, self.units, page.limit, page.offset)
        return view_pb2.ListRoomViewsResponse(
            room_views=[view_reply(v) for v in found], next_page_token=page.next_token(found)
        )

    async def GetReservationTimeline(
        self, request: view_pb2.GetReservationTimelineRequest, context: Context
    ) -> view_pb2.ReservationTimeline:
        who = resolve_caller(context, GUEST, HOST)
        reservation_id = check_id("reservation_id", request.reservation_id, required=True)
        steps = await self.db.run(handlers.get_timeline, self.units, reservation_id, who.role, who.subject)
        return view_pb2.ReservationTimeline(
            reservation_id=reservation_id, room_id=steps[0].room_id, steps=[step_reply(s) for s in steps]
        )
