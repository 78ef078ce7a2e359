"""Event policies: a handler per event type, typed by its generated event and found by the envelope's type;
the durable consumers that apply them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from google.protobuf.message import Message
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from svckit import events
from svckit.events import EventEnvelope
from svckit.uow import UnitOfWork

E = TypeVar("E", bound=Message)
W = TypeVar("W")
Handler = Callable[[UnitOfWork, Message, EventEnvelope], None]  # what svckit.consumer calls
Policies = dict[str, dict[str, Handler]]  # producer -> event type -> handler
# A delivered message not acked this long is redelivered: what a consumer killed with kill -9 held comes back after
# it. A consumer that holds one longer on purpose (an event waiting for work underway) says so meanwhile.
ACK_WAIT_S = 10.0


def on(event_type: type[E], handler: Callable[[W, E, EventEnvelope], None]) -> tuple[str, Handler]:
    """`handler` for the events of `event_type`, under the type's name as envelopes carry it.

    `W` is the unit of work the handler names: the context's, which its main.py gives the database
    (svckit.db.Database's `unit`), so the consumer's units of work are of that kind.
    """

    def run(uow: UnitOfWork, event: Message, envelope: EventEnvelope) -> None:
        if not isinstance(event, event_type):
            raise TypeError(f"{type(event).__name__} sent to the handler of {event_type.__name__}")
        handler(cast(W, uow), event, envelope)

    run.__name__ = getattr(handler, "__name__", run.__name__)
    return event_type.DESCRIPTOR.name, run


@dataclass(frozen=True)
class Subscription:
    """A durable consumer `<svc>-<purpose>` on one producer's stream, with a handler per event type.

    `locks`: the keys of UnitOfWork.lock that an event's handler takes. Its transaction takes them first
    (UnitOfWork.lock_all: sorted, which the handlers' own order must agree with): transactions of several consumers
    (and replicas) locking the same keys in other orders would deadlock on PostgreSQL.
    """

    durable: str
    producer: str
    handlers: dict[str, Handler]
    locks: Callable[[Any], Iterable[str]] | None = None
    ack_wait_s: float = ACK_WAIT_S
    linger_s: float = 0.0  # a caught-up consumer's batch waits this long for more events (svckit.pull.batches)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=1000,
            filter_subjects=sorted(events.subject(self.producer, t) for t in self.handlers),
        )
