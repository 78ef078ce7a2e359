"""The saga's async half over the real NATS JetStream: every context and the view follow the events."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.events_helpers import eventually, messages, room_view
from tests.harness import Mesh

pytestmark = pytest.mark.integration


def new_room(http: httpx.Client, host: str) -> str:
    body = {"description": "Sea view", "host_id": host, "price_per_night": 200}
    return http.post("/rooms", json=body).json()["room_id"]


def book(
    http: httpx.Client, room_id: str, guest: str, check_in: str = "2038-02-01", check_out: str = "2038-02-03"
) -> dict:
    body = {"room_id": room_id, "guest_id": guest, "check_in": check_in, "check_out": check_out}
    reply = http.post("/reservations", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_registered_room_appears_in_the_view(http: httpx.Client) -> None:
    room_id = new_room(http, "h-view")
    view = eventually(lambda: room_view(http, room_id))
    assert (view["description"], view["room_status"], view["review_count"]) == ("Sea view", "available", 0)
    assert view["host_id"] == "h-view"


def test_reservation_confirms_reserves_and_notifies(http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(http, host)
    r = book(http, room_id, guest)
    rid = r["reservation_id"]

    final = {"room_status": "reserved", "reservation_status": "confirmed", "payment_status": "approved"}
    view = eventually(lambda: (v := room_view(http, room_id)).items() >= final.items() and v)
    assert (view["reservation_id"], view["payment_id"]) == (rid, r["payment_id"])
    assert http.get(f"/reservations/{rid}").json()["status"] == "confirmed"
    assert http.get(f"/rooms/{room_id}").json()["status"] == "reserved"
    to_guest = eventually(lambda: {m["event_type"] for m in messages(http, guest_id=guest)} >= {
        "ReservationConfirmed", "PaymentApproved"} and messages(http, guest_id=guest))  # fmt: skip
    assert all(m["reservation_id"] == rid for m in to_guest)
    to_host = messages(http, host_id=host, reservation_id=rid)
    assert [m["event_type"] for m in to_host] == ["ReservationConfirmed"]


def test_cancellation_refunds_once_and_frees_the_room(http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(http, host)
    r = book(http, room_id, guest)
    rid = r["reservation_id"]
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved")

    assert http.post(f"/reservations/{rid}:cancel", json={"guest_id": guest}).json()["status"] == "cancelled"
    again = http.post(f"/reservations/{rid}:cancel", json={"guest_id": guest})
    assert again.status_code == 400 and "already cancelled" in again.json()["message"]

    final = {"room_status": "available", "payment_status": "refunded", "reservation_status": "cancelled"}
    view = eventually(lambda: (v := room_view(http, room_id)).items() >= final.items() and v)
    assert view["reservation_id"] == rid
    assert http.get(f"/payments/{r['payment_id']}").json()["status"] == "refunded"
    assert [p["status"] for p in http.get("/payments", params={"reservation_id": rid}).json()["payments"]] == [
        "refunded"
    ]
    assert http.get(f"/rooms/{room_id}").json()["status"] == "available"
    kinds = eventually(lambda: (k := sorted(m["event_type"] for m in messages(http, guest_id=guest)))
                       and "PaymentRefunded" in k and k)  # fmt: skip
    assert kinds.count("PaymentRefunded") == 1 and kinds.count("ReservationCancelled") == 1
    assert "ReservationCancelled" in [m["event_type"] for m in messages(http, host_id=host, reservation_id=rid)]
    # the nights are free again
    assert book(http, room_id, f"g-{uuid.uuid4()}")["status"] == "approved"


def test_review_counts_in_room_and_view(http: httpx.Client) -> None:
    room_id = new_room(http, "h-rev")
    for rating in (4, 5):
        http.post("/reviews", json={"room_id": room_id, "guest_id": "g1", "rating": rating, "text": "ok"})
    assert http.get(f"/rooms/{room_id}").json()["review_count"] == 2
    eventually(lambda: room_view(http, room_id).get("review_count") == 2)


def test_every_service_logs_the_correlation_id(mesh: Mesh, http: httpx.Client) -> None:
    guest = f"g-{uuid.uuid4()}"
    room_id = new_room(http, "h-log")
    rid = book(http, room_id, guest)["reservation_id"]
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved")
    http.post(f"/reservations/{rid}:cancel", json={"guest_id": guest})
    eventually(lambda: room_view(http, room_id).get("room_status") == "available"
               and len(messages(http, reservation_id=rid)) >= 5)  # fmt: skip
    services = ["room", "reservation", "payment", "message", "view"]
    eventually(lambda: all(f'"correlation_id": "{rid}"' in mesh.log(f"{s}-0") for s in services))
