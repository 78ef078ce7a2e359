"""Prometheus metrics of every service: gRPC calls served and made, sagas, the outbox relay, the consumers.

Each labelled child is bound once and cached, so that a call or an event costs a dict look-up, a counter
increment and a histogram bucket, not a label look-up with its lock and string work. Numbers that live in the
database or in JetStream (unsent rows, dead letters, pending messages) are read when Prometheus scrapes or on a
slow timer (svckit.gauges), never on the hot path. A process that serves no metrics records none (install).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import grpc
from prometheus_client import Counter, Histogram

from svckit.caller import Context, MethodHandler

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
OK = grpc.StatusCode.OK
# Seconds: a hop is a few ms, a saga tens of ms; a call that times out ends at its deadline (5 s by default).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

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
SAGA_OUTCOMES = Counter("bnb_saga_outcomes", "Sagas ended: approved, or refused by reason", ["result", "reason"])
SAGA_COMPENSATIONS = Counter("bnb_saga_compensations", "Saga steps undone, by step and result", ["step", "result"])
SAGAS_RECOVERED = Counter("bnb_sagas_recovered", "Sagas a crash or an outage left pending, compensated by recovery")
OUTBOX_PUBLISHED = Counter("bnb_outbox_published", "Events the outbox relay published (PubAck received)")
OUTBOX_FAILURES = Counter("bnb_outbox_publish_failures", "Event publishes that got no PubAck (retried)")
HANDLING_SECONDS = Histogram(
    "bnb_consumer_handling_seconds", "Time a consumer's handler took per event", ["durable", "type"], buckets=BUCKETS
)
DUPLICATES = Counter("bnb_consumer_duplicates", "Events the inbox recognised as handled already", ["durable"])
REDELIVERIES = Counter("bnb_consumer_redeliveries", "Messages delivered more than once", ["durable"])
DEAD_LETTERED = Counter("bnb_consumer_dead_letters", "Messages dead-lettered by this process", ["durable"])


# Off (install(False)) in a process that serves no /metrics: then every function below returns at once, and the
# server installs no interceptor, so the bench can measure the mesh without its instrumentation.
recording = True


def install(on: bool) -> None:
    """Record metrics from now on (`on`), or nothing at all; svckit.server calls it with "a port serves them"."""
    global recording
    recording = on


def _binder(*metrics: Any) -> Callable[..., tuple[Any, ...]]:
    """labels(...) of each metric, once per distinct label values."""
    bound: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def children(*values: str) -> tuple[Any, ...]:
        found = bound.get(values)
        if found is None:
            found = bound[values] = tuple(metric.labels(*values) for metric in metrics)
        return found

    return children


_server = _binder(SERVER_REQUESTS, SERVER_ERRORS, SERVER_SECONDS)
_client = _binder(CLIENT_REQUESTS, CLIENT_ERRORS, CLIENT_SECONDS)
_outcome = _binder(SAGA_OUTCOMES)
_compensation = _binder(SAGA_COMPENSATIONS)
_handling = _binder(HANDLING_SECONDS)
_durable = _binder(DUPLICATES, REDELIVERIES, DEAD_LETTERED)


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


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """[the server metrics interceptor] while recording, else nothing to install."""
    return [ServerMetrics()] if recording else []


class ServerMetrics(grpc.aio.ServerInterceptor):
    """Requests, errors and durations of every unary call served, by method and status code."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[MethodHandler, MethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler | None:
        handler = await continuation(handler_call_details)  # always: the interceptors after this one run per call
        if handler is None or handler.unary_unary is None:
            return handler  # an unknown method, or a stream (health Watch, reflection)
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped: MethodHandler = handler._replace(  # type: ignore[attr-defined]  # a namedtuple; the stubs hide it
            unary_unary=_measured(method, handler.unary_unary)
        )
        self._wrapped[method] = (handler, wrapped)
        return wrapped


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
    if not recording:
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


def saga_outcome(
    refusals: tuple[type[BaseException], ...], uncounted: tuple[type[BaseException], ...] = ()
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Count what the decorated saga ends in: approved when it returns; refused, with the refusal's class name as
    the reason, when it raises one of `refusals` ("internal" for another error, "cancelled" when cancelled).
    What raises one of `uncounted` (a replayed answer) ran no saga."""

    def decorate(saga: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(saga)
        async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            if not recording:
                return await saga(*args, **kwargs)
            try:
                result = await saga(*args, **kwargs)
            except uncounted:
                raise
            except refusals as exc:
                _outcome("refused", type(exc).__name__)[0].inc()
                raise
            except Exception:
                _outcome("refused", "internal")[0].inc()
                raise
            except BaseException:
                _outcome("refused", "cancelled")[0].inc()
                raise
            _outcome("approved", "")[0].inc()
            return result

        return counted

    return decorate


def recovered() -> None:
    if recording:
        SAGAS_RECOVERED.inc()


def compensated(step: str, done: bool) -> None:
    if recording:
        _compensation(step, "done" if done else "failed")[0].inc()


def handled(durable: str, event_type: str, seconds: float) -> None:
    if recording:
        _handling(durable, event_type)[0].observe(seconds)


def duplicate(durable: str) -> None:
    if recording:
        _durable(durable)[0].inc()


def redelivered(durable: str, messages: int = 1) -> None:
    if recording:
        _durable(durable)[1].inc(messages)


def dead_lettered(durable: str) -> None:
    if recording:
        _durable(durable)[2].inc()


def published(ok: int, failed: int) -> None:
    """The outbox relay's publishes: `ok` PubAck'd, `failed` without one (to be retried)."""
    if recording:
        OUTBOX_PUBLISHED.inc(ok)
        if failed:
            OUTBOX_FAILURES.inc(failed)
