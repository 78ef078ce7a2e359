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


def run_grpcurl(mesh: Mesh, *args: str, data: object = None, token: str = "") -> subprocess.CompletedProcess:
    """grpcurl at the edge; with `token`, as the walkthrough does it: -H "authorization: Bearer $TOKEN"."""
    flags = ["-d", json.dumps(data)] if data is not None else []
    flags += ["-H", f"authorization: Bearer {token}"] if token else []
    return subprocess.run([GRPCURL, "-plaintext", *flags, mesh.edge, *args], capture_output=True, text=True,
                          timeout=30)  # fmt: skip


def grpcurl(mesh: Mesh, *args: str, data: object = None, token: str = "") -> str:
    result = run_grpcurl(mesh, *args, data=data, token=token)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_saga_through_generated_stubs(mesh: Mesh) -> None:
    guest = f"g-{uuid.uuid4()}"
    as_guest = mesh.auth(guest, "guest")
    with mesh.channel() as channel:
        rooms = room_pb2_grpc.RoomServiceStub(channel)
        room = rooms.RegisterRoom(
            room_pb2.RegisterRoomRequest(description="Loft", price_per_night=500), metadata=mesh.auth("h1", "host")
        )
        assert room.host_id == "h1"  # the token's host
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        r = reservations.RequestReservation(
            reservation_pb2.RequestReservationRequest(
                room_id=room.room_id, guest_id=guest, check_in="2035-06-01", check_out="2035-06-08"
            ),
            timeout=10,
            metadata=as_guest,
        )
        assert (r.status, r.amount, r.guest_id) == ("approved", 3500, guest)
        payment = payment_pb2_grpc.PaymentServiceStub(channel).GetPayment(
            payment_pb2.GetPaymentRequest(payment_id=r.payment_id), metadata=as_guest
        )
        assert payment.reservation_id == r.reservation_id
        with pytest.raises(grpc.RpcError) as taken:
            reservations.RequestReservation(
                reservation_pb2.RequestReservationRequest(
                    room_id=room.room_id, check_in="2035-06-07", check_out="2035-06-09"
                ),
                metadata=as_guest,
            )
        assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
        with pytest.raises(grpc.RpcError) as anonymous:
            reservations.RequestReservation(
                reservation_pb2.RequestReservationRequest(
                    room_id=room.room_id, check_in="2035-07-01", check_out="2035-07-02"
                )
            )
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        message_pb2_grpc.MessageServiceStub(channel).ListMessages(
            message_pb2.ListMessagesRequest(guest_id=guest), metadata=as_guest
        )
        view_pb2_grpc.RoomViewServiceStub(channel).ListRoomViews(view_pb2.ListRoomViewsRequest())


def test_internal_service_is_unimplemented_at_the_edge(mesh: Mesh) -> None:
    from bnb.room.v1 import holds_pb2, holds_pb2_grpc

    request = holds_pb2.HoldRoomRequest(reservation_id="x", guest_id="g1")
    with mesh.channel() as channel:
        hold = holds_pb2_grpc.RoomHoldsStub(channel).HoldRoom
        with pytest.raises(grpc.RpcError) as refused:  # not even for a signed-in guest
            hold(request, timeout=5, metadata=mesh.auth("g1", "guest"))
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
        with pytest.raises(grpc.RpcError) as anonymous:
            hold(request, timeout=5)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


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
    host, guest = "h9", f"g-{uuid.uuid4()}"
    host_token, guest_token = mesh.token(host, "host"), mesh.token(guest, "guest")
    room = json.loads(
        grpcurl(mesh, "bnb.room.v1.RoomService/RegisterRoom", data={"description": "Cabin", "price_per_night": 80},
                token=host_token)
    )  # fmt: skip
    assert room["hostId"] == host
    got = json.loads(grpcurl(mesh, "bnb.room.v1.RoomService/GetRoom", data={"room_id": room["roomId"]}))
    assert got["description"] == "Cabin"
    body = {"room_id": room["roomId"], "check_in": "2036-01-01", "check_out": "2036-01-02"}
    reservation = json.loads(
        grpcurl(mesh, "bnb.reservation.v1.ReservationService/RequestReservation", data=body, token=guest_token)
    )
    assert (reservation["status"], reservation["guestId"]) == ("approved", guest)
    with mesh.channel() as channel:  # the view is built from events: wait for the room to reach it
        views = view_pb2_grpc.RoomViewServiceStub(channel)

        def in_view() -> bool:
            try:
                return bool(views.GetRoomView(view_pb2.GetRoomViewRequest(room_id=room["roomId"])).room_id)
            except grpc.RpcError:
                return False

        eventually(in_view)
    # a review needs a confirmed stay: wait until the room service has reserved the room for it
    eventually(lambda: json.loads(grpcurl(mesh, "bnb.room.v1.RoomService/GetRoom",
                                          data={"room_id": room["roomId"]}))["status"] == "reserved")  # fmt: skip
    for method, request, field, token in [
        ("bnb.reservation.v1.ReservationService/GetReservation", {"reservation_id": reservation["reservationId"]},
         "reservationId", guest_token),
        ("bnb.reservation.v1.ReservationService/GetReservation", {"reservation_id": reservation["reservationId"]},
         "reservationId", host_token),
        ("bnb.reservation.v1.ReservationService/ListReservations", {"guest_id": guest}, "reservations", guest_token),
        ("bnb.reservation.v1.ReservationService/ListReservations", {"room_id": room["roomId"]}, "reservations",
         host_token),
        ("bnb.payment.v1.PaymentService/GetPayment", {"payment_id": reservation["paymentId"]}, "paymentId",
         guest_token),
        ("bnb.payment.v1.PaymentService/ListPayments", {"guest_id": guest}, "payments", guest_token),
        ("bnb.room.v1.RoomService/ListRooms", {"host_id": host}, "rooms", ""),
        ("bnb.room.v1.RoomService/CreateReview", {"room_id": room["roomId"], "rating": 4}, "reviewId", guest_token),
        ("bnb.room.v1.RoomService/ListReviews", {"room_id": room["roomId"]}, "reviews", ""),
        ("bnb.view.v1.RoomViewService/ListRoomViews", {}, "roomViews", ""),
        ("bnb.view.v1.RoomViewService/GetRoomView", {"room_id": room["roomId"]}, "roomId", ""),
        ("bnb.reservation.v1.ReservationService/CancelReservation",
         {"reservation_id": reservation["reservationId"]}, "status", guest_token),
    ]:  # fmt: skip
        assert field in json.loads(grpcurl(mesh, method, data=request, token=token)), method
    # Without -H authorization only the public reads answer.
    anonymous = run_grpcurl(mesh, "bnb.payment.v1.PaymentService/ListPayments", data={"guest_id": guest})
    assert anonymous.returncode != 0 and "Unauthenticated" in anonymous.stderr, anonymous
    # Notifications arrive by events; an empty list is an empty JSON object, so wait for one.
    eventually(lambda: "messages" in json.loads(grpcurl(mesh, "bnb.message.v1.MessageService/ListMessages",
                                                        data={"guest_id": guest}, token=guest_token)))  # fmt: skip
