"""The original's walkthrough through the edge, in REST (gRPC-JSON transcoding by the real Envoy)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.harness import Mesh
from tests.test_events import confirmed_stay

pytestmark = pytest.mark.integration


def register(mesh: Mesh, http: httpx.Client, host: str = "h1", price: int = 12000) -> dict:
    """A room of `host`, who signs in as a host; the body may leave host_id out (the token says who)."""
    body = {"description": "Beautiful House", "price_per_night": price}
    reply = http.post("/rooms", json=body, headers=mesh.headers(host, "host"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["host_id"] == host
    return reply.json()


def reserve(mesh: Mesh, http: httpx.Client, room_id: str, guest: str, check_in: str, check_out: str) -> httpx.Response:
    body = {"room_id": room_id, "guest_id": guest, "check_in": check_in, "check_out": check_out}
    return http.post("/reservations", json=body, headers=mesh.headers(guest, "guest"))


def test_register_then_read_rooms(mesh: Mesh, http: httpx.Client) -> None:
    host = f"h-{uuid.uuid4()}"
    room = register(mesh, http, host)
    assert room["status"] == "available" and room["price_per_night"] == "12000"
    # the catalogue is public: no token needed to read it
    assert http.get(f"/rooms/{room['room_id']}").json()["description"] == "Beautiful House"
    listed = http.get("/rooms", params={"host_id": host}).json()["rooms"]
    assert [r["room_id"] for r in listed] == [room["room_id"]]
    # the body may still name the host, if it is the caller
    body = {"description": "Annex", "host_id": host, "price_per_night": 1}
    assert http.post("/rooms", json=body, headers=mesh.headers(host, "host")).json()["host_id"] == host


def test_reservation_holds_room_and_approves_payment(mesh: Mesh, http: httpx.Client) -> None:
    room = register(mesh, http, price=12000)
    guest = f"g-{uuid.uuid4()}"
    as_guest = mesh.headers(guest, "guest")
    reply = reserve(mesh, http, room["room_id"], guest, "2031-03-01", "2031-03-04")
    assert reply.status_code == 200, reply.text
    reservation = reply.json()
    assert reservation["status"] == "approved" and reservation["guest_id"] == guest
    assert reservation["amount"] == "36000"  # 3 nights x 12000
    assert reservation["host_id"] == "h1"

    fetched = http.get(f"/reservations/{reservation['reservation_id']}", headers=as_guest).json()
    assert fetched["payment_id"] == reservation["payment_id"]
    listed = http.get("/reservations", params={"guest_id": guest}, headers=as_guest).json()["reservations"]
    assert [r["reservation_id"] for r in listed] == [reservation["reservation_id"]]
    payment = http.get(f"/payments/{reservation['payment_id']}", headers=as_guest).json()
    assert (payment["reservation_id"], payment["amount"], payment["status"]) == (
        reservation["reservation_id"],
        "36000",
        "approved",
    )
    by_guest = http.get("/payments", params={"guest_id": guest}, headers=as_guest).json()["payments"]
    assert [p["payment_id"] for p in by_guest] == [reservation["payment_id"]]


def test_overlapping_stay_is_a_conflict_and_writes_nothing(mesh: Mesh, http: httpx.Client) -> None:
    room = register(mesh, http)
    assert reserve(mesh, http, room["room_id"], f"g-{uuid.uuid4()}", "2031-05-01", "2031-05-05").status_code == 200
    loser = f"g-{uuid.uuid4()}"
    reply = reserve(mesh, http, room["room_id"], loser, "2031-05-04", "2031-05-06")
    assert reply.status_code == 409
    assert reply.json()["code"] == 6 and "already held" in reply.json()["message"]
    as_loser = mesh.headers(loser, "guest")
    assert http.get("/reservations", params={"guest_id": loser}, headers=as_loser).json()["reservations"] == []
    assert http.get("/payments", params={"guest_id": loser}, headers=as_loser).json()["payments"] == []
    # check-out is exclusive: the next guest may arrive the day the first leaves
    assert reserve(mesh, http, room["room_id"], loser, "2031-05-05", "2031-05-06").status_code == 200


def test_review_is_stored(mesh: Mesh, http: httpx.Client) -> None:
    room, guest = register(mesh, http), f"g-{uuid.uuid4()}"
    body = {"room_id": room["room_id"], "rating": 5, "text": "Lovely"}
    early = http.post("/reviews", json=body, headers=mesh.headers(guest, "guest"))
    assert early.status_code == 400 and early.json()["code"] == 9, early.text  # no confirmed stay yet
    confirmed_stay(mesh, http, room["room_id"], guest, check_in="2031-06-01", check_out="2031-06-02")
    reply = http.post("/reviews", json=body, headers=mesh.headers(guest, "guest"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["rating"] == 5 and reply.json()["guest_id"] == guest
    reviews = http.get("/reviews", params={"room_id": room["room_id"]}).json()["reviews"]
    assert [r["text"] for r in reviews] == ["Lovely"]
    assert http.get(f"/rooms/{room['room_id']}").json()["review_count"] == 1
