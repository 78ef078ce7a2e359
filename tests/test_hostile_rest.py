"""Hostile input over REST, through the real edge: each case its exact status and message, and not a row written."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests import hostile_helpers as h
from tests.harness import Mesh

pytestmark = pytest.mark.integration

B64 = base64.urlsafe_b64encode
ROOM = {"description": "x", "price_per_night": 1}
STAY = {"room_id": "{room}", "check_in": h.days_ahead(40), "check_out": h.days_ahead(41)}
REVIEW = {"room_id": "{room}", "rating": 5, "text": "ok"}
_EMPTY = '{"description":"","price_per_night":1}'


def _body_of(size: int) -> bytes:
    """A valid JSON body of exactly `size` bytes: a description that long, less the rest."""
    return _EMPTY.replace('""', '"' + "x" * (size - len(_EMPTY)) + '"').encode()


IDR = h.id_rule
# (case, method, path, request, who, HTTP status, gRPC code, message); "{room}" etc. name the world's ids.
CASES = [
    ("body over 64 KiB", "POST", "/rooms", {"content": _body_of(70_000)}, "host", 413, 8, h.TOO_LARGE),
    ("body of 64 KiB + 1", "POST", "/rooms", {"content": _body_of(65_537)}, "host", 413, 8, h.TOO_LARGE),
    ("body of exactly 64 KiB", "POST", "/rooms", {"content": _body_of(65_536)}, "host", 400, 3,
     "description may be at most 2000 characters, got 65498"),
    ("headers over 60 KiB", "GET", "/rooms", {"headers": {"x-padding": "p" * 70_000}}, None, 431, 8,
     "Request Header Fields Too Large"),
    ("description 2001", "POST", "/rooms", {"json": {**ROOM, "description": "d" * 2001}}, "host", 400, 3,
     "description may be at most 2000 characters, got 2001"),
    ("description NUL", "POST", "/rooms", {"json": {**ROOM, "description": "a\x00b"}}, "host", 400, 3,
     h.CONTROL_RULE.format("description")),
    ("description empty", "POST", "/rooms", {"json": {**ROOM, "description": ""}}, "host", 400, 3,
     "description is required"),
    ("description a number", "POST", "/rooms", {"json": {**ROOM, "description": 5}}, "host", 400, 3,
     "description: invalid value 5 for type TYPE_STRING"),
    ("price zero", "POST", "/rooms", {"json": {**ROOM, "price_per_night": 0}}, "host", 400, 3, h.PRICE_RULE.format(0)),
    ("price negative", "POST", "/rooms", {"json": {**ROOM, "price_per_night": -1}}, "host", 400, 3,
     h.PRICE_RULE.format(-1)),
    ("price 100000001", "POST", "/rooms", {"json": {**ROOM, "price_per_night": 100_000_001}}, "host", 400, 3,
     h.PRICE_RULE.format(100_000_001)),
    ("price int64 overflow", "POST", "/rooms", {"json": {**ROOM, "price_per_night": 2**63}}, "host", 400, 3,
     "price_per_night: invalid value 9223372036854775808 for type TYPE_INT64"),
    # The transcoder saturates a negative overflow to int64's minimum; the bound refuses it all the same.
    ("price negative int64 overflow", "POST", "/rooms", {"json": {**ROOM, "price_per_night": -(2**63) - 1}}, "host",
     400, 3, h.PRICE_RULE.format(-(2**63))),
    ("price a word", "POST", "/rooms", {"json": {**ROOM, "price_per_night": "abc"}}, "host", 400, 3,
     'price_per_night: invalid value "abc" for type TYPE_INT64'),
    ("price a boolean", "POST", "/rooms", {"json": {**ROOM, "price_per_night": True}}, "host", 400, 3,
     "price_per_night: invalid value true for type TYPE_INT64"),
    ("price a fraction", "POST", "/rooms", {"json": {**ROOM, "price_per_night": 1.5}}, "host", 400, 3,
     "price_per_night: invalid value 1.5 for type TYPE_INT64"),
    ("host id 10,000 chars", "POST", "/rooms", {"json": {**ROOM, "host_id": "h" * 10_000}}, "host", 400, 3,
     IDR("host_id")),
    ("host id with NUL", "POST", "/rooms", {"json": {**ROOM, "host_id": "h-hostile\x00"}}, "host", 400, 3,
     IDR("host_id")),
    ("token subject 65 chars", "POST", "/rooms", {"json": ROOM}, (h.LONG_ID, "host"), 401, 16, h.SUBJECT_RULE),
    ("token subject unicode", "POST", "/rooms", {"json": ROOM}, (h.UNICODE_ID, "host"), 401, 16, h.SUBJECT_RULE),
    ("malformed JSON", "POST", "/rooms", {"content": b"{not json"}, "host", 400, 3,
     "Expected : between key:value pair.\n{not json\n     ^"),
    ("JSON array", "POST", "/rooms", {"content": b"[1]"}, "host", 400, 3, ": Root element must be a message."),
    ("lone surrogate", "POST", "/rooms", {"content": b'{"description":"\\ud800","price_per_night":1}'}, "host", 400,
     3, 'Missing low surrogate.\n{"description":"\\ud800","price_per_n\n                ^'),
    ("not UTF-8", "POST", "/rooms", {"content": b"\xff\xfe"}, "host", 400, 3,
     "Encountered non UTF-8 code points.\n\xff\xfe\n^"),
    ("unknown query parameter", "POST", "/rooms", {"json": ROOM, "params": {"colour": "red"}}, "host", 400, 3,
     'Could not find field "colour" in the type "bnb.room.v1.RegisterRoomRequest".'),
    ("review text 4001", "POST", "/reviews", {"json": {**REVIEW, "text": "t" * 4001}}, "guest", 400, 3,
     "text may be at most 4000 characters, got 4001"),
    ("review text bell", "POST", "/reviews", {"json": {**REVIEW, "text": "ding\x07"}}, "guest", 400, 3,
     h.CONTROL_RULE.format("text")),
    ("rating zero", "POST", "/reviews", {"json": {**REVIEW, "rating": 0}}, "guest", 400, 3,
     "rating must be between 1 and 5, got 0"),
    ("rating negative", "POST", "/reviews", {"json": {**REVIEW, "rating": -1}}, "guest", 400, 3,
     "rating must be between 1 and 5, got -1"),
    ("rating a word", "POST", "/reviews", {"json": {**REVIEW, "rating": "five"}}, "guest", 400, 3,
     'rating: invalid value "five" for type TYPE_INT32'),
    ("rating int32 overflow", "POST", "/reviews", {"json": {**REVIEW, "rating": 2**31}}, "guest", 400, 3,
     "rating: invalid value 2147483648 for type TYPE_INT32"),
    ("review room 65 chars", "POST", "/reviews", {"json": {**REVIEW, "room_id": h.LONG_ID}}, "guest", 400, 3,
     IDR("room_id")),
    ("review room empty", "POST", "/reviews", {"json": {**REVIEW, "room_id": ""}}, "guest", 400, 3,
     "room_id is required"),
    ("impossible date", "POST", "/reservations", {"json": {**STAY, "check_in": "2031-02-30"}}, "guest", 400, 3,
     "check_in must be a date YYYY-MM-DD, got '2031-02-30'"),
    ("date without dashes", "POST", "/reservations", {"json": {**STAY, "check_in": "20310110"}}, "guest", 400, 3,
     "check_in must be a date YYYY-MM-DD, got '20310110'"),
    ("date a number", "POST", "/reservations", {"json": {**STAY, "check_in": 20310110}}, "guest", 400, 3,
     "check_in: invalid value 20310110 for type TYPE_STRING"),
    ("check-in 731 days ahead", "POST", "/reservations",
     {"json": {**STAY, "check_in": h.days_ahead(h.FAR), "check_out": h.days_ahead(h.FAR + 1)}}, "guest", 400, 3,
     f"check_in {h.days_ahead(h.FAR)} is more than 730 days ahead"),
    ("check-in 20 years ahead", "POST", "/reservations",
     {"json": {**STAY, "check_in": h.days_ahead(7305), "check_out": h.days_ahead(7306)}}, "guest", 400, 3,
     f"check_in {h.days_ahead(7305)} is more than 730 days ahead"),
    ("366 nights", "POST", "/reservations", {"json": {**STAY, "check_out": h.days_ahead(40 + 366)}}, "guest", 400, 3,
     "a stay may last at most 365 nights"),
    ("check-in in the past", "POST", "/reservations", {"json": {**STAY, "check_in": "2020-01-01"}}, "guest", 400, 3,
     "check_in 2020-01-01 is in the past"),
    ("path-like room", "POST", "/reservations", {"json": {**STAY, "room_id": h.PATH_LIKE}}, "guest", 404, 5,
     f"room {h.PATH_LIKE!r} not found"),
    ("unicode room", "POST", "/reservations", {"json": {**STAY, "room_id": h.UNICODE_ID}}, "guest", 400, 3,
     IDR("room_id")),
    ("room empty", "POST", "/reservations", {"json": {**STAY, "room_id": ""}}, "guest", 400, 3, "room_id is required"),
    ("guest id 65 chars", "POST", "/reservations", {"json": {**STAY, "guest_id": h.LONG_ID}}, "guest", 400, 3,
     IDR("guest_id")),
    ("get room 65 chars", "GET", f"/rooms/{h.LONG_ID}", {}, None, 400, 3, IDR("room_id")),
    ("get room unicode", "GET", "/rooms/%EB%B0%A9-1", {}, None, 400, 3, IDR("room_id")),
    ("get room path-like", "GET", "/rooms/..%2F..%2Fetc%2Fpasswd", {}, None, 404, 5, f"room {h.PATH_LIKE!r} not found"),
    ("get room NUL", "GET", "/rooms/%00", {}, None, 400, 3, IDR("room_id")),
    ("rooms page size negative", "GET", "/rooms", {"params": {"page_size": -1}}, None, 400, 3,
     "page_size must not be negative"),
    ("rooms page size int32 overflow", "GET", "/rooms", {"params": {"page_size": 2**35}}, None, 400, 3,
     'page_size: invalid value "34359738368" for type TYPE_INT32'),
    ("rooms forged token -5", "GET", "/rooms", {"params": {"page_token": B64(b"-5")}}, None, 400, 3, h.NOT_ISSUED),
    ("rooms forged token 10^30", "GET", "/rooms", {"params": {"page_token": B64(b"1" + b"0" * 30)}}, None, 400, 3,
     h.NOT_ISSUED),
    ("rooms host NUL", "GET", "/rooms", {"params": {"host_id": "h\x00"}}, None, 400, 3, IDR("host_id")),
    ("reviews room 65 chars", "GET", "/reviews", {"params": {"room_id": h.LONG_ID}}, None, 400, 3, IDR("room_id")),
    ("reviews forged token", "GET", "/reviews", {"params": {"page_token": "%%%"}}, None, 400, 3, h.NOT_ISSUED),
    ("reservations room NUL", "GET", "/reservations", {"params": {"room_id": "\x00"}}, "guest", 400, 3,
     IDR("room_id")),
    ("reservations guest 65", "GET", "/reservations", {"params": {"guest_id": h.LONG_ID}}, "guest", 400, 3,
     IDR("guest_id")),
    ("reservations page size", "GET", "/reservations", {"params": {"page_size": -5}}, "host", 400, 3,
     "page_size must not be negative"),
    ("get reservation 65", "GET", f"/reservations/{h.LONG_ID}", {}, "guest", 400, 3, IDR("reservation_id")),
    ("get reservation unicode", "GET", "/reservations/%E2%9C%93", {}, "guest", 400, 3, IDR("reservation_id")),
    ("cancel guest a number", "POST", "/reservations/{reservation}:cancel", {"json": {"guest_id": 5}}, "guest", 400,
     3, "guest_id: invalid value 5 for type TYPE_STRING"),
    ("cancel 65 chars", "POST", f"/reservations/{h.LONG_ID}:cancel", {"json": {}}, "guest", 400, 3,
     IDR("reservation_id")),
    ("get payment 65", "GET", f"/payments/{h.LONG_ID}", {}, "guest", 400, 3, IDR("payment_id")),
    ("payments reservation space", "GET", "/payments?reservation_id=a%20b", {}, "guest", 400, 3,
     IDR("reservation_id")),  # not params: httpx would send "a+b", a valid id (the transcoder keeps "+")
    ("payments forged token", "GET", "/payments", {"params": {"page_token": B64(b"1e3")}}, "guest", 400, 3,
     h.NOT_ISSUED),
    ("messages reservation 65", "GET", "/messages", {"params": {"reservation_id": h.LONG_ID}}, "host", 400, 3,
     IDR("reservation_id")),
    ("messages page size", "GET", "/messages", {"params": {"page_size": -1}}, "guest", 400, 3,
     "page_size must not be negative"),
    ("get room view 65", "GET", f"/roomviews/{h.LONG_ID}", {}, None, 400, 3, IDR("room_id")),
    ("room views forged token", "GET", "/roomviews", {"params": {"page_token": B64(b"\xff")}}, None, 400, 3,
     h.NOT_ISSUED),
    ("room views page size a word", "GET", "/roomviews", {"params": {"page_size": "abc"}}, None, 400, 3,
     'page_size: invalid value "abc" for type TYPE_INT32'),
]  # fmt: skip


def _filled(value: Any, w: h.World) -> Any:
    if isinstance(value, str):
        return w.fill(value) if "{" in value else value
    if isinstance(value, dict):
        return {k: _filled(v, w) for k, v in value.items()}
    return value


def send(mesh: Mesh, http: httpx.Client, method: str, path: str, request: dict, who: Any) -> httpx.Response:
    w = h.world(mesh, http)
    headers = {}
    if who is not None:
        subject, role = (h.HOST, "host") if who == "host" else (h.GUEST, "guest") if who == "guest" else who
        headers = mesh.headers(subject, role)
    kwargs = {k: _filled(v, w) for k, v in request.items()}
    headers.update(kwargs.pop("headers", {}))
    if "json" in kwargs:  # raw UTF-8, as most clients send it (json escapes a NUL itself)
        kwargs["content"] = json.dumps(kwargs.pop("json"), ensure_ascii=False).encode()
    return http.request(method, w.fill(path), headers=headers, **kwargs)


@pytest.mark.parametrize(("case", "method", "path", "request_", "who", "status", "code", "message"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_hostile_request_gets_its_exact_answer_and_writes_nothing(
    quiet_mesh: Mesh, quiet_http: httpx.Client, case: str, method: str, path: str, request_: dict, who: Any,
    status: int, code: int, message: str,
) -> None:  # fmt: skip
    h.world(quiet_mesh, quiet_http)
    before = h.row_counts(quiet_mesh)
    reply = send(quiet_mesh, quiet_http, method, path, request_, who)
    assert (reply.status_code, reply.headers["content-type"]) == (status, "application/json"), reply.text
    assert (reply.json()["code"], reply.json()["message"]) == (code, message)
    h.assert_nothing_written(quiet_mesh, before)


@pytest.mark.parametrize("size", [65_537, 70_000])
def test_a_body_over_64_kib_in_small_pieces_gets_413_too(quiet_mesh: Mesh, quiet_http: httpx.Client, size: int) -> None:
    """Chunked, 1 KiB at a time: the transcoder alone let such a body through to the service (429)."""
    h.world(quiet_mesh, quiet_http)
    before = h.row_counts(quiet_mesh)
    body = _body_of(size)
    pieces = (body[i : i + 1024] for i in range(0, size, 1024))
    reply = quiet_http.post("/rooms", content=pieces, headers=quiet_mesh.headers(h.HOST, "host"))
    assert (reply.status_code, reply.json()["code"], reply.json()["message"]) == (413, 8, h.TOO_LARGE)
    h.assert_nothing_written(quiet_mesh, before)


def test_every_listing_still_answers_200_after_the_suite(quiet_mesh: Mesh, quiet_http: httpx.Client) -> None:
    statuses = h.listings_answer(quiet_mesh, quiet_http, h.world(quiet_mesh, quiet_http))
    assert set(statuses.values()) == {200}, statuses
