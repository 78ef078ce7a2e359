"""What the hostile-input suites share: a small world, every row of every service's database, quiet checks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

import grpc
import httpx

from tests.events_helpers import eventually, js, messages, room_view
from tests.harness import Mesh
from tests.test_events import confirmed_stay

SERVICES = ("room", "reservation", "payment", "message", "view")
STREAMS = ("ROOM", "RESERVATION", "PAYMENT")
HOST, GUEST = "h-hostile", "g-hostile"
LONG_ID = "x" * 65  # one character more than an id may have
PATH_LIKE = "../../etc/passwd"
UNICODE_ID = "방-1"  # ids are ASCII: they travel in gRPC metadata
FAR = 731  # days ahead: one more than BNB_MAX_DAYS_AHEAD's default
TOO_LARGE = "the request body is larger than 65536 bytes"
NOT_ISSUED = "invalid page_token: send the next_page_token of the page before"
SUBJECT_RULE = "the token's subject is not an id: at most 64 printable ASCII characters"
PRICE_RULE = "price_per_night must be between 1 and 100000000, got {}"
CONTROL_RULE = "{} must not contain control characters (tabs and line breaks are fine)"
# 2000 characters that JSON prints as 12 bytes each; it is 4 bytes each in UTF-8, 8,000 bytes in the request.
TAG_TEXT = "\U000e0001"
# Korean, emoji, quotes, SQL and HTML, a joiner, tabs and line breaks: everything must come back as it was sent.
VERBATIM = (
    "  한국의 방 👨\u200d👩\u200d👧 \"quoted\" 'single' `tick`\n'; DROP TABLE rooms; --\t<script>alert(1)</script>"
    " &amp; \\u0000 %00 {{room}} \U000e0001\r\n"
)


def id_rule(field: str) -> str:
    return f"{field} must be an id of at most 64 printable ASCII characters without spaces"


def days_ahead(days: int) -> str:
    return str(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days))


@dataclass(frozen=True)
class World:
    """A host's room, reserved and confirmed by a guest: real ids for the cases to aim at."""

    room_id: str
    reservation_id: str
    payment_id: str

    def fill(self, text: str) -> str:
        return text.format(room=self.room_id, reservation=self.reservation_id, payment=self.payment_id)


_WORLDS: dict[str, World] = {}


def world(mesh: Mesh, http: httpx.Client) -> World:
    """The world of this mesh, built once (the REST and gRPC suites share it), and the mesh settled."""
    if mesh.url not in _WORLDS:
        reply = http.post("/rooms", json={"description": "Hostile", "price_per_night": 100},
                          headers=mesh.headers(HOST, "host"))  # fmt: skip
        assert reply.status_code == 200, reply.text
        room_id = reply.json()["room_id"]
        stay = confirmed_stay(mesh, http, room_id, GUEST, check_in=days_ahead(30), check_out=days_ahead(32))
        # Every consumer that will ever see these events has bound (a late one would write rows afterwards).
        eventually(lambda: len(messages(mesh, http, guest_id=GUEST)) == 2 == len(messages(mesh, http, host_id=HOST)))
        final = {"room_status": "reserved", "reservation_status": "confirmed", "payment_status": "approved"}
        eventually(lambda: room_view(http, room_id).items() >= final.items())
        _WORLDS[mesh.url] = World(room_id, stay["reservation_id"], stay["payment_id"])
    eventually(lambda: settled(mesh), timeout_s=30)
    return _WORLDS[mesh.url]


def row_counts(mesh: Mesh) -> dict[str, int]:
    """The number of rows of every table of every service's SQLite file: what "nothing was written" compares."""
    counts = {}
    for service in SERVICES:
        path = mesh.cfg.data_dir / f"{service}.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                counts[f"{service}.{table}"] = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    return counts


def _unsent(mesh: Mesh) -> int:
    unsent = 0
    for service in ("room", "reservation", "payment"):
        with sqlite3.connect(f"file:{mesh.cfg.data_dir / f'{service}.db'}?mode=ro", uri=True, timeout=10) as conn:
            unsent += conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    return unsent


def settled(mesh: Mesh) -> bool:
    """Every event published and handled by every consumer: no row can appear unless a request writes one."""

    async def idle(jsm: Any) -> bool:
        for stream in STREAMS:
            for info in await jsm.consumers_info(stream):
                if info.num_pending or info.num_ack_pending:
                    return False
        return True

    return _unsent(mesh) == 0 and bool(js(mesh, idle))


def assert_nothing_written(mesh: Mesh, before: dict[str, int]) -> None:
    after = row_counts(mesh)
    assert after == before, {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def listings_answer(mesh: Mesh, http: httpx.Client, w: World) -> dict[str, int]:
    """The status of every REST listing, each at the largest page."""
    as_guest, as_host = mesh.headers(GUEST, "guest"), mesh.headers(HOST, "host")
    most = {"page_size": 100}
    return {
        "rooms": http.get("/rooms", params=most).status_code,
        "reviews": http.get("/reviews", params={**most, "room_id": w.room_id}).status_code,
        "roomviews": http.get("/roomviews", params=most).status_code,
        "reservations (guest)": http.get("/reservations", params=most, headers=as_guest).status_code,
        "reservations (host)": http.get("/reservations", params=most, headers=as_host).status_code,
        "payments": http.get("/payments", params=most, headers=as_guest).status_code,
        "messages (guest)": http.get("/messages", params=most, headers=as_guest).status_code,
        "messages (host)": http.get("/messages", params=most, headers=as_host).status_code,
    }


def call(mesh: Mesh, channel: grpc.Channel, service: str, method: str, request: Any, who: Any) -> Any:
    """The RPC at the edge: `request` a message, or raw bytes sent as they are."""
    metadata = None
    if who is not None:
        subject, role = (HOST, "host") if who == "host" else (GUEST, "guest") if who == "guest" else who
        metadata = mesh.auth(subject, role)
    raw = isinstance(request, bytes)
    rpc = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=(lambda b: b) if raw else type(request).SerializeToString,
        response_deserializer=lambda b: b,
    )
    return rpc(request, metadata=metadata, timeout=15)


def filled(request: Any, w: World) -> Any:
    """`request` with the world's ids in place of "{room}" and the like."""
    if isinstance(request, bytes):
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    for field, value in copy.ListFields():
        if isinstance(value, str) and "{" in value:
            setattr(copy, field.name, w.fill(value))
    return copy
