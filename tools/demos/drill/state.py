"""What the five databases and the streams hold about the drill's rooms, read directly (the drill's ground truth)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
from sqlalchemy import Connection, DateTime, bindparam, create_engine, text

from svckit import broker
from tools.demos.drill.watch import STREAMS, quiet

CHUNK = 500  # ids per IN (...) list
UNSETTLED = ("pending", "approved")  # a saga still running, or a paid reservation not yet confirmed


@dataclass
class State:
    """Rows about the drill's rooms, by service, and what is still pending anywhere."""

    rooms: dict[str, str] = field(default_factory=dict)  # room id -> room status
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)  # reservation id -> row
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # reservation id -> its payment rows
    holds: dict[str, str] = field(default_factory=dict)  # reservation id -> hold status
    nights: list[tuple[str, dt.date, str]] = field(default_factory=list)  # (room, night, reservation) held
    views: dict[str, str] = field(default_factory=dict)  # room id -> the view's room status
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # reservation id -> (status, payment status)
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (reservation, event type, recipient kind)
    unsent_messages: int = 0
    unsent_outbox: dict[str, int] = field(default_factory=dict)  # service -> outbox rows not yet published
    dead_letters: dict[str, int] = field(default_factory=dict)  # service -> dead letters since the drill began
    consumers_behind: dict[str, int] = field(default_factory=dict)  # consumer -> messages pending or unacked

    @property
    def pending(self) -> dict[str, int]:
        """Everything not yet settled, by what it is; empty when the mesh is at rest."""
        found = {
            "reservations pending or approved": sum(r["status"] in UNSETTLED for r in self.reservations.values()),
            "room holds still held": sum(status == "held" for status in self.holds.values()),
            "notifications unsent": self.unsent_messages,
            "outbox rows unpublished": sum(self.unsent_outbox.values()),
            "events not consumed": sum(n if n >= 0 else 1 for n in self.consumers_behind.values()),
        }  # fmt: skip
        return {what: n for what, n in found.items() if n}


def _rows(conn: Connection, query: str, ids: Sequence[str], **params: object) -> Iterable[Any]:
    statement = text(query).bindparams(bindparam("ids", expanding=True))
    for i in range(0, len(ids), CHUNK):
        yield from conn.execute(statement, {"ids": list(ids[i : i + CHUNK]), **params})


def read(urls: dict[str, str], room_ids: list[str], since: dt.datetime) -> State:
    """The databases' rows about `room_ids`; outbox and dead letters of every service (dead ones since `since`)."""
    state, engines = State(), {s: create_engine(url) for s, url in urls.items()}
    try:
        with engines["room"].connect() as c:
            state.rooms = dict(_rows(c, "SELECT room_id, status FROM rooms WHERE room_id IN :ids", room_ids))
            state.holds = dict(_rows(c, "SELECT reservation_id, status FROM holds WHERE room_id IN :ids", room_ids))
            found = _rows(c, "SELECT room_id, night, reservation_id FROM room_nights WHERE room_id IN :ids", room_ids)
            state.nights = [(r, n if isinstance(n, dt.date) else dt.date.fromisoformat(n), rid) for r, n, rid in found]
        with engines["reservation"].connect() as c:
            query = (
                "SELECT reservation_id, room_id, status, check_in, check_out, amount FROM reservations"
                " WHERE room_id IN :ids"
            )
            state.reservations = {row.reservation_id: row._asdict() for row in _rows(c, query, room_ids)}
        with engines["payment"].connect() as c:
            query = "SELECT reservation_id, payment_id, amount, status FROM payments WHERE room_id IN :ids"
            for row in _rows(c, query, room_ids):
                state.payments.setdefault(row.reservation_id, []).append(row._asdict())
        with engines["view"].connect() as c:
            state.views = dict(_rows(c, "SELECT room_id, room_status FROM room_views WHERE room_id IN :ids", room_ids))
            query = "SELECT reservation_id, status, payment_status FROM reservations_seen WHERE room_id IN :ids"
            state.seen = {rid: (status, paid) for rid, status, paid in _rows(c, query, room_ids)}
        about = sorted(set(state.reservations) | set(state.payments))
        with engines["message"].connect() as c:
            query = (
                "SELECT reservation_id, event_type, recipient_kind, sent_at FROM messages WHERE reservation_id IN :ids"
            )
            rows = list(_rows(c, query, about))
            state.messages = [(rid, kind, who) for rid, kind, who, _ in rows]
            state.unsent_messages = sum(sent is None for *_, sent in rows)
        for service, engine in engines.items():
            with engine.connect() as c:
                state.unsent_outbox[service] = c.execute(
                    text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                ).scalar_one()
                dead = text("SELECT count(*) FROM dead_letters WHERE created_at >= :since").bindparams(
                    bindparam("since", type_=DateTime(timezone=True))
                )
                state.dead_letters[service] = c.execute(dead, {"since": since}).scalar_one()
    finally:
        for engine in engines.values():
            engine.dispose()
    return state


async def consumers_behind(urls: str) -> dict[str, int]:
    """Every durable consumer's messages not yet delivered or not yet acked; -1 for a stream not answering."""
    nc = await nats.connect(broker.servers(urls), connect_timeout=2, max_reconnect_attempts=3, error_cb=quiet)
    behind: dict[str, int] = {}
    try:
        js = nc.jetstream(timeout=2)
        for stream in STREAMS:
            try:
                for info in await js.consumers_info(stream):
                    behind[info.name] = (info.num_pending or 0) + (info.num_ack_pending or 0)
            except Exception:
                behind[stream] = -1
    finally:
        await nc.close()
    return behind
