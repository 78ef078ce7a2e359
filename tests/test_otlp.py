"""svckit.otlp writes spans as the library's OTLP encoder does: the same request, whatever the spans hold."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from opentelemetry.util.types import AttributeValue

from svckit import otel, otlp

REMOTE = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xB7, True, TraceFlags(1))


def provider(exporter: InMemorySpanExporter, service: str) -> TracerProvider:
    found = TracerProvider(resource=Resource.create({"service.name": service}))
    found.add_span_processor(SimpleSpanProcessor(exporter))
    return found


def ours(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    """Spans as svckit makes them (svckit.otel): a call served (root), one made (a child), an event consumed
    (remote parent)."""
    svckits = otel.Tracer(Resource.create({"service.name": "room"}), SimpleSpanProcessor(exporter))
    served = svckits.start_child("bnb.room.v1.RoomHolds/HoldRoom", None, SpanKind.SERVER, {"rpc.system": "grpc"})
    served.set_attribute("rpc.grpc.status_code", 0)
    name = "bnb.payment.v1.PaymentApprovals/ApprovePayment"
    made = svckits.start_child(name, served.get_span_context(), SpanKind.CLIENT, {"rpc.system": "grpc"})
    made.set_attribute("rpc.grpc.status_code", 14)
    made.set_status(Status(StatusCode.ERROR, "UNAVAILABLE"))
    made.end()
    served.end()
    attributes = {"messaging.message.id": "é" * 100, "bnb.correlation_id": "r-1"}
    svckits.start_child("process PaymentApproved", REMOTE, SpanKind.CONSUMER, attributes).end()
    return exporter.get_finished_spans()


def test_svckits_spans_are_written_out_byte_for_byte_as_the_library_writes_them() -> None:
    spans = ours(InMemorySpanExporter())
    assert len(spans) == 3
    for span in spans:
        written = otlp._written(span)
        assert written is not None, f"{span.name} left to the library"
        assert written == otlp._by_library(span)
    assert ExportTraceServiceRequest.FromString(otlp.encode(spans)) == encode_spans(spans)


def test_values_of_every_kind_statuses_and_sizes_are_written_as_the_library_writes_them() -> None:
    recorded = InMemorySpanExporter()
    tracer = otel.Tracer(Resource.create({"service.name": "view"}), SimpleSpanProcessor(recorded))
    values: dict[str, AttributeValue] = {"s": "", "t": True, "f": False, "zero": 0, "neg": -1, "big": 2**63 - 1}
    values |= {"pi": 3.25, "long": "x" * 300}
    span = tracer.start_child("n" * 200, None, SpanKind.INTERNAL, values)
    span.set_status(Status(StatusCode.OK))
    span.end()
    tracer.start_child("unset status, no attributes", None, SpanKind.PRODUCER, None).end()
    for finished in recorded.get_finished_spans():
        written = otlp._written(finished)
        assert written is not None and written == otlp._by_library(finished)


def test_what_only_the_library_encodes_is_left_to_it_within_the_same_request() -> None:
    """An exception recorded (an event), a link, a tracestate, a list value: the library encodes those spans, and
    one request still holds every span, grouped by resource and scope as the library groups them."""
    recorded = InMemorySpanExporter()
    room, view = provider(recorded, "room"), provider(recorded, "view")
    tracer, other = room.get_tracer("svckit"), room.get_tracer("another", "1.2", schema_url="https://example.com/s")
    with tracer.start_as_current_span("raises", kind=SpanKind.SERVER) as raising:
        raising.record_exception(ValueError("no such room"))
    linked = tracer.start_span("linked", links=[Link(SpanContext(1, 2, False), {"why": "batch"})])
    linked.end()
    stated = SpanContext(3, 4, True, TraceFlags(1), TraceState([("vendor", "v1")]))
    tracer.start_span("tracestate", set_span_in_context(NonRecordingSpan(stated))).end()
    tracer.start_span("a list", attributes={"ids": ["a", "b"]}).end()
    other.start_span("another scope").end()
    view.get_tracer("svckit").start_span("another resource").end()
    raised = otel.Tracer(room.resource, SimpleSpanProcessor(recorded)).start_child("ours raised", None,
                                                                                 SpanKind.SERVER, None)  # fmt: skip
    raised.record_exception(ValueError("no such room"))
    raised.end()
    theirs = recorded.get_finished_spans()
    assert [otlp._written(s) is None for s in theirs] == [True] * 7  # the SDK's spans, and ours that raised
    spans = [*theirs[:3], *ours(InMemorySpanExporter()), *theirs[3:]]  # resources and scopes interleaved
    request = ExportTraceServiceRequest.FromString(otlp.encode(spans))
    assert request == encode_spans(spans)
    assert sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans) == len(spans)


def test_the_exporters_request_is_what_encode_writes() -> None:
    spans = ours(InMemorySpanExporter())
    exporter = otlp.Exporter(endpoint="http://127.0.0.1:9", insecure=True)
    try:
        assert exporter._translate_data(spans) == encode_spans(spans)
    finally:
        exporter.shutdown()
