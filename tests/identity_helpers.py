"""What the identity tests share: wrong tokens, every RPC at the edge (REST and gRPC), and a small world."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt

from bnb.message.v1 import message_pb2, message_pb2_grpc
from bnb.payment.v1 import payment_pb2, payment_pb2_grpc
from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from bnb.room.v1 import room_pb2, room_pb2_grpc
from bnb.view.v1 import view_pb2, view_pb2_grpc
from tests.events_helpers import eventually
from tests.harness import Mesh
from tools.launcher import tokens

INTRUDER = "intruder"  # the subject every wrong token names: afterwards it must own nothing


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def wrong_tokens(mesh: Mesh, elsewhere: Path) -> dict[str, str]:
    """Tokens the edge must refuse, each naming INTRUDER as a guest; `elsewhere`: a data dir with another key."""
    now = int(time.time())
    good = mesh.token(INTRUDER, "guest")
    header, _, signature = good.split(".")
    claims = {"sub": INTRUDER, "role": "guest", "iss": "bnb-mesh-dev", "aud": "bnb-mesh", "exp": now + 600}
    return {
        "malformed": "not-a-jwt",
        "expired": mesh.token(INTRUDER, "guest", exp=now - 3600),
        "not yet valid": mesh.token(INTRUDER, "guest", nbf=now + 3600),
        "tampered payload": f"{header}.{_b64({**claims, 'sub': 'g-someone-else'})}.{signature}",
        "unknown key": tokens.mint(elsewhere, INTRUDER, "guest"),
        "another key, our kid": jwt.encode(claims, _key(elsewhere), algorithm="ES256", headers=_kid(header)),
        "alg none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        "alg none, with a signature": jwt.encode(claims, None, algorithm="none") + signature,  # type: ignore[arg-type]
        "alg HS256 with the public key": _hs256_with_public_key(mesh.cfg.data_dir, claims, header),
        "wrong issuer": mesh.token(INTRUDER, "guest", iss="https://evil.example"),
        "wrong audience": mesh.token(INTRUDER, "guest", aud="someone-else"),
        "no expiry": hand_signed(mesh, INTRUDER, drop="exp"),
    }  # fmt: skip


def hand_signed(mesh: Mesh, subject: str, drop: str = "") -> str:
    """A guest token signed here with the mesh's key, as wrong_tokens signs; `drop`: a claim to leave out."""
    claims = {"sub": subject, "role": "guest", "iss": "bnb-mesh-dev", "aud": "bnb-mesh", "exp": int(time.time()) + 600}
    header = mesh.token(subject, "guest").split(".")[0]
    body = {k: v for k, v in claims.items() if k != drop}
    return jwt.encode(body, _key(mesh.cfg.data_dir), algorithm="ES256", headers=_kid(header))


def _key(data_dir: Path) -> Any:
    return tokens._private_key(data_dir)


def _hs256_with_public_key(data_dir: Path, claims: dict, header: str) -> str:
    """The algorithm-confusion attack: an HMAC keyed with the (public) JWKS text."""
    secret = tokens.ensure_keys(data_dir).read_bytes()
    head = _b64({"alg": "HS256", "typ": "JWT", **_kid(header)})
    body = _b64(claims)
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def _kid(header: str) -> dict[str, str]:
    return {"kid": json.loads(base64.urlsafe_b64decode(header + "==="))["kid"]}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# Every REST route that needs a token, with a body that would be valid for a signed-in caller.
PRIVATE_REST: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/rooms", {"description": "x", "price_per_night": 100}),
    ("POST", "/reviews", {"room_id": "r", "rating": 5, "text": "x"}),
    ("POST", "/reservations", {"room_id": "r", "check_in": "2031-01-01", "check_out": "2031-01-02"}),
    ("GET", "/reservations", None),
    ("GET", "/reservations/some-id", None),
    ("POST", "/reservations/some-id:cancel", {}),
    ("GET", "/payments", None),
    ("GET", "/payments/some-id", None),
    ("GET", "/messages", None),
]
PUBLIC_REST = ["/rooms", "/rooms/some-id", "/reviews", "/roomviews", "/roomviews/some-id"]

R, RES, PAY, MSG, VIEW = room_pb2, reservation_pb2, payment_pb2, message_pb2, view_pb2
PRIVATE_GRPC = [
    (room_pb2_grpc.RoomServiceStub, "RegisterRoom", R.RegisterRoomRequest(description="x", price_per_night=100)),
    (room_pb2_grpc.RoomServiceStub, "CreateReview", R.CreateReviewRequest(room_id="r", rating=5, text="x")),
    (reservation_pb2_grpc.ReservationServiceStub, "RequestReservation",
     RES.RequestReservationRequest(room_id="r", check_in="2031-01-01", check_out="2031-01-02")),
    (reservation_pb2_grpc.ReservationServiceStub, "GetReservation", RES.GetReservationRequest(reservation_id="x")),
    (reservation_pb2_grpc.ReservationServiceStub, "ListReservations", RES.ListReservationsRequest()),
    (reservation_pb2_grpc.ReservationServiceStub, "CancelReservation",
     RES.CancelReservationRequest(reservation_id="x")),
    (payment_pb2_grpc.PaymentServiceStub, "GetPayment", PAY.GetPaymentRequest(payment_id="x")),
    (payment_pb2_grpc.PaymentServiceStub, "ListPayments", PAY.ListPaymentsRequest()),
    (message_pb2_grpc.MessageServiceStub, "ListMessages", MSG.ListMessagesRequest()),
]  # fmt: skip
PUBLIC_GRPC = [
    (room_pb2_grpc.RoomServiceStub, "ListRooms", R.ListRoomsRequest()),
    (room_pb2_grpc.RoomServiceStub, "ListReviews", R.ListReviewsRequest()),
    (view_pb2_grpc.RoomViewServiceStub, "ListRoomViews", VIEW.ListRoomViewsRequest()),
]


def call(channel: grpc.Channel, stub: type, method: str, request: Any, token: str | None = None) -> Any:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    return getattr(stub(channel), method)(request, metadata=metadata, timeout=10)


@dataclass(frozen=True)
class World:
    """Two hosts with a room each; guest A reserved host 1's room, guest B host 2's; both confirmed."""

    a: str
    b: str
    h1: str
    h2: str
    room1: str
    room2: str
    res_a: dict
    res_b: dict


def _ok(reply: httpx.Response) -> dict:
    assert reply.status_code == 200, reply.text
    return reply.json()


def build_world(mesh: Mesh, http: httpx.Client, tag: str) -> World:
    a, b, h1, h2 = (f"{who}-{tag}" for who in ("ga", "gb", "h1", "h2"))
    rooms = [_ok(http.post("/rooms", json={"description": "Loft", "price_per_night": 100},
                           headers=mesh.headers(h, "host")))["room_id"] for h in (h1, h2)]  # fmt: skip
    stays = []
    for guest, room in ((a, rooms[0]), (b, rooms[1])):
        body = {"room_id": room, "check_in": "2032-01-10", "check_out": "2032-01-12"}
        stays.append(_ok(http.post("/reservations", json=body, headers=mesh.headers(guest, "guest"))))
    for guest, stay in ((a, stays[0]), (b, stays[1])):
        path, headers = f"/reservations/{stay['reservation_id']}", mesh.headers(guest, "guest")
        eventually(functools.partial(_has, http, path, headers, "status", "confirmed"))
    for room in rooms:  # the room's own hold is reserved too (a review needs it)
        eventually(functools.partial(_has, http, f"/rooms/{room}", {}, "status", "reserved"))
    return World(a, b, h1, h2, rooms[0], rooms[1], stays[0], stays[1])


def _has(http: httpx.Client, path: str, headers: dict[str, str], field: str, value: str) -> bool:
    return http.get(path, headers=headers).json().get(field) == value
