"""Every broken rule has one precise status: gRPC code, HTTP code and a JSON body at the edge; nothing written."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION = 3, 5, 6, 7, 9


def room(http: httpx.Client) -> str:
    reply = http.post("/rooms", json={"description": "Flat", "host_id": "h-err", "price_per_night": 100})
    return reply.json()["room_id"]


def assert_error(reply: httpx.Response, http_status: int, grpc_code: int, text: str) -> None:
    assert reply.status_code == http_status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["code"] == grpc_code, body
    assert text in body["message"], body


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"description": "", "host_id": "h1", "price_per_night": 10}, "description is required"),
        ({"description": "x", "host_id": "", "price_per_night": 10}, "host_id is required"),
        ({"description": "x", "host_id": "h1", "price_per_night": 0}, "price_per_night must be positive"),
    ],
)
def test_invalid_room_is_400(http: httpx.Client, body: dict, text: str) -> None:
    assert_error(http.post("/rooms", json=body), 400, INVALID_ARGUMENT, text)


def test_unknown_room_is_404(http: httpx.Client) -> None:
    assert_error(http.get(f"/rooms/{uuid.uuid4()}"), 404, NOT_FOUND, "not found")


def test_malformed_json_and_wrong_types_are_400_json(http: httpx.Client) -> None:
    assert_error(http.post("/rooms", content=b"{not json"), 400, INVALID_ARGUMENT, "")
    assert_error(http.post("/rooms", json={"price_per_night": "abc"}), 400, INVALID_ARGUMENT, "price_per_night")


def test_unknown_path_is_404_json(http: httpx.Client) -> None:
    assert_error(http.get("/nowhere"), 404, NOT_FOUND, "")


def test_internal_services_are_not_exposed(http: httpx.Client) -> None:
    reply = http.post("/bnb.room.v1.RoomHolds/HoldRoom", content=b"", headers={"content-type": "application/grpc"})
    # Envoy answers a gRPC request with gRPC: 404 becomes grpc-status 12 (UNIMPLEMENTED).
    assert reply.headers.get("grpc-status") == "12", reply.headers


@pytest.mark.parametrize(
    ("check_in", "check_out", "text"),
    [
        ("2031-01-05", "2031-01-05", "must be before"),
        ("2031-01-06", "2031-01-05", "must be before"),
        ("2020-01-01", "2020-01-03", "in the past"),
        ("tomorrow", "2031-01-03", "must be a date"),
    ],
)
def test_invalid_stay_is_400_and_writes_nothing(http: httpx.Client, check_in: str, check_out: str, text: str) -> None:
    guest = f"g-{uuid.uuid4()}"
    body = {"room_id": room(http), "guest_id": guest, "check_in": check_in, "check_out": check_out}
    assert_error(http.post("/reservations", json=body), 400, INVALID_ARGUMENT, text)
    assert http.get("/reservations", params={"guest_id": guest}).json()["reservations"] == []


def test_reservation_of_unknown_room_is_404_and_writes_nothing(http: httpx.Client) -> None:
    guest = f"g-{uuid.uuid4()}"
    body = {"room_id": str(uuid.uuid4()), "guest_id": guest, "check_in": "2031-02-01", "check_out": "2031-02-02"}
    assert_error(http.post("/reservations", json=body), 404, NOT_FOUND, "not found")
    assert http.get("/reservations", params={"guest_id": guest}).json()["reservations"] == []
    assert http.get("/payments", params={"guest_id": guest}).json()["payments"] == []


def test_missing_guest_is_400(http: httpx.Client) -> None:
    body = {"room_id": room(http), "check_in": "2031-02-01", "check_out": "2031-02-02"}
    assert_error(http.post("/reservations", json=body), 400, INVALID_ARGUMENT, "guest_id is required")


def test_rating_outside_1_to_5_is_400(http: httpx.Client) -> None:
    rid = room(http)
    for rating in (0, 6):
        body = {"room_id": rid, "guest_id": "g1", "rating": rating, "text": "meh"}
        assert_error(http.post("/reviews", json=body), 400, INVALID_ARGUMENT, "rating must be between 1 and 5")
    assert http.get("/reviews", params={"room_id": rid}).json()["reviews"] == []


def test_cancel_rules(http: httpx.Client) -> None:
    guest = f"g-{uuid.uuid4()}"
    start = dt.date(2032, 1, 1)
    body = {"room_id": room(http), "guest_id": guest, "check_in": str(start), "check_out": "2032-01-03"}
    reservation = http.post("/reservations", json=body).json()
    path = f"/reservations/{reservation['reservation_id']}:cancel"
    assert_error(http.post(path, json={"guest_id": "someone-else"}), 403, PERMISSION_DENIED, "not guest")
    cancelled = http.post(path, json={"guest_id": guest}).json()
    assert cancelled["status"] == "cancelled" and cancelled["created_at"] == reservation["created_at"] != ""
    assert_error(http.post(path, json={"guest_id": guest}), 400, FAILED_PRECONDITION, "already cancelled")
    assert_error(http.post(f"/reservations/{uuid.uuid4()}:cancel", json={"guest_id": guest}), 404, NOT_FOUND, "")


def test_per_guest_limit_is_429(http: httpx.Client) -> None:
    guest, rid = f"g-{uuid.uuid4()}", room(http)
    for i in range(10):  # MAX_RESERVATIONS_PER_GUEST defaults to 10
        day = dt.date(2033, 1, 1) + dt.timedelta(days=2 * i)
        body = {"room_id": rid, "guest_id": guest, "check_in": str(day), "check_out": str(day + dt.timedelta(1))}
        assert http.post("/reservations", json=body).status_code == 200
    body = {"room_id": rid, "guest_id": guest, "check_in": "2034-01-01", "check_out": "2034-01-02"}
    assert_error(http.post("/reservations", json=body), 429, 8, "at most 10 active reservations")
    assert len(http.get("/reservations", params={"guest_id": guest}).json()["reservations"]) == 10


def test_bad_paging_and_unknown_query_parameters_are_400(http: httpx.Client) -> None:
    assert_error(http.get("/rooms", params={"page_token": "%%%"}), 400, INVALID_ARGUMENT, "invalid page_token")
    assert_error(http.get("/rooms", params={"page_size": -1}), 400, INVALID_ARGUMENT, "page_size")
    assert_error(http.get("/rooms", params={"colour": "red"}), 400, INVALID_ARGUMENT, "")


def test_paging_walks_every_room_once(http: httpx.Client) -> None:
    host = f"h-{uuid.uuid4()}"
    made = {http.post("/rooms", json={"description": "P", "host_id": host, "price_per_night": 1}).json()["room_id"]
            for _ in range(5)}  # fmt: skip
    seen, token = [], ""
    while True:
        page = http.get("/rooms", params={"host_id": host, "page_size": 2, "page_token": token}).json()
        seen += [r["room_id"] for r in page["rooms"]]
        if not (token := page["next_page_token"]):
            break
    assert sorted(seen) == sorted(made)
