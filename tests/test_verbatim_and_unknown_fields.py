"""Text comes back exactly as it was sent, over REST and gRPC; unknown JSON fields in a body are dropped, knowingly."""

from __future__ import annotations

import json

import httpx
import pytest

from bnb.room.v1 import room_pb2 as rm
from bnb.room.v1 import room_pb2_grpc
from tests import hostile_helpers as h
from tests.events_helpers import eventually, messages, room_view
from tests.harness import Mesh

pytestmark = pytest.mark.integration

ROOM_FIELDS = {"room_id", "host_id", "description", "price_per_night", "status", "review_count", "created_at"}


def test_text_round_trips_verbatim_over_rest(quiet_mesh: Mesh, quiet_http: httpx.Client) -> None:
    w, http = h.world(quiet_mesh, quiet_http), quiet_http
    before = h.row_counts(quiet_mesh)
    body = json.dumps({"description": h.VERBATIM, "price_per_night": 100}, ensure_ascii=False).encode()
    made = http.post("/rooms", content=body, headers=quiet_mesh.headers(h.HOST, "host"))
    assert made.status_code == 200, made.text
    assert h.row_counts(quiet_mesh)["room.rooms"] == before["room.rooms"] + 1  # the counts do see a write
    room_id = made.json()["room_id"]
    stored = http.get(f"/rooms/{room_id}")
    assert stored.json()["description"] == h.VERBATIM == made.json()["description"]
    # protobuf's JSON printer escapes what an HTML page could trip on; a JSON parser reads the same text.
    assert "\\u003cscript\\u003e" in stored.text and "<script>" not in stored.text
    review = {"room_id": w.room_id, "rating": 4, "text": h.VERBATIM}
    posted = http.post("/reviews", json=review, headers=quiet_mesh.headers(h.GUEST, "guest"))
    assert posted.status_code == 200 and posted.json()["text"] == h.VERBATIM, posted.text
    listed = http.get("/reviews", params={"room_id": w.room_id}).json()["reviews"]
    assert [r["text"] for r in listed if r["review_id"] == posted.json()["review_id"]] == [h.VERBATIM]
    # ...and through the events, into the view and the host's notification
    assert eventually(lambda: room_view(http, room_id).get("description")) == h.VERBATIM
    expected = f'Your room {room_id} "{h.VERBATIM}" is registered.'
    eventually(lambda: expected in [m["text"] for m in messages(quiet_mesh, http, host_id=h.HOST)])


def test_text_round_trips_verbatim_over_grpc(quiet_mesh: Mesh, quiet_http: httpx.Client) -> None:
    h.world(quiet_mesh, quiet_http)
    with quiet_mesh.channel() as channel:
        stub = room_pb2_grpc.RoomServiceStub(channel)
        request = rm.RegisterRoomRequest(description=h.VERBATIM, price_per_night=100)
        made = stub.RegisterRoom(request, metadata=quiet_mesh.auth(h.HOST, "host"), timeout=10)
        again = stub.GetRoom(rm.GetRoomRequest(room_id=made.room_id), timeout=10)
    assert made.description == again.description == h.VERBATIM
    assert quiet_http.get(f"/rooms/{made.room_id}").json()["description"] == h.VERBATIM


def test_unknown_json_fields_are_dropped_and_a_repeated_key_keeps_its_last_value(
    quiet_mesh: Mesh, quiet_http: httpx.Client
) -> None:
    # Envoy's transcoder has no option to reject unknown body fields (envoy#46623): a misspelt field is ignored.
    # Unknown query parameters are refused (reject_unknown_query_parameters; see test_hostile_rest.py).
    h.world(quiet_mesh, quiet_http)
    body = b'{"description":"x","price_per_night":1,"colour":"red","extra":{"a":[1,{"b":null}]},"price_per_night":2}'
    made = quiet_http.post("/rooms", content=body, headers=quiet_mesh.headers(h.HOST, "host"))
    assert made.status_code == 200, made.text
    assert set(made.json()) == ROOM_FIELDS and made.json()["price_per_night"] == "2"  # int64 is a JSON string
    stored = quiet_http.get(f"/rooms/{made.json()['room_id']}").json()
    assert set(stored) == ROOM_FIELDS and (stored["description"], stored["price_per_night"]) == ("x", "2")
    misspelt = {"description": "x", "price_per_nigth": 5}  # the price is missing, and that is what the answer says
    refused = quiet_http.post("/rooms", json=misspelt, headers=quiet_mesh.headers(h.HOST, "host"))
    assert (refused.status_code, refused.json()["message"]) == (400, h.PRICE_RULE.format(0))
