"""Domain events <-> the EventEnvelope on the wire; a domain event is a dataclass named like its proto."""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from bnb.events.v1 import envelope_pb2, events_pb2
from svckit.ids import new_id

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

EventEnvelope = envelope_pb2.EventEnvelope


class UndecodableEvent(ValueError):
    """The bytes are not an envelope of a known event type: a dead letter."""


def subject(producer: str, event_type: str) -> str:
    """The NATS subject of an event: bnb.<context>.<Event>.v1."""
    return f"bnb.{producer}.{event_type}.v1"


def stream_name(producer: str) -> str:
    return producer.upper()


def envelope(event: DataclassInstance, *, producer: str, aggregate_id: str) -> EventEnvelope:
    """Wrap a domain event; its reservation id, where it has one, is the correlation id.

    An event's fields are scalars, as its proto's are: they are read one by one, not through dataclasses.asdict,
    which copies each value deeply and cost a tenth of what writing an event to the outbox costs.
    """
    event_type = type(event).__name__
    payload = getattr(events_pb2, event_type)(**{name: getattr(event, name) for name in _fields(type(event))})
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return EventEnvelope(
        event_id=new_id(),
        type=event_type,
        aggregate_id=aggregate_id,
        correlation_id=getattr(event, "reservation_id", "") or aggregate_id,
        occurred_at=Timestamp(seconds=seconds, nanos=nanos),
        payload=payload.SerializeToString(),
        producer=producer,
    )


@functools.cache
def _fields(kind: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


def decode(data: bytes) -> tuple[EventEnvelope, Message]:
    """The envelope and its typed payload, or UndecodableEvent."""
    try:
        env = EventEnvelope.FromString(data)
        cls = getattr(events_pb2, env.type, None)
        if not env.event_id or cls is None:
            raise UndecodableEvent(f"unknown event type {env.type!r} or missing event_id")
        return env, cls.FromString(env.payload)
    except UndecodableEvent:
        raise
    except Exception as exc:
        raise UndecodableEvent(f"not an EventEnvelope: {exc}") from exc
