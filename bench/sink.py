"""A local OTLP/gRPC trace sink for the bench: counts the spans it is sent and keeps none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0
        self._lock = threading.Lock()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        with self._lock:
            self.spans += n
        return trace_service_pb2.ExportTraceServiceResponse()


@contextmanager
def serving(servicer: trace_service_pb2_grpc.TraceServiceServicer, max_workers: int = 2) -> Iterator[int]:
    """`servicer` as an OTLP/gRPC trace service on a free loopback port, and that port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=[("grpc.so_reuseport", 0)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)


@contextmanager
def sink() -> Iterator[tuple[Sink, str]]:
    """A sink on a free loopback port, and its endpoint for BNB_OTLP_ENDPOINT."""
    servicer = Sink()
    with serving(servicer) as port:
        yield servicer, f"http://127.0.0.1:{port}"
