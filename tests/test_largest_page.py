"""No reply can outgrow the edge's buffer: the largest possible page, computed, then stored and read over REST."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import httpx
import pytest

from bnb.message.v1 import message_pb2 as msg
from bnb.payment.v1 import payment_pb2 as pay
from bnb.reservation.v1 import reservation_pb2 as res
from bnb.room.v1 import room_pb2 as rm
from bnb.room.v1 import room_pb2_grpc
from bnb.view.v1 import view_pb2 as vw
from message_svc.domain import TEMPLATES
from room_svc.domain import MAX_DESCRIPTION, MAX_PRICE, MAX_REVIEW_TEXT
from svckit.ids import MAX_ID_LENGTH
from svckit.paging import MAX_PAGE_SIZE, next_token
from tests.events_helpers import eventually, messages
from tests.harness import Mesh
from tests.hostile_helpers import days_ahead
from tests.test_events import confirmed_stay
from tools.render.envoy_filters import MAX_RESPONSE_BYTES

pytestmark = pytest.mark.integration

# The widest character: 4 bytes in UTF-8 and protobuf, 12 in protobuf's JSON ("\udb40\udc01"). A control
# character would be 6 in JSON but 1 in protobuf, and texts may not hold one.
WIDEST = "\U000e0001"
ID = "<" * MAX_ID_LENGTH  # ids are ASCII: one byte each in protobuf, six in JSON ("\u003c")
UUID, TIME = str(uuid.UUID(int=0)), "2026-12-01T23:09:58.013688+00:00"
INT32, INT64 = 2**31 - 1, 2**63 - 1
TOKEN = next_token(MAX_PAGE_SIZE, 999_999_999 - MAX_PAGE_SIZE, MAX_PAGE_SIZE)
GRPC_FRAME = 5  # bytes before each gRPC message


def longest_notification_text() -> str:
    fields = {"description": WIDEST * MAX_DESCRIPTION, "text": WIDEST * MAX_REVIEW_TEXT, "rating": INT32,
              "amount": INT64, **{f: ID for f in ("room_id", "reservation_id", "guest_id", "host_id")}}  # fmt: skip
    event = SimpleNamespace(**fields)
    return max((template.format(e=event) for made in TEMPLATES.values() for _, template in made), key=len)


def largest_pages() -> dict[str, int]:
    """Each listing's largest page in bytes of protobuf: what the transcoder buffers before it writes JSON."""
    room = rm.Room(room_id=UUID, host_id=ID, description=WIDEST * MAX_DESCRIPTION, price_per_night=MAX_PRICE,
                   status="available", review_count=INT32, created_at=TIME)  # fmt: skip
    review = rm.Review(review_id=UUID, room_id=UUID, guest_id=ID, rating=5, text=WIDEST * MAX_REVIEW_TEXT,
                       created_at=TIME)  # fmt: skip
    view = vw.RoomView(room_id=UUID, description=WIDEST * MAX_DESCRIPTION, room_status="available",
                       review_count=INT32, reservation_id=UUID, reservation_status="cancelled", payment_id=UUID,
                       payment_status="refunded", updated_at=TIME, host_id=ID)  # fmt: skip
    note = msg.Notification(message_id=UUID, event_id=UUID, event_type="ReservationConfirmed", reservation_id=UUID,
                            recipient_kind="guest", recipient_id=ID, text=longest_notification_text(),
                            created_at=TIME)  # fmt: skip
    reservation = res.Reservation(reservation_id=UUID, room_id=ID, guest_id=ID, host_id=ID, check_in="2030-01-01",
                                  check_out="2030-12-31", status="confirmed", payment_id=UUID, amount=365 * MAX_PRICE,
                                  created_at=TIME)  # fmt: skip
    payment = pay.Payment(payment_id=UUID, reservation_id=UUID, guest_id=ID, room_id=ID, amount=365 * MAX_PRICE,
                          status="refunded", created_at=TIME)  # fmt: skip
    n = MAX_PAGE_SIZE
    pages = {
        "ListRooms": rm.ListRoomsResponse(rooms=[room] * n, next_page_token=TOKEN),
        "ListReviews": rm.ListReviewsResponse(reviews=[review] * n, next_page_token=TOKEN),
        "ListRoomViews": vw.ListRoomViewsResponse(room_views=[view] * n, next_page_token=TOKEN),
        "ListMessages": msg.ListMessagesResponse(messages=[note] * n, next_page_token=TOKEN),
        "ListReservations": res.ListReservationsResponse(reservations=[reservation] * n, next_page_token=TOKEN),
        "ListPayments": pay.ListPaymentsResponse(payments=[payment] * n, next_page_token=TOKEN),
    }
    return {name: page.ByteSize() + GRPC_FRAME for name, page in pages.items()}


def test_the_largest_page_fits_the_transcoders_buffer_and_envoys_default_would_not() -> None:
    pages = largest_pages()
    assert max(pages.values()) <= MAX_RESPONSE_BYTES // 2, pages  # room to spare
    assert max(pages.values()) > 1024 * 1024, pages  # Envoy's default buffer, 1 MiB: a 500 for everyone


def test_the_largest_pages_are_stored_and_read_through_the_edge(mesh: Mesh, http: httpx.Client) -> None:
    host_a, host_b, guest = "<" * 64, "<" * 63 + "b", ">" * 64
    as_a, as_b, as_guest = mesh.headers(host_a, "host"), mesh.headers(host_b, "host"), mesh.headers(guest, "guest")
    description, text = WIDEST * MAX_DESCRIPTION, WIDEST * MAX_REVIEW_TEXT
    widest_room = {"description": description, "price_per_night": MAX_PRICE}
    for _ in range(MAX_PAGE_SIZE + 1):
        assert http.post("/rooms", json=widest_room, headers=as_a).status_code == 200
    room_b = http.post("/rooms", json=widest_room, headers=as_b).json()["room_id"]
    confirmed_stay(mesh, http, room_b, guest, check_in=days_ahead(60), check_out=days_ahead(62))
    for _ in range(MAX_PAGE_SIZE):
        made = http.post("/reviews", json={"room_id": room_b, "rating": 5, "text": text}, headers=as_guest)
        assert made.status_code == 200, made.text

    reviews = http.get("/reviews", params={"room_id": room_b, "page_size": MAX_PAGE_SIZE}, timeout=30)
    assert reviews.status_code == 200, reviews.text[:300]
    assert [r["text"] for r in reviews.json()["reviews"]] == [text] * MAX_PAGE_SIZE
    assert len(reviews.content) > 4_800_000  # 100 x 4,000 x 12 bytes of JSON, read whole
    with mesh.channel() as channel:
        stub = room_pb2_grpc.RoomServiceStub(channel)
        as_grpc = stub.ListReviews(rm.ListReviewsRequest(room_id=room_b, page_size=MAX_PAGE_SIZE), timeout=30)
        # The stored page is the largest, byte for byte, but for its (shorter) next_page_token.
        stored = as_grpc.ByteSize() + GRPC_FRAME - len(as_grpc.next_page_token)
        assert stored == largest_pages()["ListReviews"] - len(TOKEN)
        clamped = stub.ListRooms(rm.ListRoomsRequest(host_id=host_a, page_size=2**31 - 1), timeout=30)
        assert len(clamped.rooms) == MAX_PAGE_SIZE
    rooms = http.get("/rooms", params={"host_id": host_a, "page_size": 10**6}, timeout=30)  # clamped to 100
    assert rooms.status_code == 200 and len(rooms.json()["rooms"]) == MAX_PAGE_SIZE, rooms.text[:300]
    assert {r["description"] for r in rooms.json()["rooms"]} == {description}
    rest = http.get("/rooms", params={"host_id": host_a, "page_token": rooms.json()["next_page_token"]}).json()
    assert len(rest["rooms"]) == 1

    def host_b_told() -> list[dict]:
        return [m for m in messages(mesh, http, host_id=host_b) if m["event_type"] == "ReviewCreated"]

    assert len(eventually(lambda: len(host_b_told()) >= MAX_PAGE_SIZE - 2 and host_b_told())) >= MAX_PAGE_SIZE - 2
    page = http.get("/messages", params={"page_size": MAX_PAGE_SIZE}, headers=as_b, timeout=30)
    assert page.status_code == 200 and len(page.json()["messages"]) == MAX_PAGE_SIZE, page.text[:300]
    eventually(lambda: _all_room_views(http) >= MAX_PAGE_SIZE + 2)


def _all_room_views(http: httpx.Client) -> int:
    """How many room views there are, read page by page at the largest page: every page answers 200."""
    seen, token = 0, ""
    while True:
        reply = http.get("/roomviews", params={"page_size": MAX_PAGE_SIZE, "page_token": token}, timeout=30)
        assert reply.status_code == 200, reply.text[:300]
        seen += len(reply.json()["room_views"])
        if not (token := reply.json()["next_page_token"]):
            return seen
