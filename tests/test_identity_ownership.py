"""Guests and hosts see and change only their own, over REST through the real edge; spoofing changes nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh
from tests.identity_helpers import World, build_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(mesh: Mesh, http: httpx.Client) -> World:
    return build_world(mesh, http, uuid.uuid4().hex[:8])


def code(reply: httpx.Response) -> int:
    return reply.json().get("code", 0) if reply.status_code != 200 else 0


def test_a_guest_lists_only_their_own(mesh: Mesh, http: httpx.Client, world: World) -> None:
    a = mesh.headers(world.a, "guest")
    assert [r["guest_id"] for r in http.get("/reservations", headers=a).json()["reservations"]] == [world.a]
    assert [p["guest_id"] for p in http.get("/payments", headers=a).json()["payments"]] == [world.a]
    messages = eventually(lambda: http.get("/messages", headers=a).json()["messages"])
    assert {(m["recipient_kind"], m["recipient_id"]) for m in messages} == {("guest", world.a)}
    for path in ("/reservations", "/payments", "/messages"):
        reply = http.get(path, params={"guest_id": world.b}, headers=a)
        assert (reply.status_code, code(reply)) == (403, 7), reply.text
    reply = http.get("/messages", params={"host_id": world.h1}, headers=a)
    assert reply.status_code == 403 and "is not you" in reply.json()["message"]


def test_someone_elses_reservation_or_payment_is_not_found(mesh: Mesh, http: httpx.Client, world: World) -> None:
    a, b = mesh.headers(world.a, "guest"), mesh.headers(world.b, "guest")
    theirs, missing = world.res_b["reservation_id"], str(uuid.uuid4())
    for path in (f"/reservations/{theirs}", f"/payments/{world.res_b['payment_id']}"):
        reply = http.get(path, headers=a)
        assert (reply.status_code, code(reply)) == (404, 5), reply.text
    # indistinguishable from one that does not exist
    other = http.get(f"/reservations/{missing}", headers=a).json()["message"]
    assert http.get(f"/reservations/{theirs}", headers=a).json()["message"] == other.replace(missing, theirs)
    reply = http.post(f"/reservations/{theirs}:cancel", json={}, headers=a)
    assert (reply.status_code, code(reply)) == (404, 5), reply.text
    assert http.get(f"/reservations/{theirs}", headers=b).json()["status"] == "confirmed"  # untouched


def test_a_host_sees_the_reservations_on_their_rooms_only(mesh: Mesh, http: httpx.Client, world: World) -> None:
    h1 = mesh.headers(world.h1, "host")
    listed = http.get("/reservations", headers=h1).json()["reservations"]
    assert [r["reservation_id"] for r in listed] == [world.res_a["reservation_id"]]
    by_room = http.get("/reservations", params={"room_id": world.room1}, headers=h1).json()["reservations"]
    assert [r["guest_id"] for r in by_room] == [world.a]
    assert http.get("/reservations", params={"room_id": world.room2}, headers=h1).json()["reservations"] == []
    assert http.get(f"/reservations/{world.res_a['reservation_id']}", headers=h1).status_code == 200
    assert code(http.get(f"/reservations/{world.res_b['reservation_id']}", headers=h1)) == 5
    assert code(http.get("/reservations", params={"host_id": world.h2}, headers=h1)) == 7
    messages = eventually(lambda: http.get("/messages", headers=h1).json()["messages"])
    assert {(m["recipient_kind"], m["recipient_id"]) for m in messages} == {("host", world.h1)}
    assert code(http.get("/payments", headers=h1)) == 7  # payments are the guests'


def test_roles_and_ids_in_bodies_are_checked(mesh: Mesh, http: httpx.Client, world: World) -> None:
    a, h1 = mesh.headers(world.a, "guest"), mesh.headers(world.h1, "host")
    host_before = http.get("/rooms", params={"host_id": world.h1}).json()["rooms"]
    stay = {"room_id": world.room1, "check_in": "2033-01-01", "check_out": "2033-01-02"}
    cases = [
        ("/rooms", {"description": "x", "price_per_night": 5}, a),  # a guest registering a room
        ("/rooms", {"description": "x", "price_per_night": 5, "host_id": world.h2}, h1),  # as another host
        ("/reservations", stay, h1),  # a host reserving
        ("/reservations", {**stay, "guest_id": world.b}, a),  # for another guest
        ("/reviews", {"room_id": world.room1, "rating": 5, "text": "x", "guest_id": world.b}, a),
    ]
    for path, body, headers in cases:
        reply = http.post(path, json=body, headers=headers)
        assert (reply.status_code, code(reply)) == (403, 7), (path, body, reply.text)
    assert http.get("/rooms", params={"host_id": world.h1}).json()["rooms"] == host_before
    assert len(http.get("/reservations", headers=a).json()["reservations"]) == 1


def test_spoofed_identity_headers_change_nothing(mesh: Mesh, http: httpx.Client, world: World) -> None:
    spoof = {"x-bnb-subject": world.b, "x-bnb-role": "guest", "x-bnb-via": "mesh"}
    reply = http.get("/reservations", headers=spoof)  # without a token
    assert reply.status_code == 401, reply.text
    as_a = http.get("/reservations", headers={**mesh.headers(world.a, "guest"), **spoof}).json()["reservations"]
    assert [r["guest_id"] for r in as_a] == [world.a]
    reply = http.get(f"/reservations/{world.res_b['reservation_id']}", headers={**mesh.headers(world.a, "guest"),
                                                                                 **spoof})  # fmt: skip
    assert reply.status_code == 404
    as_host = http.post("/rooms", json={"description": "x", "price_per_night": 5},
                        headers={**mesh.headers(world.a, "guest"), "x-bnb-role": "host"})  # fmt: skip
    assert as_host.status_code == 403, as_host.text


def test_a_review_needs_a_confirmed_stay_of_that_room(mesh: Mesh, http: httpx.Client, world: World) -> None:
    a, b = mesh.headers(world.a, "guest"), mesh.headers(world.b, "guest")
    review = {"room_id": world.room1, "rating": 5, "text": "Lovely"}
    reply = http.post("/reviews", json=review, headers=b)  # b stayed in room 2, not room 1
    assert (reply.status_code, code(reply)) == (400, 9), reply.text
    assert "no confirmed reservation" in reply.json()["message"]
    reply = http.post("/reviews", json=review, headers=a)
    assert reply.status_code == 200 and reply.json()["guest_id"] == world.a, reply.text
    assert [r["guest_id"] for r in http.get("/reviews", params={"room_id": world.room1}).json()["reviews"]] == [world.a]
