"""Test helpers of the view: timed envelopes, a story of events, a unit of work in memory, a JetStream fake."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.errors import NotFoundError

from bnb.events.v1 import events_pb2 as ev
from svckit.db import Database
from svckit.events import EventEnvelope, stream_name, subject
from svckit.inbox import handle
from svckit.testing import FakeUnitOfWork, StandIn
from view_svc.domain import SHOWN, Reservation, RoomView
from view_svc.main import subscriptions
from view_svc.timeline import Step
from view_svc.unit_of_work import ViewUnitOfWork

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
PRODUCER = {
    **dict.fromkeys(["RoomRegistered", "ReviewCreated", "RoomHeld", "RoomReserved", "RoomReleased"], "room"),
    **dict.fromkeys(["ReservationRequested", "ReservationConfirmed", "ReservationCancelled"], "reservation"),
    **dict.fromkeys(["PaymentApproved", "PaymentRefunded"], "payment"),
}
V = TypeVar("V")


def at(second: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=second)


def wrap(event: Message, second: float = 0, event_id: str = "") -> EventEnvelope:
    """An envelope for `event` that occurred `second` seconds after T0."""
    occurred = Timestamp()
    occurred.FromDatetime(at(second))
    name = type(event).__name__
    return EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        type=name,
        aggregate_id=getattr(event, "reservation_id", "") or getattr(event, "room_id", ""),
        correlation_id=getattr(event, "reservation_id", ""),
        occurred_at=occurred,
        payload=event.SerializeToString(),
        producer=PRODUCER[name],
    )


def apply(db: Database, *envelopes: EventEnvelope) -> list[str]:
    """Deliver each envelope through its stream's consumer, as view_svc does."""
    subs = {sub.producer: sub for sub in subscriptions()}
    return [
        handle(db, subs[e.producer], e.SerializeToString(), subject(e.producer, e.type), n)
        for n, e in enumerate(envelopes, start=1)
    ]


def all_rows(db: Database) -> list[tuple[object, ...]]:
    """Every room view as a tuple of its public fields, by room_id: to compare a rebuild with the live view."""
    with ViewUnitOfWork.on(db)(read_only=True) as uow:
        return [tuple(getattr(view, f) for f in SHOWN) for view in uow.room_views.listing(10**6, 0)]


def story() -> list[EventEnvelope]:
    """Three rooms' worth of events, each stream in its own order (as published)."""

    def stay(rid: str, room: str, guest: str, host: str, pay: str, t: float, end: str) -> list[EventEnvelope]:
        ids = {"reservation_id": rid, "room_id": room, "guest_id": guest}
        events = [
            wrap(ev.PaymentApproved(payment_id=pay, amount=200, **ids), t),
            wrap(ev.ReservationRequested(host_id=host, payment_id=pay, amount=200, **ids), t + 1),
        ]
        if end == "confirmed":
            events += [
                wrap(ev.RoomReserved(room_id=room, reservation_id=rid, room_status="reserved", host_id=host), t + 2),
                wrap(ev.ReservationConfirmed(host_id=host, **ids), t + 3),
            ]
        if end == "cancelled":
            events += [
                wrap(ev.ReservationCancelled(host_id=host, **ids), t + 2),
                wrap(ev.PaymentRefunded(payment_id=pay, amount=200, **ids), t + 3),
            ]
        return events

    registered = [
        wrap(ev.RoomRegistered(room_id="room1", host_id="h1", description="Loft", room_status="available"), 0),
        wrap(ev.RoomRegistered(room_id="room2", host_id="h2", description="Cabin", room_status="available"), 1),
        wrap(ev.ReviewCreated(room_id="room1", guest_id="g9", rating=4, review_count=1, host_id="h1"), 2),
        wrap(ev.ReviewCreated(room_id="room1", guest_id="g8", rating=5, review_count=2, host_id="h1"), 3),
    ]
    ids = {"reservation_id": "resA", "room_id": "room1", "guest_id": "g1"}
    cancel_a = [
        wrap(ev.ReservationCancelled(host_id="h1", **ids), 30),
        wrap(ev.RoomReleased(room_id="room1", reservation_id="resA", room_status="available", host_id="h1"), 31),
        wrap(ev.PaymentRefunded(payment_id="payA", amount=200, **ids), 32),
    ]
    return [
        *registered,
        *stay("resA", "room1", "g1", "h1", "payA", 10, "confirmed"),
        *stay("resB", "room1", "g2", "h1", "payB", 20, "cancelled"),
        *cancel_a,
        *stay("resC", "room3", "g3", "h3", "payC", 40, "requested"),
        *stay("resD", "room2", "g4", "h2", "payD", 50, "confirmed"),
    ]


class _Table(Generic[V]):
    """Rows by primary key; as in SQL, inserting a key that exists fails and updating a missing one changes nothing."""

    def __init__(self) -> None:
        self.rows: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self.rows.get(key)

    def put(self, key: str, value: V, new: bool) -> None:
        if new and key in self.rows:
            raise KeyError(f"{key!r} exists")
        if new or key in self.rows:
            self.rows[key] = value


class FakeRoomViews(_Table[RoomView]):
    def save(self, view: RoomView, new: bool) -> None:
        self.put(view.room_id, view, new)

    def listing(self, limit: int, offset: int) -> list[RoomView]:
        return [self.rows[k] for k in sorted(self.rows)][offset : offset + limit]  # by room_id, as the SQL one


class FakeReservationsSeen(_Table[Reservation]):
    def save(self, reservation: Reservation, new: bool) -> None:
        self.put(reservation.reservation_id, reservation, new)

    def latest(self, room_id: str) -> Reservation | None:
        """As SqlReservationsSeen.latest: of the announced ones (a status), the last first seen, then the larger id."""
        announced = [r for r in self.rows.values() if r.room_id == room_id and r.status]
        return max(announced, key=lambda r: (r.first_seen_at, r.reservation_id), default=None)


class FakeSteps(_Table[Step]):
    def add(self, step: Step) -> None:
        self.put(step.event_id, step, new=True)

    def of(self, reservation_id: str) -> list[Step]:
        return [s for s in self.rows.values() if s.reservation_id == reservation_id]


class FakeViewUnitOfWork(FakeUnitOfWork):
    """The view's unit of work in memory; its lock (of a room's view) only records the key."""

    def __init__(self) -> None:
        super().__init__()
        self.room_views = FakeRoomViews()
        self.reservations = FakeReservationsSeen()
        self.steps = FakeSteps()


class FakePullSubscription:
    def __init__(self, msgs: list[SimpleNamespace]) -> None:
        self.msgs = msgs
        self.position = 0
        self.closed = False

    async def consumer_info(self) -> SimpleNamespace:
        return SimpleNamespace(num_pending=len(self.msgs) - self.position)

    async def fetch(self, batch: int, timeout: float) -> list[SimpleNamespace]:  # noqa: ASYNC109 (as nats-py)
        if self.position >= len(self.msgs):
            raise TimeoutError
        taken = self.msgs[self.position : self.position + batch]
        self.position += len(taken)
        return taken

    async def unsubscribe(self) -> None:
        self.closed = True


class FakeJetStream(StandIn):  # stands in for nats' JetStreamContext
    """Streams as lists of (subject, data); an ephemeral consumer delivers the ones its filter names, in order."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, bytes]]] = {}
        self.subscriptions: list[FakePullSubscription] = []

    def publish(self, envelope: EventEnvelope) -> None:
        self.publish_raw(envelope.producer, subject(envelope.producer, envelope.type), envelope.SerializeToString())

    def publish_raw(self, producer: str, subj: str, data: bytes) -> None:
        self.streams.setdefault(stream_name(producer), []).append((subj, data))

    async def pull_subscribe(self, subj: str, stream: str, config: Any) -> FakePullSubscription:
        if stream not in self.streams:
            raise NotFoundError(code=404, description="stream not found")
        wanted = set(config.filter_subjects)
        chosen = [(seq, s, d) for seq, (s, d) in enumerate(self.streams[stream], start=1) if s in wanted]
        msgs = [
            SimpleNamespace(
                data=d,
                subject=s,
                metadata=SimpleNamespace(sequence=SimpleNamespace(stream=seq), num_pending=len(chosen) - i - 1),
            )
            for i, (seq, s, d) in enumerate(chosen)
        ]
        self.subscriptions.append(FakePullSubscription(msgs))
        return self.subscriptions[-1]
