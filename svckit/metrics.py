"""Prometheus metrics of every service: sagas, the outbox relay, the consumers (gRPC calls: svckit.grpcmetrics).

Each labelled child is bound once and cached, so that a call or an event costs a dict look-up, a counter
increment and a histogram bucket, not a label look-up with its lock and string work. Numbers that live in the
database or in JetStream (unsent rows, dead letters, pending messages) are read when Prometheus scrapes or on a
slow timer (svckit.gauges), never on the hot path. A process that serves no metrics records none (install).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

P = ParamSpec("P")
R = TypeVar("R")
# Seconds: a hop is a few ms, a saga tens of ms; a call that times out ends at its deadline (5 s by default).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SAGA_OUTCOMES = Counter("bnb_saga_outcomes", "Sagas ended: approved, or refused by reason", ["result", "reason"])
SAGA_COMPENSATIONS = Counter("bnb_saga_compensations", "Saga steps undone, by step and result", ["step", "result"])
SAGAS_RECOVERED = Counter("bnb_sagas_recovered", "Sagas a crash or an outage left pending, compensated by recovery")
OUTBOX_PUBLISHED = Counter("bnb_outbox_published", "Events the outbox relay published (PubAck received)")
OUTBOX_FAILURES = Counter("bnb_outbox_publish_failures", "Event publishes that got no PubAck (retried)")
HANDLING_SECONDS = Histogram(
    "bnb_consumer_handling_seconds", "Time a consumer's handler took per event", ["durable", "type"], buckets=BUCKETS
)
DUPLICATES = Counter("bnb_consumer_duplicates", "Events the inbox recognised as handled already", ["durable"])
REDELIVERIES = Counter("bnb_consumer_redeliveries", "Messages delivered more than once", ["durable"])
DEAD_LETTERED = Counter("bnb_consumer_dead_letters", "Messages dead-lettered by this process", ["durable"])


# Off (install(False)) in a process that serves no /metrics: then every function below returns at once, and the
# server wraps no method in them, so the bench can measure the mesh without its instrumentation.
recording = True


def install(on: bool) -> None:
    """Record metrics from now on (`on`), or nothing at all; svckit.server calls it with "a port serves them"."""
    global recording
    recording = on


def binder(*metrics: Any) -> Callable[..., tuple[Any, ...]]:
    """labels(...) of each metric, once per distinct label values."""
    bound: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def children(*values: str) -> tuple[Any, ...]:
        found = bound.get(values)
        if found is None:
            found = bound[values] = tuple(metric.labels(*values) for metric in metrics)
        return found

    return children


_outcome = binder(SAGA_OUTCOMES)
_compensation = binder(SAGA_COMPENSATIONS)
_handling = binder(HANDLING_SECONDS)
_durable = binder(DUPLICATES, REDELIVERIES, DEAD_LETTERED)


def saga_outcome(
    refusals: tuple[type[BaseException], ...], uncounted: tuple[type[BaseException], ...] = ()
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Count what the decorated saga ends in: approved when it returns; refused, with the refusal's class name as
    the reason, when it raises one of `refusals` ("internal" for another error, "cancelled" when cancelled).
    What raises one of `uncounted` (a replayed answer) ran no saga."""

    def decorate(saga: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(saga)
        async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            if not recording:
                return await saga(*args, **kwargs)
            try:
                result = await saga(*args, **kwargs)
            except uncounted:
                raise
            except refusals as exc:
                _outcome("refused", type(exc).__name__)[0].inc()
                raise
            except Exception:
                _outcome("refused", "internal")[0].inc()
                raise
            except BaseException:
                _outcome("refused", "cancelled")[0].inc()
                raise
            _outcome("approved", "")[0].inc()
            return result

        return counted

    return decorate


def recovered() -> None:
    if recording:
        SAGAS_RECOVERED.inc()


def compensated(step: str, done: bool) -> None:
    if recording:
        _compensation(step, "done" if done else "failed")[0].inc()


def handled(durable: str, event_type: str, seconds: float) -> None:
    if recording:
        _handling(durable, event_type)[0].observe(seconds)


def duplicate(durable: str) -> None:
    if recording:
        _durable(durable)[0].inc()


def redelivered(durable: str, messages: int = 1) -> None:
    if recording:
        _durable(durable)[1].inc(messages)


def dead_lettered(durable: str) -> None:
    if recording:
        _durable(durable)[2].inc()


def published(ok: int, failed: int) -> None:
    """The outbox relay's publishes: `ok` PubAck'd, `failed` without one (to be retried)."""
    if recording:
        OUTBOX_PUBLISHED.inc(ok)
        if failed:
            OUTBOX_FAILURES.inc(failed)
