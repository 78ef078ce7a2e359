"""A real OTLP/gRPC trace receiver for tests: opentelemetry-proto's TraceService, keeping every span it is sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from bench.sink import serving


@dataclass(frozen=True)
class Span:
    service: str  # the resource's service.name
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind
    trace_id: str
    span_id: str
    parent_id: str  # '' for a root span
    start_ns: int


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        got = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    ids = (s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex())
                    got.append(Span(attributes.get("service.name", ""), s.name, s.kind, *ids, s.start_time_unix_nano))
        with self._lock:
            self.spans += got
        return trace_service_pb2.ExportTraceServiceResponse()

    def traces(self) -> dict[str, list[Span]]:
        """The spans received so far, by trace id, each trace in start order."""
        with self._lock:
            spans = list(self.spans)
        by_trace: dict[str, list[Span]] = {}
        for span in sorted(spans, key=lambda s: s.start_ns):
            by_trace.setdefault(span.trace_id, []).append(span)
        return by_trace


@contextmanager
def receiving() -> Iterator[tuple[Receiver, int]]:
    """A receiver listening on a free loopback port, and that port."""
    receiver = Receiver()
    with serving(receiver, max_workers=4) as port:
        yield receiver, port


def tree(spans: list[Span]) -> str:
    """A trace's spans as an indented tree: `service: name`, children under their parent, in start order."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[Span]] = {}
    for span in spans:
        children.setdefault(span.parent_id if span.parent_id in ids else "", []).append(span)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append(f"{'  ' * depth}{span.service}: {span.name}")
            walk(span.span_id, depth + 1)

    walk("", 0)
    return "\n".join(lines)
