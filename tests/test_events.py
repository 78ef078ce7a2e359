"""The saga's async half over the real NATS JetStream: every context and the view follow the events."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.events_helpers import eventually, messages, room_view
from tests.harness import Mesh

pytestmark = pytest.mark.integration


def new_room(mesh: Mesh, http: httpx.Client, host: str) -> str:
    """A room registered by `host` (signed in as that host: the body names no host)."""
    body = {"description": "Sea view", "price_per_night": 200}
    reply = http.post("/rooms", json=body, headers=mesh.headers(host, "host"))
    assert reply.status_code == 200, reply.text
    return reply.json()["room_id"]


def book(
    mesh: Mesh,
    http: httpx.Client,
    room_id: str,
    guest: str,
    check_in: str = "2038-02-01",
    check_out: str = "2038-02-03",
) -> dict:
    """A reservation made by `guest`, signed in as that guest: the reservation is the token's subject's."""
    body = {"room_id": room_id, "check_in": check_in, "check_out": check_out}
    reply = http.post("/reservations", json=body, headers=mesh.headers(guest, "guest"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["guest_id"] == guest
    return reply.json()


def reservation(mesh: Mesh, http: httpx.Client, rid: str, guest: str) -> dict:
    """The reservation as its guest sees it."""
    reply = http.get(f"/reservations/{rid}", headers=mesh.headers(guest, "guest"))
    assert reply.status_code == 200, reply.text
    return reply.json()


def cancel(mesh: Mesh, http: httpx.Client, rid: str, guest: str) -> httpx.Response:
    return http.post(f"/reservations/{rid}:cancel", json={}, headers=mesh.headers(guest, "guest"))


def confirmed_stay(mesh: Mesh, http: httpx.Client, room_id: str, guest: str, **stay: str) -> dict:
    """A reservation of `guest` that is confirmed and whose hold the room service has reserved: one to review."""
    r = book(mesh, http, room_id, guest, **stay)
    eventually(lambda: reservation(mesh, http, r["reservation_id"], guest)["status"] == "confirmed")
    eventually(lambda: http.get(f"/rooms/{room_id}").json()["status"] == "reserved")
    return r


def test_registered_room_appears_in_the_view(mesh: Mesh, http: httpx.Client) -> None:
    room_id = new_room(mesh, http, "h-view")
    view = eventually(lambda: room_view(http, room_id))
    assert (view["description"], view["room_status"], view["review_count"]) == ("Sea view", "available", 0)
    assert view["host_id"] == "h-view"  # the host the token named


def test_reservation_confirms_reserves_and_notifies(mesh: Mesh, http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    r = book(mesh, http, room_id, guest)
    rid = r["reservation_id"]

    final = {"room_status": "reserved", "reservation_status": "confirmed", "payment_status": "approved"}
    view = eventually(lambda: (v := room_view(http, room_id)).items() >= final.items() and v)
    assert (view["reservation_id"], view["payment_id"]) == (rid, r["payment_id"])
    assert reservation(mesh, http, rid, guest)["status"] == "confirmed"
    as_host = http.get(f"/reservations/{rid}", headers=mesh.headers(host, "host"))  # the host of its room
    assert as_host.status_code == 200 and as_host.json()["status"] == "confirmed", as_host.text
    assert http.get(f"/rooms/{room_id}").json()["status"] == "reserved"
    to_guest = eventually(lambda: {m["event_type"] for m in messages(mesh, http, guest_id=guest)} >= {
        "ReservationConfirmed", "PaymentApproved"} and messages(mesh, http, guest_id=guest))  # fmt: skip
    assert all(m["reservation_id"] == rid for m in to_guest)
    to_host = messages(mesh, http, host_id=host, reservation_id=rid)
    assert [m["event_type"] for m in to_host] == ["ReservationConfirmed"]


def test_cancellation_refunds_once_and_frees_the_room(mesh: Mesh, http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    r = book(mesh, http, room_id, guest)
    rid = r["reservation_id"]
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved")

    assert cancel(mesh, http, rid, guest).json()["status"] == "cancelled"
    again = cancel(mesh, http, rid, guest)
    assert again.status_code == 400 and "already cancelled" in again.json()["message"]

    final = {"room_status": "available", "payment_status": "refunded", "reservation_status": "cancelled"}
    view = eventually(lambda: (v := room_view(http, room_id)).items() >= final.items() and v)
    assert view["reservation_id"] == rid
    as_guest = mesh.headers(guest, "guest")
    assert http.get(f"/payments/{r['payment_id']}", headers=as_guest).json()["status"] == "refunded"
    payments = http.get("/payments", params={"reservation_id": rid}, headers=as_guest).json()["payments"]
    assert [p["status"] for p in payments] == ["refunded"]
    assert http.get(f"/rooms/{room_id}").json()["status"] == "available"
    # Each notification comes through its own producer's consumer, at its own pace: wait for both, then count.
    kinds = eventually(lambda: (k := sorted(m["event_type"] for m in messages(mesh, http, guest_id=guest)))
                       and {"PaymentRefunded", "ReservationCancelled"} <= set(k) and k)  # fmt: skip
    assert kinds.count("PaymentRefunded") == 1 and kinds.count("ReservationCancelled") == 1
    to_host = messages(mesh, http, host_id=host, reservation_id=rid)
    assert "ReservationCancelled" in [m["event_type"] for m in to_host]
    # the nights are free again
    assert book(mesh, http, room_id, f"g-{uuid.uuid4()}")["status"] == "approved"


def test_review_counts_in_room_and_view(mesh: Mesh, http: httpx.Client) -> None:
    room_id, guest = new_room(mesh, http, "h-rev"), f"g-{uuid.uuid4()}"
    confirmed_stay(mesh, http, room_id, guest)  # a review needs a confirmed stay
    for rating in (4, 5):
        body = {"room_id": room_id, "rating": rating, "text": "ok"}
        reply = http.post("/reviews", json=body, headers=mesh.headers(guest, "guest"))
        assert reply.status_code == 200 and reply.json()["guest_id"] == guest, reply.text
    assert http.get(f"/rooms/{room_id}").json()["review_count"] == 2
    eventually(lambda: room_view(http, room_id).get("review_count") == 2)


def test_every_service_logs_the_correlation_id(mesh: Mesh, http: httpx.Client) -> None:
    guest, host = f"g-{uuid.uuid4()}", f"h-{uuid.uuid4()}"
    room_id = new_room(mesh, http, host)
    rid = book(mesh, http, room_id, guest)["reservation_id"]
    eventually(lambda: room_view(http, room_id).get("room_status") == "reserved")
    assert cancel(mesh, http, rid, guest).status_code == 200

    def notified() -> int:  # the guest's (approved, confirmed, cancelled, refunded) and the host's
        both = [messages(mesh, http, guest_id=guest, reservation_id=rid),
                messages(mesh, http, host_id=host, reservation_id=rid)]  # fmt: skip
        return sum(map(len, both))

    eventually(lambda: room_view(http, room_id).get("room_status") == "available" and notified() >= 5)
    services = ["room", "reservation", "payment", "message", "view"]
    eventually(lambda: all(f'"correlation_id": "{rid}"' in mesh.log(f"{s}-0") for s in services))
