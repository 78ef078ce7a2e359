"""Requests whose bytes do not parse as their message: INVALID_ARGUMENT, where grpcio itself answers UNKNOWN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from svckit.caller import Context, MethodHandler

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["MethodHandler | None"]]


@dataclass(frozen=True)
class _Malformed:
    reason: str


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(raw: bytes) -> Any:
        try:
            return parse(raw)
        except DecodeError as exc:
            return _Malformed(str(exc))

    return deserialize


def _refusing(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def call(request: Any, context: Context) -> Any:
        if isinstance(request, _Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request does not parse: {request.reason}")
        return await behavior(request, context)

    return call


class RejectMalformed(grpc.aio.ServerInterceptor):
    """A server interceptor for unary calls: a request that is not its message type (corrupt wire format, a
    string that is not UTF-8) is refused with INVALID_ARGUMENT, as the edge refuses malformed JSON."""

    def __init__(self) -> None:
        self._handlers: dict[str, MethodHandler] = {}  # per method: wrapped once, not per call

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler | None:
        known = self._handlers.get(handler_call_details.method)
        if known is not None:
            return known
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # an unknown method: not remembered, or any caller could grow the cache
        if handler.unary_unary is not None and handler.request_deserializer is not None:
            handler = handler._replace(  # type: ignore[attr-defined]  # a namedtuple at run time; the stubs hide it
                request_deserializer=_lenient(handler.request_deserializer),
                unary_unary=_refusing(handler.unary_unary),
            )
        self._handlers[handler_call_details.method] = handler
        return handler
