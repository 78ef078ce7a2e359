"""The gRPC servicer of the message context: request -> query -> reply, errors -> status in one place."""

from __future__ import annotations

import grpc

from bnb.message.v1 import message_pb2, message_pb2_grpc
from message_svc import domain, handlers
from message_svc.domain import Notification
from message_svc.unit_of_work import MessageWork
from svckit import caller
from svckit.caller import GUEST, HOST, Context, resolve_caller
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.ids import check_id
from svckit.paging import BadPageToken, Page
from svckit.uow import Units

ERRORS = {
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    **caller.ERRORS,
}


def notification_reply(notification: Notification) -> message_pb2.Notification:
    return message_pb2.Notification(**{**vars(notification), "created_at": notification.created_at.isoformat()})


@maps_errors(ERRORS)
class MessageService(message_pb2_grpc.MessageServiceServicer):
    def __init__(self, db: Database, units: Units[MessageWork]) -> None:
        self.db = db
        self.units = units

    async def ListMessages(
        self, request: message_pb2.ListMessagesRequest, context: Context
    ) -> message_pb2.ListMessagesResponse:
        me = resolve_caller(context, GUEST, HOST, guest_id=request.guest_id, host_id=request.host_id)
        page = Page.of(request)
        mine = {"guest_id": me.subject, "host_id": ""} if me.is_guest else {"guest_id": "", "host_id": me.subject}
        where = domain.MessageFilter(**mine, reservation_id=check_id("reservation_id", request.reservation_id))
        found = await self.db.run(handlers.list_messages, self.units, where, page.limit, page.offset)
        return message_pb2.ListMessagesResponse(
            messages=[notification_reply(n) for n in found], next_page_token=page.next_token(found)
        )
