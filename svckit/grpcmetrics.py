"""Prometheus metrics of gRPC calls: served (svckit.serving) and made (svckit.calls), by method and status."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from prometheus_client import Counter, Histogram

from svckit import metrics, serving
from svckit.caller import Context, MethodHandler
from svckit.metrics import BUCKETS

T = TypeVar("T")
OK = grpc.StatusCode.OK

SERVER_REQUESTS = Counter("bnb_grpc_server_requests", "gRPC calls served, by method and status", ["method", "code"])
SERVER_ERRORS = Counter("bnb_grpc_server_errors", "gRPC calls served with a status other than OK", ["method", "code"])
SERVER_SECONDS = Histogram(
    "bnb_grpc_server_duration_seconds", "Time to serve a gRPC call", ["method", "code"], buckets=BUCKETS
)
CLIENT_REQUESTS = Counter("bnb_grpc_client_requests", "gRPC calls made through the mesh", ["method", "code"])
CLIENT_ERRORS = Counter("bnb_grpc_client_errors", "gRPC calls made that ended other than OK", ["method", "code"])
CLIENT_SECONDS = Histogram(
    "bnb_grpc_client_duration_seconds", "Time a gRPC call through the mesh took", ["method", "code"], buckets=BUCKETS
)

_server = metrics.binder(SERVER_REQUESTS, SERVER_ERRORS, SERVER_SECONDS)
_client = metrics.binder(CLIENT_REQUESTS, CLIENT_ERRORS, CLIENT_SECONDS)


def _record(children: tuple[Any, ...], code: grpc.StatusCode, seconds: float) -> None:
    requests, errors, duration = children
    requests.inc()
    if code is not OK:
        errors.inc()
    duration.observe(seconds)


def _code_of(exc: BaseException) -> grpc.StatusCode:
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code()
    return grpc.StatusCode.UNKNOWN if isinstance(exc, Exception) else grpc.StatusCode.CANCELLED


def server_wraps() -> list[serving.Wrap]:
    """[measured] while recording, else nothing to wrap the served methods in."""
    return [measured] if metrics.recording else []


def measured(method: str, handler: MethodHandler) -> MethodHandler:
    """`handler` of a unary call (svckit.serving), counted and timed by method and status code; streams (health
    Watch, reflection) as they are."""
    if handler.unary_unary is None:
        return handler
    return serving.replaced(handler, unary_unary=_measured(method, handler.unary_unary))


def _set_code(context: Context) -> grpc.StatusCode | None:
    """The status code an abort set; None until one did (the stubs say it is always set)."""
    code: grpc.StatusCode | None = context.code()
    return code


def _measured(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def call(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        code = OK
        try:
            return await behavior(request, context)
        except BaseException as exc:
            code = _set_code(context) or _code_of(exc)  # an abort set it; anything else is UNKNOWN to the caller
            raise
        finally:
            code = code if code is not OK else (_set_code(context) or OK)
            _record(_server(method, code.name), code, time.perf_counter() - started)

    return call


_methods: dict[object, str] = {}


def method_of(rpc: object) -> str:
    """The path (/pkg.Service/Method) a stub's method calls."""
    name = _methods.get(rpc)
    if name is None:
        raw = getattr(rpc, "_method", b"unknown")  # grpc's multicallables keep their path there
        name = _methods[rpc] = raw.decode() if isinstance(raw, bytes) else str(raw)
    return name


async def client_call(rpc: Callable[..., Awaitable[T]], request: object, **kwargs: Any) -> T:
    """`await rpc(request, **kwargs)`, counted and timed by method and status code."""
    if not metrics.recording:
        return await rpc(request, **kwargs)
    started = time.perf_counter()
    code = OK
    try:
        return await rpc(request, **kwargs)
    except BaseException as exc:
        code = _code_of(exc)
        raise
    finally:
        _record(_client(method_of(rpc), code.name), code, time.perf_counter() - started)
