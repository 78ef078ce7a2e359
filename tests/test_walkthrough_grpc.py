"""The walkthrough in gRPC at the edge: generated stubs, and the real grpcurl with server reflection."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from bnb.message.v1 import message_pb2, message_pb2_grpc
from bnb.payment.v1 import payment_pb2, payment_pb2_grpc
from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from bnb.view.v1 import view_pb2, view_pb2_grpc
from tests.events_helpers import eventually
from tests.harness import Mesh

pytestmark = pytest.mark.integration
GRPCURL = str(Path(sys.executable).parent / "grpcurl")
PUBLIC = [
    "bnb.message.v1.MessageService",
    "bnb.payment.v1.PaymentService",
    "bnb.reservation.v1.ReservationService",
    "bnb.room.v1.RoomService",
    "bnb.view.v1.RoomViewService",
]


def grpcurl(mesh: Mesh, *args: str, data: object = None) -> str:
    flags = ["-d", json.dumps(data)] if data is not None else []
    result = subprocess.run([GRPCURL, "-plaintext", *flags, mesh.edge, *args], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_saga_through_generated_stubs(mesh: Mesh) -> None:
    with mesh.channel() as channel:
        rooms = room_pb2_grpc.RoomServiceStub(channel)
        room = rooms.RegisterRoom(room_pb2.RegisterRoomRequest(host_id="h1", description="Loft", price_per_night=500))
        guest = f"g-{uuid.uuid4()}"
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        r = reservations.RequestReservation(
            reservation_pb2.RequestReservationRequest(
                room_id=room.room_id, guest_id=guest, check_in="2035-06-01", check_out="2035-06-08"
            ),
            timeout=10,
        )
        assert (r.status, r.amount) == ("approved", 3500)
        payment = payment_pb2_grpc.PaymentServiceStub(channel).GetPayment(
            payment_pb2.GetPaymentRequest(payment_id=r.payment_id)
        )
        assert payment.reservation_id == r.reservation_id
        with pytest.raises(grpc.RpcError) as taken:
            reservations.RequestReservation(
                reservation_pb2.RequestReservationRequest(
                    room_id=room.room_id, guest_id=guest, check_in="2035-06-07", check_out="2035-06-09"
                )
            )
        assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
        message_pb2_grpc.MessageServiceStub(channel).ListMessages(message_pb2.ListMessagesRequest(guest_id=guest))
        view_pb2_grpc.RoomViewServiceStub(channel).ListRoomViews(view_pb2.ListRoomViewsRequest())


def test_internal_service_is_unimplemented_at_the_edge(mesh: Mesh) -> None:
    from bnb.room.v1 import holds_pb2, holds_pb2_grpc

    with mesh.channel() as channel, pytest.raises(grpc.RpcError) as refused:
        holds_pb2_grpc.RoomHoldsStub(channel).HoldRoom(holds_pb2.HoldRoomRequest(reservation_id="x"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpcurl_lists_exactly_the_public_services(mesh: Mesh) -> None:
    listed = set(grpcurl(mesh, "list").split())
    assert set(PUBLIC) <= listed
    assert not {"bnb.room.v1.RoomHolds", "bnb.payment.v1.PaymentApprovals"} & listed


@pytest.mark.parametrize("service", PUBLIC)
def test_grpcurl_describes_every_public_rpc(mesh: Mesh, service: str) -> None:
    described = grpcurl(mesh, "describe", service)
    assert f"service {service.rsplit('.', 1)[1]}" in described
    assert "rpc " in described


def test_grpcurl_calls_public_rpcs(mesh: Mesh) -> None:
    room = json.loads(
        grpcurl(mesh, "bnb.room.v1.RoomService/RegisterRoom",
                data={"host_id": "h9", "description": "Cabin", "price_per_night": 80})
    )  # fmt: skip
    got = json.loads(grpcurl(mesh, "bnb.room.v1.RoomService/GetRoom", data={"room_id": room["roomId"]}))
    assert got["description"] == "Cabin"
    guest = f"g-{uuid.uuid4()}"
    body = {"room_id": room["roomId"], "guest_id": guest, "check_in": "2036-01-01", "check_out": "2036-01-02"}
    reservation = json.loads(grpcurl(mesh, "bnb.reservation.v1.ReservationService/RequestReservation", data=body))
    assert reservation["status"] == "approved"
    with mesh.channel() as channel:  # the view is built from events: wait for the room to reach it
        views = view_pb2_grpc.RoomViewServiceStub(channel)

        def in_view() -> bool:
            try:
                return bool(views.GetRoomView(view_pb2.GetRoomViewRequest(room_id=room["roomId"])).room_id)
            except grpc.RpcError:
                return False

        eventually(in_view)
    for method, request, field in [
        ("bnb.reservation.v1.ReservationService/GetReservation", {"reservation_id": reservation["reservationId"]},
         "reservationId"),
        ("bnb.reservation.v1.ReservationService/ListReservations", {"guest_id": guest}, "reservations"),
        ("bnb.payment.v1.PaymentService/GetPayment", {"payment_id": reservation["paymentId"]}, "paymentId"),
        ("bnb.payment.v1.PaymentService/ListPayments", {"guest_id": guest}, "payments"),
        ("bnb.room.v1.RoomService/ListRooms", {"host_id": "h9"}, "rooms"),
        ("bnb.room.v1.RoomService/CreateReview", {"room_id": room["roomId"], "guest_id": guest, "rating": 4},
         "reviewId"),
        ("bnb.room.v1.RoomService/ListReviews", {"room_id": room["roomId"]}, "reviews"),
        ("bnb.view.v1.RoomViewService/ListRoomViews", {}, "roomViews"),
        ("bnb.view.v1.RoomViewService/GetRoomView", {"room_id": room["roomId"]}, "roomId"),
        ("bnb.reservation.v1.ReservationService/CancelReservation",
         {"reservation_id": reservation["reservationId"], "guest_id": guest}, "status"),
    ]:  # fmt: skip
        assert field in json.loads(grpcurl(mesh, method, data=request)), method
    # Notifications arrive by events; an empty list is an empty JSON object, so wait for one.
    eventually(lambda: "messages" in json.loads(grpcurl(mesh, "bnb.message.v1.MessageService/ListMessages",
                                                        data={"guest_id": guest})))  # fmt: skip
