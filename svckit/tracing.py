"""OpenTelemetry traces across gRPC and NATS, exported over OTLP/gRPC only when BNB_OTLP_ENDPOINT is set."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

# Off until setup(): the hot path then pays one check of this flag, and no wrapper is installed at all.
# The spans of gRPC calls, served and made, are svckit.grpctracing's.
enabled = False
_tracer: Any = None  # an svckit.otel.Tracer while enabled
_W3C = TraceContextTextMapPropagator()
_OFF = contextlib.nullcontext()
# The span current in this task: svckit's own context variable, not OpenTelemetry's context. Attaching a span there
# copies the context's dict per span, and each lookup goes through two more calls: together about a tenth of what
# tracing costs a saga. Code that reads the current span (a handler adding an attribute) asks current().
_current: contextvars.ContextVar[trace.Span | None] = contextvars.ContextVar("svckit_span", default=None)
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def setup(service: str, endpoint: str) -> None:
    """Export this process's spans as `service.name` = `service` to the OTLP/gRPC `endpoint`; '' leaves tracing off.

    Every span is sampled (parent-based: a client's sampled-out `traceparent` is respected); spans leave in
    batches from a thread of their own (the SDK's BatchSpanProcessor), so a slow collector delays no call.
    """
    if not endpoint:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from svckit.otel import Tracer
    from svckit.otlp import Exporter

    processor = BatchSpanProcessor(Exporter(endpoint=endpoint, insecure=True))
    install(Tracer(Resource.create({"service.name": service}), processor))
    logger.info("tracing on: spans of %s go to %s", service, endpoint)


class Current:
    """trace.use_span(span, end_on_exit=True), without its two generators: `span` is current inside the block,
    records an exception raised in it (its status then ERROR), and ends when the block is left (unless `end` is
    False: a span made current again for the lines logged about its work, after it ended).

    An exception of a `quiet` type is an outcome the caller expects, not a fault (an event that must wait for
    another, a call refused with its status): the span names it in `bnb.outcome`, and its status stays. Recording
    it would format its traceback, about 0.2 ms, and mark an ordinary outcome as an error.
    """

    __slots__ = ("_end", "_quiet", "_token", "span")

    def __init__(self, span: trace.Span, end: bool = True, quiet: tuple[type[BaseException], ...] = ()) -> None:
        self.span, self._end, self._quiet = span, end, quiet

    def __enter__(self) -> Any:
        self._token = _current.set(self.span)
        return self.span

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        _current.reset(self._token)
        if not self._end:
            return
        if isinstance(exc, self._quiet):
            self.span.set_attribute("bnb.outcome", f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, Exception):  # as use_span: not a cancellation, nor an exit
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        self.span.end()


def current() -> trace.Span:
    """The current span: svckit's (a Current block's), else the one current in OpenTelemetry's context (a span
    started through its API); INVALID_SPAN outside any."""
    return _current.get() or trace.get_current_span()


def install(tracer: Any) -> None:
    """Trace with `tracer` (an svckit.otel.Tracer) from now on; None turns tracing off again."""
    global enabled, _tracer
    enabled, _tracer = tracer is not None, tracer


def shutdown() -> None:
    """Send the spans still buffered; called once when the service stops."""
    if enabled:
        _tracer.processor.shutdown()


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span (what an outbox row stores), or None when tracing is off."""
    return header(current().get_span_context()) if enabled else None


def header(ctx: SpanContext) -> str | None:
    """The W3C `traceparent` naming the span of `ctx`; None when it is not valid."""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}" if ctx.is_valid else None


def _remote(parent: str | None) -> SpanContext | None:
    """The remote span a version-00 `traceparent` (what traceparent() writes) names; None without a valid one.

    One compiled match: the propagator's general parser (a regular expression looked up per call, versions, the
    tracestate) costs more per event.
    """
    if parent and (found := _TRACEPARENT_00.fullmatch(parent)):
        trace_id, span_id, flags = found.groups()
        ctx = SpanContext(int(trace_id, 16), int(span_id, 16), True, TraceFlags(int(flags, 16)))
        if ctx.is_valid:
            return ctx
    return None


def parent_of(carrier: Mapping[str, Any]) -> SpanContext | None:
    """The remote span a W3C carrier (a call's `traceparent` and `tracestate` metadata) names; None without one.

    A lone version-00 traceparent (what svckit's clients send) is matched by hand; anything else by the propagator.
    """
    parent = carrier.get("traceparent")
    if len(carrier) == 1 and isinstance(parent, str) and (ctx := _remote(parent)) is not None:
        return ctx
    if not carrier:
        return None
    ctx = trace.get_current_span(_W3C.extract(carrier)).get_span_context()
    return ctx if ctx.is_valid else None


def start(name: str, parent: SpanContext | None, kind: SpanKind, attributes: Any) -> trace.Span:
    """A span of this process's tracer, a child of `parent` (a trace's root when None); INVALID_SPAN while
    tracing is off."""
    span: trace.Span = _tracer.start_child(name, parent, kind, attributes) if enabled else INVALID_SPAN
    return span


def trace_id() -> str:
    """The current trace's id as 32 hex digits, or '' outside a span (and whenever tracing is off)."""
    if not enabled:
        return ""
    ctx = current().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def consumed(
    durable: str, envelope: Any, parent: str | None, quiet: tuple[type[BaseException], ...] = ()
) -> contextlib.AbstractContextManager[Any]:
    """The span of one consumed event, a child of the span that wrote it to the outbox (`parent`, its traceparent).

    A child and not a link: the event is the saga's next step, so it belongs in the saga's one trace; a link
    would start a trace per event. Each event of a batch gets its own span, with its own parent. The producer's
    span is the one whose transaction wrote the event (a call served, or an event handled): the relay's publish,
    which only moves committed rows, records none (a span per event there cost a quarter of all spans).
    """
    if not enabled:
        return _OFF
    # Two attributes: each costs a few µs per span to set and to export, and the span's name and service say
    # the rest (the event type, the consumer); the correlation id finds a reservation's traces.
    attributes = {"messaging.message.id": envelope.event_id, "bnb.correlation_id": envelope.correlation_id}
    span = _tracer.start_child(f"process {envelope.type}", _remote(parent), SpanKind.CONSUMER, attributes)
    return Current(span, quiet=quiet)


def resumed(span: trace.Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make an ended span current again, for the lines logged about its work after the transaction committed."""
    return _OFF if span is None else Current(span, end=False)
