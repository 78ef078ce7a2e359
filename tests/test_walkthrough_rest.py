"""The original's walkthrough through the edge, in REST (gRPC-JSON transcoding by the real Envoy)."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration


def register(http: httpx.Client, host: str = "h1", price: int = 12000) -> dict:
    reply = http.post("/rooms", json={"description": "Beautiful House", "host_id": host, "price_per_night": price})
    assert reply.status_code == 200, reply.text
    return reply.json()


def reserve(http: httpx.Client, room_id: str, guest: str, check_in: str, check_out: str) -> httpx.Response:
    body = {"room_id": room_id, "guest_id": guest, "check_in": check_in, "check_out": check_out}
    return http.post("/reservations", json=body)


def test_register_then_read_rooms(http: httpx.Client) -> None:
    host = f"h-{uuid.uuid4()}"
    room = register(http, host)
    assert room["status"] == "available" and room["price_per_night"] == "12000"
    assert http.get(f"/rooms/{room['room_id']}").json()["description"] == "Beautiful House"
    listed = http.get("/rooms", params={"host_id": host}).json()["rooms"]
    assert [r["room_id"] for r in listed] == [room["room_id"]]


def test_reservation_holds_room_and_approves_payment(http: httpx.Client) -> None:
    room = register(http, price=12000)
    guest = f"g-{uuid.uuid4()}"
    reply = reserve(http, room["room_id"], guest, "2031-03-01", "2031-03-04")
    assert reply.status_code == 200, reply.text
    reservation = reply.json()
    assert reservation["status"] == "approved"
    assert reservation["amount"] == "36000"  # 3 nights x 12000
    assert reservation["host_id"] == "h1"

    fetched = http.get(f"/reservations/{reservation['reservation_id']}").json()
    assert fetched["payment_id"] == reservation["payment_id"]
    assert [
        r["reservation_id"] for r in http.get("/reservations", params={"guest_id": guest}).json()["reservations"]
    ] == [reservation["reservation_id"]]
    payment = http.get(f"/payments/{reservation['payment_id']}").json()
    assert (payment["reservation_id"], payment["amount"], payment["status"]) == (
        reservation["reservation_id"],
        "36000",
        "approved",
    )
    by_guest = http.get("/payments", params={"guest_id": guest}).json()["payments"]
    assert [p["payment_id"] for p in by_guest] == [reservation["payment_id"]]


def test_overlapping_stay_is_a_conflict_and_writes_nothing(http: httpx.Client) -> None:
    room = register(http)
    assert reserve(http, room["room_id"], f"g-{uuid.uuid4()}", "2031-05-01", "2031-05-05").status_code == 200
    loser = f"g-{uuid.uuid4()}"
    reply = reserve(http, room["room_id"], loser, "2031-05-04", "2031-05-06")
    assert reply.status_code == 409
    assert reply.json()["code"] == 6 and "already held" in reply.json()["message"]
    assert http.get("/reservations", params={"guest_id": loser}).json()["reservations"] == []
    assert http.get("/payments", params={"guest_id": loser}).json()["payments"] == []
    # check-out is exclusive: the next guest may arrive the day the first leaves
    assert reserve(http, room["room_id"], loser, "2031-05-05", "2031-05-06").status_code == 200


def test_review_is_stored(http: httpx.Client) -> None:
    room = register(http)
    reply = http.post("/reviews", json={"room_id": room["room_id"], "guest_id": "g1", "rating": 5, "text": "Lovely"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["rating"] == 5
    reviews = http.get("/reviews", params={"room_id": room["room_id"]}).json()["reviews"]
    assert [r["text"] for r in reviews] == ["Lovely"]
    assert http.get(f"/rooms/{room['room_id']}").json()["review_count"] == 1
