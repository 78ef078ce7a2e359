"""Hostile input over native gRPC, through the real edge: each case its exact status and message, nothing written."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from bnb.message.v1 import message_pb2 as msg
from bnb.payment.v1 import payment_pb2 as pay
from bnb.reservation.v1 import reservation_pb2 as res
from bnb.room.v1 import room_pb2 as rm
from bnb.view.v1 import view_pb2 as vw
from tests import hostile_helpers as h
from tests.harness import Mesh

pytestmark = pytest.mark.integration

C = grpc.StatusCode
IDR = h.id_rule
FORGED = base64.urlsafe_b64encode(b"-5").decode()
ROOMS, RESERVATIONS = "bnb.room.v1.RoomService", "bnb.reservation.v1.ReservationService"
PAYMENTS, MESSAGES = "bnb.payment.v1.PaymentService", "bnb.message.v1.MessageService"
VIEWS = "bnb.view.v1.RoomViewService"
MEGABYTE = rm.RegisterRoomRequest(description="x" * 1_000_000, price_per_night=1)
STAY = {"room_id": "{room}", "check_in": h.days_ahead(40), "check_out": h.days_ahead(41)}


def _corrupt(detail: str) -> str:
    return f"the request does not parse: Error parsing message with type 'bnb.room.v1.RegisterRoomRequest': {detail}"


def _stay(**fields: str) -> res.RequestReservationRequest:
    return res.RequestReservationRequest(**{**STAY, **fields})


def _room(**fields: Any) -> rm.RegisterRoomRequest:
    room: dict[str, Any] = {"description": "x", "price_per_night": 1, **fields}
    return rm.RegisterRoomRequest(**room)


def _of_size(size: int) -> rm.RegisterRoomRequest:
    """A RegisterRoomRequest of exactly `size` bytes on the wire."""
    request = _room(description="x" * size)
    while request.ByteSize() > size:
        request.description = request.description[: -(request.ByteSize() - size)]
    assert request.ByteSize() == size
    return request


# (case, service, method, request (a message, or raw bytes), who, code, message); "{room}" names the world's room.
CASES = [
    ("1 MB message", ROOMS, "RegisterRoom", MEGABYTE, "host", C.RESOURCE_EXHAUSTED,
     "SERVER: Received message larger than max (1000006 vs. 65536)"),
    ("64 KiB + 1 message", ROOMS, "RegisterRoom", _of_size(65_537), "host", C.RESOURCE_EXHAUSTED,
     "SERVER: Received message larger than max (65537 vs. 65536)"),
    ("description 2001", ROOMS, "RegisterRoom", _room(description="d" * 2001), "host", C.INVALID_ARGUMENT,
     "description may be at most 2000 characters, got 2001"),
    ("description NUL", ROOMS, "RegisterRoom", _room(description="\x00"), "host", C.INVALID_ARGUMENT,
     h.CONTROL_RULE.format("description")),
    ("description empty", ROOMS, "RegisterRoom", _room(description=""), "host", C.INVALID_ARGUMENT,
     "description is required"),
    ("price zero", ROOMS, "RegisterRoom", _room(price_per_night=0), "host", C.INVALID_ARGUMENT, h.PRICE_RULE.format(0)),
    ("price negative", ROOMS, "RegisterRoom", _room(price_per_night=-7), "host", C.INVALID_ARGUMENT,
     h.PRICE_RULE.format(-7)),
    ("price int64 max", ROOMS, "RegisterRoom", _room(price_per_night=2**63 - 1), "host", C.INVALID_ARGUMENT,
     h.PRICE_RULE.format(2**63 - 1)),
    ("host id 10,000 chars", ROOMS, "RegisterRoom", _room(host_id="h" * 10_000), "host", C.INVALID_ARGUMENT,
     IDR("host_id")),
    ("host id NUL", ROOMS, "RegisterRoom", _room(host_id="\x00"), "host", C.INVALID_ARGUMENT, IDR("host_id")),
    ("corrupt wire format", ROOMS, "RegisterRoom", b"\xff\xff\xff", "host", C.INVALID_ARGUMENT,
     _corrupt("Wire format was corrupt")),
    ("string not UTF-8", ROOMS, "RegisterRoom", b"\x12\x03\xff\xfe\xfd\x18\x01", "host", C.INVALID_ARGUMENT,
     _corrupt("String field had bad UTF-8")),
    # Field 3 (price_per_night) as bytes: protobuf keeps a field of the wrong wire type as unknown, so no price.
    ("price of the wrong wire type", ROOMS, "RegisterRoom", b"\x12\x01x\x1a\x02ab", "host", C.INVALID_ARGUMENT,
     h.PRICE_RULE.format(0)),
    ("token subject 65 chars", ROOMS, "RegisterRoom", _room(), (h.LONG_ID, "host"), C.UNAUTHENTICATED,
     h.SUBJECT_RULE),
    ("get room empty", ROOMS, "GetRoom", rm.GetRoomRequest(), None, C.INVALID_ARGUMENT, "room_id is required"),
    ("get room 65 chars", ROOMS, "GetRoom", rm.GetRoomRequest(room_id=h.LONG_ID), None, C.INVALID_ARGUMENT,
     IDR("room_id")),
    ("get room unicode", ROOMS, "GetRoom", rm.GetRoomRequest(room_id=h.UNICODE_ID), None, C.INVALID_ARGUMENT,
     IDR("room_id")),
    ("get room path-like", ROOMS, "GetRoom", rm.GetRoomRequest(room_id=h.PATH_LIKE), None, C.NOT_FOUND,
     f"room {h.PATH_LIKE!r} not found"),
    ("rooms page size negative", ROOMS, "ListRooms", rm.ListRoomsRequest(page_size=-1), None, C.INVALID_ARGUMENT,
     "page_size must not be negative"),
    ("rooms forged token", ROOMS, "ListRooms", rm.ListRoomsRequest(page_token=FORGED), None, C.INVALID_ARGUMENT,
     h.NOT_ISSUED),
    ("rooms host 65", ROOMS, "ListRooms", rm.ListRoomsRequest(host_id=h.LONG_ID), None, C.INVALID_ARGUMENT,
     IDR("host_id")),
    ("review text 4001", ROOMS, "CreateReview", rm.CreateReviewRequest(room_id="{room}", rating=5, text="t" * 4001),
     "guest", C.INVALID_ARGUMENT, "text may be at most 4000 characters, got 4001"),
    ("rating int32 max", ROOMS, "CreateReview", rm.CreateReviewRequest(room_id="{room}", rating=2**31 - 1), "guest",
     C.INVALID_ARGUMENT, "rating must be between 1 and 5, got 2147483647"),
    ("review room 65", ROOMS, "CreateReview", rm.CreateReviewRequest(room_id=h.LONG_ID, rating=5), "guest",
     C.INVALID_ARGUMENT, IDR("room_id")),
    ("reviews room NUL", ROOMS, "ListReviews", rm.ListReviewsRequest(room_id="\x00"), None, C.INVALID_ARGUMENT,
     IDR("room_id")),
    ("reviews forged token", ROOMS, "ListReviews", rm.ListReviewsRequest(page_token="!"), None, C.INVALID_ARGUMENT,
     h.NOT_ISSUED),
    ("impossible date", RESERVATIONS, "RequestReservation", _stay(check_out="2031-13-01"), "guest",
     C.INVALID_ARGUMENT, "check_out must be a date YYYY-MM-DD, got '2031-13-01'"),
    ("check-in 731 days ahead", RESERVATIONS, "RequestReservation",
     _stay(check_in=h.days_ahead(h.FAR), check_out=h.days_ahead(h.FAR + 2)), "guest", C.INVALID_ARGUMENT,
     f"check_in {h.days_ahead(h.FAR)} is more than 730 days ahead"),
    ("366 nights", RESERVATIONS, "RequestReservation", _stay(check_out=h.days_ahead(40 + 366)), "guest",
     C.INVALID_ARGUMENT, "a stay may last at most 365 nights"),
    ("room empty", RESERVATIONS, "RequestReservation", _stay(room_id=""), "guest", C.INVALID_ARGUMENT,
     "room_id is required"),
    ("room 65 chars", RESERVATIONS, "RequestReservation", _stay(room_id=h.LONG_ID), "guest", C.INVALID_ARGUMENT,
     IDR("room_id")),
    ("path-like room", RESERVATIONS, "RequestReservation", _stay(room_id=h.PATH_LIKE), "guest", C.NOT_FOUND,
     f"room {h.PATH_LIKE!r} not found"),
    ("guest id NUL", RESERVATIONS, "RequestReservation", _stay(guest_id="g-hostile\x00"), "guest",
     C.INVALID_ARGUMENT, IDR("guest_id")),
    ("get reservation empty", RESERVATIONS, "GetReservation", res.GetReservationRequest(), "guest",
     C.INVALID_ARGUMENT, "reservation_id is required"),
    ("get reservation 65", RESERVATIONS, "GetReservation", res.GetReservationRequest(reservation_id=h.LONG_ID),
     "host", C.INVALID_ARGUMENT, IDR("reservation_id")),
    ("reservations room 65", RESERVATIONS, "ListReservations", res.ListReservationsRequest(room_id=h.LONG_ID),
     "host", C.INVALID_ARGUMENT, IDR("room_id")),
    ("reservations page size", RESERVATIONS, "ListReservations", res.ListReservationsRequest(page_size=-(2**31)),
     "guest", C.INVALID_ARGUMENT, "page_size must not be negative"),
    ("cancel empty", RESERVATIONS, "CancelReservation", res.CancelReservationRequest(), "guest", C.INVALID_ARGUMENT,
     "reservation_id is required"),
    ("cancel unicode", RESERVATIONS, "CancelReservation", res.CancelReservationRequest(reservation_id="예약"),
     "guest", C.INVALID_ARGUMENT, IDR("reservation_id")),
    ("get payment empty", PAYMENTS, "GetPayment", pay.GetPaymentRequest(), "guest", C.INVALID_ARGUMENT,
     "payment_id is required"),
    ("get payment 65", PAYMENTS, "GetPayment", pay.GetPaymentRequest(payment_id=h.LONG_ID), "guest",
     C.INVALID_ARGUMENT, IDR("payment_id")),
    ("payments reservation space", PAYMENTS, "ListPayments", pay.ListPaymentsRequest(reservation_id="a b"), "guest",
     C.INVALID_ARGUMENT, IDR("reservation_id")),
    ("payments subject 65", PAYMENTS, "ListPayments", pay.ListPaymentsRequest(), (h.LONG_ID, "guest"),
     C.UNAUTHENTICATED, h.SUBJECT_RULE),
    ("messages reservation 65", MESSAGES, "ListMessages", msg.ListMessagesRequest(reservation_id=h.LONG_ID), "host",
     C.INVALID_ARGUMENT, IDR("reservation_id")),
    ("messages forged token", MESSAGES, "ListMessages", msg.ListMessagesRequest(page_token=FORGED), "guest",
     C.INVALID_ARGUMENT, h.NOT_ISSUED),
    ("get room view empty", VIEWS, "GetRoomView", vw.GetRoomViewRequest(), None, C.INVALID_ARGUMENT,
     "room_id is required"),
    ("get room view 65", VIEWS, "GetRoomView", vw.GetRoomViewRequest(room_id=h.LONG_ID), None, C.INVALID_ARGUMENT,
     IDR("room_id")),
    ("room views page size", VIEWS, "ListRoomViews", vw.ListRoomViewsRequest(page_size=-1), None,
     C.INVALID_ARGUMENT, "page_size must not be negative"),
    ("room views forged token", VIEWS, "ListRoomViews", vw.ListRoomViewsRequest(page_token=FORGED), None,
     C.INVALID_ARGUMENT, h.NOT_ISSUED),
]  # fmt: skip


@pytest.fixture(scope="module")
def channel(quiet_mesh: Mesh) -> Iterator[grpc.Channel]:
    with quiet_mesh.channel() as ch:
        yield ch


@pytest.mark.parametrize(("case", "service", "method", "request_", "who", "code", "message"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_hostile_call_gets_its_exact_status_and_writes_nothing(
    quiet_mesh: Mesh, quiet_http: httpx.Client, channel: grpc.Channel, case: str, service: str, method: str,
    request_: Any, who: Any, code: grpc.StatusCode, message: str,
) -> None:  # fmt: skip
    w = h.world(quiet_mesh, quiet_http)
    before = h.row_counts(quiet_mesh)
    with pytest.raises(grpc.RpcError) as refused:
        h.call(quiet_mesh, channel, service, method, h.filled(request_, w), who)
    assert (refused.value.code(), refused.value.details()) == (code, message)
    h.assert_nothing_written(quiet_mesh, before)


def test_every_listing_still_answers_after_the_suite(
    quiet_mesh: Mesh, quiet_http: httpx.Client, channel: grpc.Channel
) -> None:
    w = h.world(quiet_mesh, quiet_http)
    most: dict[str, Any] = {"page_size": 100}
    listings = [
        (ROOMS, "ListRooms", rm.ListRoomsRequest(**most), None),
        (ROOMS, "ListReviews", rm.ListReviewsRequest(room_id=w.room_id, **most), None),
        (VIEWS, "ListRoomViews", vw.ListRoomViewsRequest(**most), None),
        (RESERVATIONS, "ListReservations", res.ListReservationsRequest(**most), "guest"),
        (PAYMENTS, "ListPayments", pay.ListPaymentsRequest(**most), "guest"),
        (MESSAGES, "ListMessages", msg.ListMessagesRequest(**most), "host"),
    ]
    for service, method, request, who in listings:
        assert isinstance(h.call(quiet_mesh, channel, service, method, request, who), bytes)
    assert set(h.listings_answer(quiet_mesh, quiet_http, w).values()) == {200}
