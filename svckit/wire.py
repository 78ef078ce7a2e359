"""Requests whose bytes do not parse as their message: INVALID_ARGUMENT, where grpcio itself answers UNKNOWN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from svckit import serving
from svckit.caller import Context, MethodHandler


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


def refusing(method: str, handler: MethodHandler) -> MethodHandler:
    """`handler` of a unary call (svckit.serving), refusing a request that is not its message type (corrupt wire
    format, a string that is not UTF-8) with INVALID_ARGUMENT, as the edge refuses malformed JSON."""
    if handler.unary_unary is None or handler.request_deserializer is None:
        return handler
    return serving.replaced(
        handler, request_deserializer=_lenient(handler.request_deserializer), unary_unary=_refusing(handler.unary_unary)
    )
