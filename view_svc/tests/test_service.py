"""RoomViewService: replies, pages, and the statuses of bad requests."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from bnb.view.v1 import view_pb2
from svckit.config import Settings
from svckit.db import Database
from svckit.testing import StandIn
from view_svc.main import build
from view_svc.service import RoomViewService
from view_svc.tests.fakes import apply, story
from view_svc.unit_of_work import ViewUnitOfWork


class Aborted(Exception):
    pass


class FakeContext(StandIn):  # stands in for a grpc.aio.ServicerContext
    code: grpc.StatusCode | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        raise Aborted(details)


def call(db: Database, method: str, request: object) -> tuple[Any, FakeContext]:
    context = FakeContext()
    try:
        return asyncio.run(getattr(RoomViewService(db, ViewUnitOfWork.on(db)), method)(request, context)), context
    except Aborted:
        return None, context


def test_get_room_view_answers_the_rooms_current_state(db: Database) -> None:
    apply(db, *story())
    reply, _ = call(db, "GetRoomView", view_pb2.GetRoomViewRequest(room_id="room2"))
    assert (reply.host_id, reply.room_status, reply.reservation_id, reply.payment_status) == (
        "h2",
        "reserved",
        "resD",
        "approved",
    )
    assert reply.updated_at == "2025-03-01T12:00:53+00:00"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (view_pb2.GetRoomViewRequest(room_id="nowhere"), grpc.StatusCode.NOT_FOUND),
        (view_pb2.GetRoomViewRequest(room_id=" "), grpc.StatusCode.INVALID_ARGUMENT),
        (view_pb2.ListRoomViewsRequest(page_token="%%"), grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_requests_get_their_status(db: Database, request_: object, code: grpc.StatusCode) -> None:
    method = "GetRoomView" if isinstance(request_, view_pb2.GetRoomViewRequest) else "ListRoomViews"
    reply, context = call(db, method, request_)
    assert reply is None and context.code == code


def test_pages_list_every_room_once_in_room_id_order(db: Database) -> None:
    apply(db, *story())
    first, _ = call(db, "ListRoomViews", view_pb2.ListRoomViewsRequest(page_size=2))
    second, _ = call(db, "ListRoomViews", view_pb2.ListRoomViewsRequest(page_size=2, page_token=first.next_page_token))
    assert [v.room_id for v in [*first.room_views, *second.room_views]] == ["room1", "room2", "room3"]
    assert second.next_page_token == ""


def test_build_subscribes_one_durable_projection_consumer_per_stream(tmp_path) -> None:
    app = build(Settings.from_env("view", {"BNB_DATA_DIR": str(tmp_path)}))
    try:
        assert [(s.durable, s.producer) for s in app.subscriptions] == [
            ("view-room-projection", "room"),
            ("view-reservation-projection", "reservation"),
            ("view-payment-projection", "payment"),
        ]
        assert app.produces is False
    finally:
        app.db.dispose()
