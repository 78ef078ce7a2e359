"""svckit.otel's spans record what the SDK's record, for the same calls: the SDK's tracer is the reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from svckit import otel

RESOURCE = Resource.create({"service.name": "room"})
STATE = TraceState([("vendor", "opaque")])


def remote(flags: int) -> Context:
    return trace.set_span_in_context(NonRecordingSpan(SpanContext(7, 9, True, TraceFlags(flags), STATE)))


def ok_then_error(span: trace.Span) -> None:
    span.set_status(Status(StatusCode.OK))
    span.set_status(Status(StatusCode.ERROR, "ignored: OK stays"))


def error_then_unset(span: trace.Span) -> None:
    span.set_status(StatusCode.ERROR, "UNAVAILABLE")
    span.set_status(Status(StatusCode.UNSET))


def raised(span: trace.Span) -> None:
    try:
        raise KeyError("room-1")
    except KeyError as exc:
        span.record_exception(exc, {"extra": 1})


def after_end(span: trace.Span) -> None:
    span.set_attribute("before", 1)
    span.end()
    span.set_attribute("after", 2)
    span.add_event("after")


SCRIPTS: dict[str, Callable[[trace.Span], None]] = {
    "attributes": lambda span: span.set_attributes({"a": "b", "n": 3}),
    "ok then error": ok_then_error,
    "error then unset": error_then_unset,
    "exception": raised,
    "after end": after_end,
    "renamed": lambda span: span.update_name("renamed"),
}


def ours(tracer: otel.Tracer) -> Callable[..., trace.Span]:
    """svckit's tracer, started as the SDK's start_span is: from the span current in a context."""

    def start(name: str, context: Context | None, kind: SpanKind, attributes: Any) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context() if context is not None else None
        return tracer.start_child(name, parent, kind, attributes)

    return start


def record(start: Callable[..., trace.Span], context: Context | None, script: Callable[[trace.Span], None]) -> Any:
    span = start("s", context, SpanKind.CONSUMER, {"messaging.message.id": "e-1"})
    script(span)
    span.end()
    span.end()  # ended once: handed to the processor once
    return span.get_span_context()


def seen(span: ReadableSpan) -> tuple[Any, ...]:
    ctx, parent = span.context, span.parent
    assert ctx is not None and span.end_time is not None and span.start_time is not None
    events = [(e.name, {k: v for k, v in (e.attributes or {}).items() if k != "exception.stacktrace"})
              for e in span.events]  # fmt: skip
    stacks = [str((e.attributes or {}).get("exception.stacktrace", ""))[:40] for e in span.events]
    scope = span.instrumentation_scope and span.instrumentation_scope.name
    return (span.name, span.kind, int(ctx.trace_flags), ctx.trace_state, parent and (parent.trace_id, parent.span_id),
            span.resource, scope, dict(span.attributes or {}), span.status.status_code, span.status.description,
            events, stacks, span.end_time >= span.start_time)  # fmt: skip


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
@pytest.mark.parametrize("parent", [None, 1, 3], ids=["root", "sampled parent", "sampled random parent"])
def test_a_span_records_what_the_sdks_records(script: Callable[[trace.Span], None], parent: int | None) -> None:
    mine_exported, theirs = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(theirs))
    context = remote(parent) if parent is not None else None
    ctx = record(ours(otel.Tracer(RESOURCE, SimpleSpanProcessor(mine_exported))), context, script)
    reference = record(provider.get_tracer("svckit").start_span, context, script)
    (mine,), (sdks,) = mine_exported.get_finished_spans(), theirs.get_finished_spans()
    assert seen(mine) == seen(sdks)
    assert (ctx.trace_id == reference.trace_id) == (parent is not None)  # a root's trace id is its own
    assert ctx.span_id != 9 and ctx.is_valid and not ctx.is_remote


def test_a_sampled_out_parent_gets_a_non_recording_span_that_carries_its_trace_on() -> None:
    recorded = InMemorySpanExporter()
    span = ours(otel.Tracer(RESOURCE, SimpleSpanProcessor(recorded)))("s", remote(0), SpanKind.SERVER, None)
    span.set_attribute("a", 1)
    span.end()
    ctx = span.get_span_context()
    assert (span.is_recording(), recorded.get_finished_spans()) == (False, ())
    assert (ctx.trace_id, int(ctx.trace_flags), ctx.trace_state, ctx.span_id != 9) == (7, 0, STATE, True)
