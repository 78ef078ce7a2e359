"""The SERVER and CLIENT spans of gRPC calls (svckit.tracing's, when it is on): each served method wrapped
(svckit.serving), continuing the caller's `traceparent` metadata, and a span around each call made, whose
`traceparent` the call carries on."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from svckit import serving, tracing
from svckit.caller import Context, MethodHandler

_UNTRACED = ("/grpc.health.", "/grpc.reflection.")  # Envoy's health checks would flood the traces
_RPC = {"rpc.system": "grpc"}  # the span's name is the method's path: service and method need no attributes
_ABORTED = (grpc.aio.AbortError,)
_FAULTS = {grpc.StatusCode[name] for name in ("UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS")}
Metadata = tuple[tuple[str, str], ...]
_NO_METADATA: contextlib.nullcontext[Metadata] = contextlib.nullcontext(())


def server_wraps() -> list[serving.Wrap]:
    """[traced] when tracing is on, else nothing to wrap the served methods in."""
    return [traced] if tracing.enabled else []


def _status(span: trace.Span, code: grpc.StatusCode | None) -> None:
    code = code or grpc.StatusCode.OK
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _FAULTS:
        span.set_status(Status(StatusCode.ERROR, code.name))


def _traced(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = method.lstrip("/")

    async def call(request: Any, context: Context) -> Any:
        carrier = {k: v for k, v in (context.invocation_metadata() or ()) if k in ("traceparent", "tracestate")}
        span = tracing.start(name, tracing.parent_of(carrier), SpanKind.SERVER, _RPC)
        with tracing.Current(span, quiet=_ABORTED):  # a status the handler chose: _status says what it means
            try:
                return await behavior(request, context)
            finally:
                _status(span, context.code() if hasattr(context, "code") else None)

    return call


def traced(method: str, handler: MethodHandler) -> MethodHandler:
    """`handler` of a unary call (svckit.serving) in a SERVER span, continuing the caller's `traceparent` metadata
    (a root span without one)."""
    if handler.unary_unary is None or method.startswith(_UNTRACED):
        return handler
    return serving.replaced(handler, unary_unary=_traced(method, handler.unary_unary))


def client(method: str) -> contextlib.AbstractContextManager[Metadata]:
    """A CLIENT span around one call of `method` (a path, /pkg.Service/Method); its block is given the metadata
    that carries its `traceparent` (Envoy's mesh listener passes it on). With tracing off, no span and no metadata."""
    if not tracing.enabled:
        return _NO_METADATA
    parent = tracing.current().get_span_context()
    return _Client(tracing.start(method.lstrip("/"), parent, SpanKind.CLIENT, _RPC))


class _Client(tracing.Current):
    __slots__ = ()

    def __enter__(self) -> Metadata:
        super().__enter__()
        return (("traceparent", tracing.header(self.span.get_span_context()) or ""),)

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, grpc.aio.AioRpcError):
            _status(self.span, exc.code() if exc is not None else grpc.StatusCode.OK)
        super().__exit__(kind, exc, tb)
