"""Identity over gRPC: ownership through the edge, grpcurl with a token, and internal RPCs only via the mesh."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import httpx
import pytest

from bnb.payment.v1 import payment_pb2, payment_pb2_grpc
from bnb.reservation.v1 import reservation_pb2 as res
from bnb.reservation.v1 import reservation_pb2_grpc
from bnb.room.v1 import holds_pb2, holds_pb2_grpc, room_pb2, room_pb2_grpc
from svckit.caller import on_behalf_of
from tests.events_helpers import eventually
from tests.harness import Mesh
from tests.identity_helpers import World, build_world

pytestmark = pytest.mark.integration
GRPCURL = str(Path(sys.executable).parent / "grpcurl")


@pytest.fixture(scope="module")
def world(mesh: Mesh, http: httpx.Client) -> World:
    return build_world(mesh, http, uuid.uuid4().hex[:8])


def failing(rpc: object, request: object, **kwargs: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        rpc(request, timeout=10, **kwargs)  # type: ignore[operator]
    return failed.value


def test_a_guest_reads_and_cancels_only_their_own(mesh: Mesh, world: World) -> None:
    with mesh.channel() as channel:
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        payments = payment_pb2_grpc.PaymentServiceStub(channel)
        a = mesh.auth(world.a, "guest")
        listed = reservations.ListReservations(res.ListReservationsRequest(), metadata=a).reservations
        assert [r.guest_id for r in listed] == [world.a]
        theirs = world.res_b["reservation_id"]
        for rpc, request in (
            (reservations.GetReservation, res.GetReservationRequest(reservation_id=theirs)),
            (reservations.CancelReservation, res.CancelReservationRequest(reservation_id=theirs)),
            (payments.GetPayment, payment_pb2.GetPaymentRequest(payment_id=world.res_b["payment_id"])),
        ):
            assert failing(rpc, request, metadata=a).code() == grpc.StatusCode.NOT_FOUND
        spoofed = (*a, ("x-bnb-subject", world.b), ("x-bnb-role", "host"))
        listed = reservations.ListReservations(res.ListReservationsRequest(), metadata=spoofed).reservations
        assert [r.guest_id for r in listed] == [world.a]
        denied = failing(reservations.ListReservations, res.ListReservationsRequest(guest_id=world.b), metadata=a)
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        b = mesh.auth(world.b, "guest")
        assert reservations.GetReservation(res.GetReservationRequest(reservation_id=theirs), metadata=b).status == (
            "confirmed"
        )


def test_grpcurl_with_a_token(mesh: Mesh, world: World) -> None:
    def grpcurl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([GRPCURL, "-plaintext", *args], capture_output=True, text=True, timeout=30)

    method = "bnb.reservation.v1.ReservationService/ListReservations"
    token = mesh.token(world.a, "guest")
    listed = grpcurl("-H", f"authorization: Bearer {token}", "-d", "{}", mesh.edge, method)
    assert listed.returncode == 0, listed.stderr
    assert [r["guestId"] for r in json.loads(listed.stdout)["reservations"]] == [world.a]
    refused = grpcurl("-d", "{}", mesh.edge, method)
    assert refused.returncode != 0 and "Code: Unauthenticated" in refused.stderr and "Jwt is missing" in refused.stderr
    health = grpcurl(mesh.edge, "grpc.health.v1.Health/Check")  # public, like reflection
    assert health.returncode == 0 and json.loads(health.stdout)["status"] == "SERVING", health.stderr


def test_internal_rpcs_only_through_the_mesh_for_the_verified_guest(mesh: Mesh, world: World) -> None:
    hold = holds_pb2.HoldRoomRequest(reservation_id=str(uuid.uuid4()), room_id=world.room1, guest_id=world.a,
                                     check_in="2034-01-01", check_out="2034-01-02")  # fmt: skip
    as_a = on_behalf_of(world.a, "guest")
    with mesh.channel() as edge:  # no route at the edge, token or not
        stub = holds_pb2_grpc.RoomHoldsStub(edge)
        assert failing(stub.HoldRoom, hold, metadata=mesh.auth(world.a, "guest")).code() == (
            grpc.StatusCode.UNIMPLEMENTED
        )
    room_port = mesh.cfg.ports.endpoints["room"][0]
    with grpc.insecure_channel(f"127.0.0.1:{room_port}", options=[("grpc.enable_http_proxy", 0)]) as direct:
        stub = holds_pb2_grpc.RoomHoldsStub(direct)  # past Envoy, claiming to be a guest: not the mesh
        assert failing(stub.HoldRoom, hold, metadata=as_a).code() == grpc.StatusCode.PERMISSION_DENIED
        release = holds_pb2.ReleaseRoomRequest(reservation_id=world.res_a["reservation_id"])
        assert failing(stub.ReleaseRoom, release).code() == grpc.StatusCode.PERMISSION_DENIED
    with grpc.insecure_channel(f"127.0.0.1:{mesh.cfg.ports.mesh}", options=[("grpc.enable_http_proxy", 0)]) as ch:
        stub = holds_pb2_grpc.RoomHoldsStub(ch)
        assert failing(stub.HoldRoom, hold).code() == grpc.StatusCode.UNAUTHENTICATED  # for no one
        other = on_behalf_of(world.b, "guest")
        assert failing(stub.HoldRoom, hold, metadata=other).code() == grpc.StatusCode.PERMISSION_DENIED
        assert stub.HoldRoom(hold, metadata=as_a, timeout=10).status == "held"  # the saga's own call
        stub.ReleaseRoom(holds_pb2.ReleaseRoomRequest(reservation_id=hold.reservation_id), timeout=10)
    with mesh.channel() as edge:  # the refused ReleaseRoom left guest A's stay in place
        room = room_pb2_grpc.RoomServiceStub(edge).GetRoom(room_pb2.GetRoomRequest(room_id=world.room1))
        assert room.status == "reserved"


def test_after_cancelling_a_guest_may_no_longer_review(mesh: Mesh, http: httpx.Client, world: World) -> None:
    with mesh.channel() as channel:
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        rooms = room_pb2_grpc.RoomServiceStub(channel)
        b = mesh.auth(world.b, "guest")
        cancel = res.CancelReservationRequest(reservation_id=world.res_b["reservation_id"])
        assert reservations.CancelReservation(cancel, metadata=b).status == "cancelled"
        eventually(lambda: http.get(f"/rooms/{world.room2}").json()["status"] == "available")  # released
        review = room_pb2.CreateReviewRequest(room_id=world.room2, rating=4, text="was nice")
        assert failing(rooms.CreateReview, review, metadata=b).code() == grpc.StatusCode.FAILED_PRECONDITION
