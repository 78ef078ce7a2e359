"""The trace context rides with an event: outbox row, relay headers, and a span per consumed event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sqlalchemy import select

from room_svc.domain import RoomRegistered
from svckit import events, grpctracing, migrate, tracing
from svckit.config import Settings
from svckit.db import Database
from svckit.inbox import handle, handle_batch
from svckit.outbox import OutboxRelay
from svckit.policies import Subscription
from svckit.retries import RetryLater
from svckit.tables import outbox
from svckit.uow import Committed, UnitOfWork


class FakeJetStream:
    """Takes every publish and acks it at once, keeping what it was given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish_async(self, subject: str, data: bytes, headers: dict[str, str]) -> asyncio.Future:
        self.published.append((subject, data, headers))
        ack = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/room.db", producer="room")
    migrate.upgrade(database, "room_svc")
    return database


def register(db: Database, room_id: str) -> list[Committed]:
    handed: list[Committed] = []
    db.on_commit.append(handed.extend)
    with db.uow() as uow:
        uow.emit(RoomRegistered(room_id, "h1", "House", 100, "available"), aggregate_id=room_id)
        uow.commit()
    db.on_commit.remove(handed.extend)
    return handed


def ids(span: Any) -> tuple[int, int]:
    return span.get_span_context().trace_id, span.get_span_context().span_id


def test_the_outbox_row_and_the_handoff_carry_the_writers_trace_context(db: Database, spans: Any) -> None:
    with spans.tracer.start_as_current_span("request") as request:
        (handed,) = register(db, "room-1")
    trace_id, span_id = ids(request)
    expected = ["00", f"{trace_id:032x}", f"{span_id:016x}"]
    with db.read() as conn:
        assert conn.execute(select(outbox.c.traceparent)).scalar_one().split("-")[:3] == expected
    assert (handed[3] or "").split("-")[:3] == expected  # the in-memory handoff from commit carries it too


def test_the_relay_sends_the_writers_trace_context_as_a_header(db: Database, spans: Any) -> None:
    with spans.tracer.start_as_current_span("request") as request:
        register(db, "room-1")
    js = FakeJetStream()

    async def relay() -> None:
        await OutboxRelay(db, js).relay_once()  # type: ignore[arg-type]

    asyncio.run(relay())
    ((subject, _, headers),) = js.published
    flags = request.get_span_context().trace_flags
    assert headers["traceparent"] == f"00-{ids(request)[0]:032x}-{ids(request)[1]:016x}-{flags:02x}"  # its children
    assert [s.name for s in spans.get_finished_spans()] == ["request"]  # the relay records no span of its own
    assert headers["Nats-Msg-Id"] and subject == events.subject("room", "RoomRegistered")


def test_each_event_of_a_batch_is_a_child_of_its_own_producer(tmp_path: Path, spans: Any) -> None:
    view = Database(f"sqlite:///{tmp_path}/view.db", producer="view")
    migrate.upgrade(view, "view_svc")
    seen: list[tuple[str, int]] = []

    def policy(uow: UnitOfWork, event: Any, envelope: events.EventEnvelope) -> None:
        seen.append((envelope.event_id, tracing.current().get_span_context().trace_id))

    items: list[Any] = []
    parents: dict[str, Any] = {}
    producers: dict[str, Any] = {}
    for room_id in ("room-1", "room-2"):  # two requests, two traces, one batch
        envelope = events.envelope(RoomRegistered(room_id, "h1", "Loft", 100, "available"), producer="room",
                                   aggregate_id=room_id)  # fmt: skip
        with spans.tracer.start_as_current_span(f"publish {room_id}") as producer:
            parents[envelope.event_id] = tracing.traceparent()
        producers[envelope.event_id] = ids(producer)
        items.append((envelope.SerializeToString(), events.subject("room", "RoomRegistered"), len(items) + 1))
    sub = Subscription("view-room-test", "room", {"RoomRegistered": policy})
    assert handle_batch(view, sub, items, parents) == ["done", "done"]
    consumed = {
        s.attributes["messaging.message.id"]: s for s in spans.get_finished_spans() if s.kind.name == "CONSUMER"
    }
    assert set(consumed) == set(producers)
    for event_id, (trace_id, span_id) in producers.items():
        span = consumed[event_id]
        assert (span.context.trace_id, span.parent.span_id) == (trace_id, span_id)
        assert (event_id, trace_id) in seen  # the handler ran inside its own event's span


def test_an_event_that_must_wait_is_an_outcome_of_its_span_and_a_failure_is_a_fault(tmp_path: Path, spans: Any) -> None:
    view = Database(f"sqlite:///{tmp_path}/view.db", producer="view")
    migrate.upgrade(view, "view_svc")

    def policy(uow: UnitOfWork, event: Any, envelope: events.EventEnvelope) -> None:
        if event.room_id == "room-early":
            raise RetryLater("its room is not in the view yet")
        if event.room_id == "room-broken":
            raise ValueError("no such column")

    def registered(room_id: str) -> bytes:
        event = RoomRegistered(room_id, "h1", "Loft", 100, "available")
        return events.envelope(event, producer="room", aggregate_id=room_id).SerializeToString()

    items = [(registered(room_id), "room.RoomRegistered", seq) for seq, room_id in enumerate(("room-early", "room-1"))]
    sub = Subscription("view-room-test", "room", {"RoomRegistered": policy})
    waited, done = handle_batch(view, sub, items, {})
    assert isinstance(waited, RetryLater) and done == "done"
    early, handled = spans.get_finished_spans()
    assert (early.status.status_code, list(early.events)) == (StatusCode.UNSET, [])  # not an error; no traceback
    assert early.attributes["bnb.outcome"] == "RetryLater: its room is not in the view yet"
    assert "bnb.outcome" not in handled.attributes and handled.status.status_code is StatusCode.UNSET

    with pytest.raises(ValueError):
        handle(view, sub, registered("room-broken"), "room.RoomRegistered", 3)
    failed = spans.get_finished_spans()[-1]
    assert failed.status.status_code is StatusCode.ERROR and [e.name for e in failed.events] == ["exception"]


def test_nothing_is_traced_without_an_endpoint(db: Database) -> None:
    settings = Settings.from_env("room", {})
    assert settings.otlp_endpoint == ""
    tracing.setup(settings.service, settings.otlp_endpoint)
    assert (tracing.enabled, grpctracing.server_wraps()) == (False, [])
    with grpctracing.client("/bnb.room.v1.RoomHolds/HoldRoom") as carried:
        assert carried == ()  # no span, nothing added to the call's metadata
    (handed,) = register(db, "room-1")
    assert handed[3] is None and tracing.trace_id() == ""
    with db.read() as conn:
        assert conn.execute(select(outbox.c.traceparent)).scalar_one() is None


@pytest.mark.parametrize(
    "parent", ["", "garbage", "00-" + "z" * 32 + "-" + "1" * 16 + "-01", "00-" + "0" * 32 + "-" + "0" * 16 + "-01"]
)
def test_an_event_without_a_valid_traceparent_starts_a_trace_of_its_own(
    parent: str, spans: InMemorySpanExporter
) -> None:
    envelope = events.envelope(RoomRegistered("room-1", "h1", "Loft", 100, "available"), producer="room",
                               aggregate_id="room-1")  # fmt: skip
    with tracing.consumed("view-room", envelope, parent):
        assert tracing.current().get_span_context().is_valid
    (span,) = spans.get_finished_spans()
    assert (span.name, span.parent) == ("process RoomRegistered", None)
