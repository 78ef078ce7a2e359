"""OpenTelemetry traces across gRPC and NATS, exported over OTLP/gRPC only when BNB_OTLP_ENDPOINT is set."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from svckit.caller import Context, MethodHandler

logger = logging.getLogger(__name__)

# Off until setup(): the hot path then pays one check of this flag, and no interceptor is installed at all.
enabled = False
_tracer: trace.Tracer = trace.NoOpTracer()
_provider: Any = None
_W3C = TraceContextTextMapPropagator()
_UNTRACED = ("/grpc.health.", "/grpc.reflection.")  # Envoy's health checks would flood the traces
_OFF = contextlib.nullcontext()
_FAULTS = {grpc.StatusCode[name] for name in ("UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS")}
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["MethodHandler | None"]]


def setup(service: str, endpoint: str) -> None:
    """Export this process's spans as `service.name` = `service` to the OTLP/gRPC `endpoint`; '' leaves tracing off.

    Every span is sampled (parent-based: a client's sampled-out `traceparent` is respected); spans leave in
    batches from a thread of their own, so a slow collector delays no call.
    """
    if not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    install(provider)
    logger.info("tracing on: spans of %s go to %s", service, endpoint)


def install(provider: Any) -> None:
    """Trace with `provider` (an SDK TracerProvider) from now on; None turns tracing off again."""
    global enabled, _tracer, _provider
    _provider, enabled = provider, provider is not None
    _tracer = provider.get_tracer("svckit") if provider is not None else trace.NoOpTracer()


def shutdown() -> None:
    """Send the spans still buffered; called once when the service stops."""
    if _provider is not None:
        _provider.shutdown()


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span (what an outbox row stores), or None when tracing is off."""
    if not enabled:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def trace_id() -> str:
    """The current trace's id as 32 hex digits, or '' outside a span (and whenever tracing is off)."""
    if not enabled:
        return ""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def consumed(durable: str, envelope: Any, parent: str | None) -> contextlib.AbstractContextManager[Any]:
    """The span of one consumed event, a child of the span that wrote it to the outbox (`parent`, its traceparent).

    A child and not a link: the event is the saga's next step, so it belongs in the saga's one trace; a link
    would start a trace per event. Each event of a batch gets its own span, with its own parent.
    """
    if not enabled:
        return _OFF
    ctx = _W3C.extract({"traceparent": parent}) if parent else otel_context.Context()
    attributes = {
        "messaging.system": "nats",
        "messaging.consumer.group.name": durable,
        "messaging.message.id": envelope.event_id,
        "bnb.correlation_id": envelope.correlation_id,
    }
    return _tracer.start_as_current_span(f"process {envelope.type}", ctx, SpanKind.CONSUMER, attributes)


def resumed(span: trace.Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make an ended span current again, for the lines logged about its work after the transaction committed."""
    return _OFF if span is None else trace.use_span(span, end_on_exit=False)


def published(event_type: str, subject: str, parent: str | None) -> str | None:
    """Record the relay's publish as a PRODUCER span under the row's context; the traceparent to send with it."""
    if not enabled or not parent:
        return parent
    ctx = _W3C.extract({"traceparent": parent})
    attributes = {"messaging.system": "nats", "messaging.destination.name": subject}
    with _tracer.start_as_current_span(f"publish {event_type}", ctx, SpanKind.PRODUCER, attributes):
        return traceparent()


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """[the server span interceptor] when tracing is on, else nothing to install."""
    return [TraceServer()] if enabled else []


def client_interceptors() -> Sequence[grpc.aio.ClientInterceptor] | None:
    """[the client span interceptor] for a channel when tracing is on, else None (a plain channel)."""
    return [TraceClient()] if enabled else None


def _status(span: trace.Span, code: grpc.StatusCode | None) -> None:
    code = code or grpc.StatusCode.OK
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _FAULTS:
        span.set_status(Status(StatusCode.ERROR, code.name))


def _traced(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = method.lstrip("/")
    service = name.split("/", 1)[0]

    async def call(request: Any, context: Context) -> Any:
        carrier = {k: v for k, v in (context.invocation_metadata() or ()) if k in ("traceparent", "tracestate")}
        parent = _W3C.extract(carrier) if carrier else otel_context.Context()  # none came: this call is the root
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name.rsplit("/", 1)[-1]}
        with _tracer.start_as_current_span(name, parent, SpanKind.SERVER, attributes) as span:
            try:
                return await behavior(request, context)
            finally:
                _status(span, context.code() if hasattr(context, "code") else None)

    return call


class TraceServer(grpc.aio.ServerInterceptor):
    """A SERVER span per unary call, continuing the caller's `traceparent` metadata (a root span without one)."""

    def __init__(self) -> None:
        self._handlers: dict[str, MethodHandler] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler | None:
        method = handler_call_details.method
        if (known := self._handlers.get(method)) is not None:
            return known
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or method.startswith(_UNTRACED):
            return handler
        traced: MethodHandler = handler._replace(  # type: ignore[attr-defined]  # a namedtuple; the stubs hide it
            unary_unary=_traced(method, handler.unary_unary)
        )
        self._handlers[method] = traced
        return traced


class TraceClient(grpc.aio.UnaryUnaryClientInterceptor):
    """A CLIENT span per unary call, its `traceparent` sent as metadata (Envoy's mesh listener passes it on)."""

    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        name = method.lstrip("/")
        with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc"}) as span:
            metadata = [(k, v) for k, v in (details.metadata or ()) if k not in ("traceparent", "tracestate")]
            carrier: dict[str, str] = {}
            _W3C.inject(carrier)
            details = details._replace(metadata=grpc.aio.Metadata(*metadata, *carrier.items()))
            call = await continuation(details, request)
            try:
                await call
            except grpc.aio.AioRpcError as exc:
                _status(span, exc.code())
                raise
            _status(span, grpc.StatusCode.OK)
            return call


def carrier_of(headers: Mapping[str, str] | None) -> str | None:
    """The traceparent a NATS message carries, if any."""
    return headers.get("traceparent") if headers else None
