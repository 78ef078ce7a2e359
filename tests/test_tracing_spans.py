"""The spans svckit.tracing makes around calls served and made: whose children they are, and how they end."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from svckit import grpctracing, otlp, tracing

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
METHOD = "/bnb.room.v1.RoomHolds/HoldRoom"


class Served:
    """What the servicer's context gives the server span: the call's metadata, and the status it ended with."""

    def __init__(self, *metadata: tuple[str, str]) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", "Bearer x"), *self.metadata)

    def code(self) -> grpc.StatusCode | None:
        return None


def serve(*metadata: tuple[str, str]) -> str:
    """Serve one call with `metadata` through the server span; the traceparent its handler would hand on."""

    async def behavior(request: Any, context: Any) -> str | None:
        return tracing.traceparent()

    handed_on: str | None = asyncio.run(grpctracing._traced(METHOD, behavior)(b"", Served(*metadata)))  # type: ignore[arg-type]
    return handed_on or ""


def parent_id(span: Any) -> str:
    return f"{span.parent.span_id:016x}" if span.parent else ""


def test_a_call_is_a_child_of_its_callers_traceparent(spans: InMemorySpanExporter) -> None:
    handed_on = serve(("traceparent", f"00-{TRACE}-{SPAN}-01"))
    (span,) = spans.get_finished_spans()
    assert (f"{span.context.trace_id:032x}", parent_id(span)) == (TRACE, SPAN)
    assert handed_on == f"00-{TRACE}-{span.context.span_id:016x}-01"  # what its events and calls carry on
    assert (span.name, dict(span.attributes or {})) == (
        METHOD.lstrip("/"),
        {"rpc.system": "grpc", "rpc.grpc.status_code": 0},
    )


def test_a_callers_tracestate_is_kept(spans: InMemorySpanExporter) -> None:
    serve(("traceparent", f"00-{TRACE}-{SPAN}-01"), ("tracestate", "vendor=opaque"))
    (span,) = spans.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == TRACE and dict(span.context.trace_state) == {"vendor": "opaque"}


def test_a_later_version_of_traceparent_is_continued(spans: InMemorySpanExporter) -> None:
    serve(("traceparent", f"01-{TRACE}-{SPAN}-01-what-comes-next"))  # W3C: parse what version 00 defines
    (span,) = spans.get_finished_spans()
    assert (f"{span.context.trace_id:032x}", parent_id(span)) == (TRACE, SPAN)


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{TRACE.upper()}-{SPAN}-01",  # W3C: lower-case hex only
        f"00-{'4_' * 16}-{SPAN}-01",  # int() would take the underscores
        f"00-{'+' + TRACE[1:]}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-01-more",  # version 00 has exactly four fields
        f"ff-{TRACE}-{SPAN}-01",  # a version no one may send
        f"00-{'0' * 32}-{SPAN}-01",  # the invalid trace id
    ],
)
def test_a_malformed_traceparent_starts_a_trace_of_the_calls_own(traceparent: str, spans: InMemorySpanExporter) -> None:
    serve(("traceparent", traceparent))
    (span,) = spans.get_finished_spans()
    assert span.parent is None and f"{span.context.trace_id:032x}" != TRACE


def test_a_caller_that_sampled_its_trace_out_gets_no_spans(spans: InMemorySpanExporter) -> None:
    handed_on = serve(("traceparent", f"00-{TRACE}-{SPAN}-00"))
    assert spans.get_finished_spans() == ()
    assert handed_on.startswith(f"00-{TRACE}-") and handed_on.endswith("-00")  # its calls and events say so on


class Aborted(Served):
    """The context of a call its handler aborted with `code` (grpc sets it before raising AbortError)."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__()
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code


@pytest.mark.parametrize(
    ("code", "status"),
    [(grpc.StatusCode.FAILED_PRECONDITION, StatusCode.UNSET), (grpc.StatusCode.INTERNAL, StatusCode.ERROR)],
)
def test_a_call_its_handler_aborted_ends_with_that_status_and_no_traceback(
    code: grpc.StatusCode, status: StatusCode, spans: InMemorySpanExporter
) -> None:
    async def behavior(request: Any, context: Any) -> None:
        raise grpc.aio.AbortError("Locally aborted.")  # what context.abort() raises

    with pytest.raises(grpc.aio.AbortError):
        asyncio.run(grpctracing._traced(METHOD, behavior)(b"", Aborted(code)))  # type: ignore[arg-type]
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert (attributes["rpc.grpc.status_code"], span.status.status_code) == (code.value[0], status)
    assert list(span.events) == []  # no traceback formatted
    assert attributes["bnb.outcome"] == "AbortError: Locally aborted."


def test_a_handler_that_raises_is_an_error_with_its_exception_recorded(spans: InMemorySpanExporter) -> None:
    async def behavior(request: Any, context: Any) -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        asyncio.run(grpctracing._traced(METHOD, behavior)(b"", Served()))  # type: ignore[arg-type]
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and [e.name for e in span.events] == ["exception"]


async def _called(outcome: BaseException | None) -> tuple[tuple[str, str], ...]:
    with grpctracing.client(METHOD) as metadata:
        if outcome is not None:
            raise outcome
    return metadata


@pytest.mark.parametrize(
    ("outcome", "code", "status"),
    [
        (None, 0, StatusCode.UNSET),
        (
            grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata()),
            5,
            StatusCode.ERROR,
        ),
        (RuntimeError("no channel"), None, StatusCode.ERROR),
    ],
)
def test_a_call_made_is_a_client_span_that_says_how_it_ended(
    outcome: BaseException | None, code: int | None, status: StatusCode, spans: InMemorySpanExporter
) -> None:
    with spans.tracer.start_as_current_span("request") as request:  # type: ignore[attr-defined]
        try:
            metadata = asyncio.run(_called(outcome))
        except (grpc.aio.AioRpcError, RuntimeError) as exc:
            assert exc is outcome
        else:
            (client,) = [s for s in spans.get_finished_spans() if s.name == METHOD.lstrip("/")]
            ctx = client.context
            assert metadata == (("traceparent", f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"),)
    assert not tracing.current().get_span_context().is_valid  # the client span is no longer current
    (client,) = [s for s in spans.get_finished_spans() if s.name == METHOD.lstrip("/")]
    assert parent_id(client) == f"{request.get_span_context().span_id:016x}"
    assert ((client.attributes or {}).get("rpc.grpc.status_code"), client.status.status_code) == (code, status)
    assert [e.name for e in client.events] == ([] if outcome is None else ["exception"])


def test_a_processs_spans_are_sent_under_its_one_resource_and_scope(spans: InMemorySpanExporter) -> None:
    for method in ("/a.B/C", "/a.B/D", "/a.B/E"):
        serve()
        with grpctracing.client(method):
            pass
    (grouped,) = ExportTraceServiceRequest.FromString(otlp.encode(spans.get_finished_spans())).resource_spans
    (scoped,) = grouped.scope_spans
    assert (scoped.scope.name, len(scoped.spans)) == ("svckit", 6)
    assert {a.key: a.value.string_value for a in grouped.resource.attributes}["service.name"] == "room"
