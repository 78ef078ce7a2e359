"""svckit.serving: each served method is wrapped once, at its first call, in the order given."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from svckit import serving
from svckit.caller import Context, MethodHandler

CHECK = "/grpc.health.v1.Health/Check"


def _tagging(tag: str, wrapped: list[tuple[str, str]]) -> serving.Wrap:
    """A wrap that notes each method it wraps, and whose calls add `tag` to the reply's trailing metadata."""

    def wrap(method: str, handler: MethodHandler) -> MethodHandler:
        wrapped.append((tag, method))
        if handler.unary_unary is None:
            return handler
        behavior: Callable[..., Awaitable[object]] = handler.unary_unary

        async def call(request: object, context: Context) -> object:
            context.set_trailing_metadata([*(context.trailing_metadata() or ()), ("order", tag)])
            return await behavior(request, context)

        return serving.replaced(handler, unary_unary=call)

    return wrap


async def _serve_and_call(wrapped: list[tuple[str, str]]) -> tuple[list[str], grpc.StatusCode]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    adder = serving.wrapping(server, [_tagging("outer", wrapped), _tagging("inner", wrapped)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), adder)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            for _ in range(3):
                call = stub.Check(health_pb2.HealthCheckRequest())  # type: ignore[attr-defined]
                await call
            order = [v for k, v in await call.trailing_metadata() if k == "order"]
            unknown: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = ch.unary_unary("/grpc.health.v1.Health/Nope")
            try:
                await unknown(b"")
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            return order, code
    finally:
        await server.stop(None)


def test_a_method_is_wrapped_once_the_first_wrap_outermost_and_an_unknown_one_is_unimplemented() -> None:
    wrapped: list[tuple[str, str]] = []
    order, unknown = asyncio.run(_serve_and_call(wrapped))
    assert wrapped == [("inner", CHECK), ("outer", CHECK)]  # three calls, one wrapping; the unknown method none
    assert order == ["outer", "inner"]  # the outer wrap ran first and so set its metadata first
    assert unknown is grpc.StatusCode.UNIMPLEMENTED
