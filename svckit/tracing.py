"""OpenTelemetry traces across gRPC and NATS, exported over OTLP/gRPC only when BNB_OTLP_ENDPOINT is set."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

# Off until setup(): the hot path then pays one check of this flag, and no interceptor is installed at all.
# The spans of gRPC calls, served and made, are svckit.grpctracing's.
enabled = False
_tracer: Any = trace.NoOpTracer()  # an svckit.otel.Tracer while enabled
_W3C = TraceContextTextMapPropagator()
_OFF = contextlib.nullcontext()
_ROOT = otel_context.Context()
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
    records an exception raised in it (its status then ERROR), and ends when the block is left."""

    __slots__ = ("_token", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def __enter__(self) -> Any:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        otel_context.detach(self._token)
        if isinstance(exc, Exception):  # as use_span: not a cancellation, nor an exit
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        self.span.end()


def install(tracer: Any) -> None:
    """Trace with `tracer` (an svckit.otel.Tracer) from now on; None turns tracing off again."""
    global enabled, _tracer
    enabled, _tracer = tracer is not None, tracer if tracer is not None else trace.NoOpTracer()


def shutdown() -> None:
    """Send the spans still buffered; called once when the service stops."""
    if enabled:
        _tracer.processor.shutdown()


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span (what an outbox row stores), or None when tracing is off."""
    if not enabled:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


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


def _continuing(parent: str | None) -> otel_context.Context:
    """The context of a version-00 `traceparent`; a root's without a valid one."""
    ctx = _remote(parent)
    return trace.set_span_in_context(NonRecordingSpan(ctx), _ROOT) if ctx is not None else _ROOT


def parent_of(carrier: Mapping[str, Any]) -> otel_context.Context:
    """The context a W3C carrier (a call's `traceparent` and `tracestate` metadata) continues; a root's without one.

    A lone version-00 traceparent (what svckit's clients send) is matched by hand; anything else by the propagator.
    """
    parent = carrier.get("traceparent")
    if len(carrier) == 1 and isinstance(parent, str) and (ctx := _continuing(parent)) is not _ROOT:
        return ctx
    return _W3C.extract(carrier) if carrier else _ROOT


def start(name: str, parent: otel_context.Context | None, kind: SpanKind, attributes: Any) -> trace.Span:
    """A span of this process's tracer (a non-recording one while tracing is off)."""
    span: trace.Span = _tracer.start_span(name, parent, kind, attributes)
    return span


def trace_id() -> str:
    """The current trace's id as 32 hex digits, or '' outside a span (and whenever tracing is off)."""
    if not enabled:
        return ""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def consumed(durable: str, envelope: Any, parent: str | None) -> contextlib.AbstractContextManager[Any]:
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
    return Current(_tracer.start_child(f"process {envelope.type}", _remote(parent), SpanKind.CONSUMER, attributes))


def resumed(span: trace.Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make an ended span current again, for the lines logged about its work after the transaction committed."""
    return _OFF if span is None else trace.use_span(span, end_on_exit=False)


def carrier_of(headers: Mapping[str, str] | None) -> str | None:
    """The traceparent a NATS message carries, if any."""
    return headers.get("traceparent") if headers else None
