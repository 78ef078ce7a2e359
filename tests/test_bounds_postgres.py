"""The longest valid inputs on PostgreSQL, whose columns have lengths and whose text may not hold a NUL byte."""

from __future__ import annotations

import json

import httpx
import pytest

from room_svc.domain import MAX_DESCRIPTION, MAX_PRICE, MAX_REVIEW_TEXT
from tests import hostile_helpers as h
from tests import test_postgres_mesh
from tests.events_helpers import eventually, room_view
from tests.harness import Mesh
from tests.test_events import confirmed_stay

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

HOST, GUEST = "H" * 64, "G" * 64  # the longest ids
WIDE = "\U0001f3e0"  # 4 bytes in UTF-8
pg_http = test_postgres_mesh.pg_http  # the fixture: the mesh on PostgreSQL, one database per service


def test_the_longest_valid_inputs_are_stored_on_postgres(pg_http: tuple[Mesh, httpx.Client]) -> None:
    mesh, http = pg_http
    as_host, as_guest = mesh.headers(HOST, "host"), mesh.headers(GUEST, "guest")
    room = {"description": h.VERBATIM + WIDE * (MAX_DESCRIPTION - len(h.VERBATIM)), "price_per_night": MAX_PRICE}
    made = http.post("/rooms", content=json.dumps(room, ensure_ascii=False).encode(), headers=as_host)
    assert made.status_code == 200, made.text
    room_id = made.json()["room_id"]
    assert http.get(f"/rooms/{room_id}").json()["description"] == room["description"]
    # A room id of the longest length names no room: 404, not a column too short for the pending reservation.
    longest = {"room_id": "r" * 64, "check_in": h.days_ahead(10), "check_out": h.days_ahead(11)}
    unknown = http.post("/reservations", json=longest, headers=as_guest)
    assert (unknown.status_code, unknown.json()["message"]) == (404, f"room {'r' * 64!r} not found")
    # The longest stay at the highest price: 365 x 100,000,000 needs a 64-bit amount.
    year = confirmed_stay(mesh, http, room_id, GUEST, check_in=h.days_ahead(300), check_out=h.days_ahead(665))
    assert year["amount"] == str(365 * MAX_PRICE) and year["guest_id"] == GUEST
    text = WIDE * MAX_REVIEW_TEXT
    review = http.post("/reviews", json={"room_id": room_id, "rating": 5, "text": text}, headers=as_guest)
    assert review.status_code == 200 and review.json()["text"] == text, review.text[:300]
    refused = http.post("/reviews", json={"room_id": room_id, "rating": 5, "text": "\x00"}, headers=as_guest)
    assert (refused.status_code, refused.json()["message"]) == (400, h.CONTROL_RULE.format("text"))
    assert eventually(lambda: room_view(http, room_id).get("review_count")) == 1
    assert room_view(http, room_id)["host_id"] == HOST
