"""The dashboard's new APIs through the real edge: rooms free for a stay, each reservation's saga timeline
(for its guest and its room's host only), and the page itself served at / as a public route."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh
from tests.test_events import book, cancel, new_room

pytestmark = pytest.mark.integration
CONFIRMED = ["room held", "payment approved", "requested", "reservation confirmed", "room reserved"]


def free(http: httpx.Client, room_id: str, check_in: str, check_out: str) -> bool:
    reply = http.get("/rooms", params={"check_in": check_in, "check_out": check_out, "page_size": 100})
    assert reply.status_code == 200, reply.text
    return room_id in {room["room_id"] for room in reply.json()["rooms"]}


def timeline(mesh: Mesh, http: httpx.Client, rid: str, subject: str, role: str) -> httpx.Response:
    return http.get(f"/reservations/{rid}/timeline", headers=mesh.headers(subject, role))


def steps(mesh: Mesh, http: httpx.Client, rid: str, subject: str, role: str) -> list[str]:
    reply = timeline(mesh, http, rid, subject, role)
    return [s["step"] for s in reply.json()["steps"]] if reply.status_code == 200 else []


def test_a_search_by_stay_lists_rooms_free_every_night_check_out_exclusive(mesh: Mesh, http: httpx.Client) -> None:
    room_id = new_room(mesh, http, f"h-{uuid.uuid4()}")
    assert free(http, room_id, "2052-04-10", "2052-04-12")
    r = book(mesh, http, room_id, f"g-{uuid.uuid4()}", "2052-04-10", "2052-04-12")
    assert not free(http, room_id, "2052-04-10", "2052-04-12")
    assert not free(http, room_id, "2052-04-11", "2052-04-13"), "one night in common"
    assert free(http, room_id, "2052-04-12", "2052-04-14"), "the check-out day is free"
    assert free(http, room_id, "2052-04-08", "2052-04-10"), "leaving on the check-in day"
    assert cancel(mesh, http, r["reservation_id"], r["guest_id"]).status_code == 200
    eventually(lambda: free(http, room_id, "2052-04-10", "2052-04-12"))  # the refund releases the nights


def test_a_search_with_half_a_stay_is_a_400(http: httpx.Client) -> None:
    reply = http.get("/rooms", params={"check_in": "2052-04-10"})
    assert reply.status_code == 400 and "give both or neither" in reply.json()["message"]


def test_the_timeline_tells_each_step_with_its_time_and_service(mesh: Mesh, http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    r = book(mesh, http, new_room(mesh, http, host), guest, "2053-01-01", "2053-01-03")
    rid = r["reservation_id"]
    eventually(lambda: steps(mesh, http, rid, guest, "guest") == CONFIRMED)
    reply = timeline(mesh, http, rid, host, "host").json()
    assert reply["room_id"] == r["room_id"] and [s["step"] for s in reply["steps"]] == CONFIRMED
    assert [s["service"] for s in reply["steps"]] == ["room", "payment", "reservation", "reservation", "room"]
    assert all(s["at"] for s in reply["steps"]) and [s["at"] for s in reply["steps"]] == sorted(
        s["at"] for s in reply["steps"]
    )
    assert cancel(mesh, http, rid, guest).status_code == 200
    ended = [*CONFIRMED, "cancelled", "payment refunded", "room released"]
    eventually(lambda: sorted(steps(mesh, http, rid, guest, "guest")) == sorted(ended))


def test_the_timeline_is_only_for_the_guest_and_the_host(mesh: Mesh, http: httpx.Client) -> None:
    host, guest = f"h-{uuid.uuid4()}", f"g-{uuid.uuid4()}"
    rid = book(mesh, http, new_room(mesh, http, host), guest, "2054-01-01", "2054-01-03")["reservation_id"]
    eventually(lambda: steps(mesh, http, rid, guest, "guest") == CONFIRMED)
    assert steps(mesh, http, rid, host, "host") == CONFIRMED
    for subject, role in ((f"g-{uuid.uuid4()}", "guest"), (f"h-{uuid.uuid4()}", "host"), (host, "guest")):
        assert timeline(mesh, http, rid, subject, role).status_code == 404, (subject, role)
    anonymous = http.get(f"/reservations/{rid}/timeline")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 16
    # The reservation service still answers its own path beside the view's.
    assert http.get(f"/reservations/{rid}", headers=mesh.headers(guest, "guest")).json()["reservation_id"] == rid


def test_the_dashboard_is_served_at_the_edge_without_a_token(mesh: Mesh, http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/app.js">' in page.text
    script = http.get("/ui/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    users = http.get("/ui/demo-tokens.json").json()["users"]
    assert [(u["subject"], u["role"]) for u in users] == [
        ("h1", "host"),
        ("h2", "host"),
        ("g1", "guest"),
        ("g2", "guest"),
    ]
    who = http.get("/reservations", headers={"authorization": f"Bearer {users[2]['token']}"})
    assert who.status_code == 200, "a demo token works at this edge"
    assert http.post("/", json={}).status_code == 401, "only GET is public"
    assert http.get("/ui/missing.js").status_code == 404
