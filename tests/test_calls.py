"""svckit.calls, the client side of sync calls: the deadline passed on, retries left to the mesh."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from svckit.caller import GUEST, on_behalf_of
from svckit.calls import Deadline, DeadlineSpent, call


def _error(code: grpc.StatusCode, details: str = "", overloaded: bool = False) -> grpc.aio.AioRpcError:
    headers = grpc.aio.Metadata(("x-envoy-overloaded", "true")) if overloaded else grpc.aio.Metadata()
    return grpc.aio.AioRpcError(code, headers, grpc.aio.Metadata(), details=details)


class FlakyRpc:
    """Fails with the given errors, then answers "ok"; records each call's timeout and metadata."""

    def __init__(self, *errors: grpc.aio.AioRpcError) -> None:
        self.errors = list(errors)
        self.timeouts: list[float] = []
        self.metadata: list[Any] = []

    async def __call__(self, request: Any, timeout: float, metadata: object = ()) -> str:  # noqa: ASYNC109 (a stub's signature)
        self.timeouts.append(timeout)
        self.metadata.append(metadata)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run_call(rpc: FlakyRpc, seconds: float = 2.0, calls: int = 1, metadata: tuple = ()) -> list[Any]:
    async def go() -> list[Any]:
        deadline, outcomes = Deadline(seconds), list[Any]()
        for _ in range(calls):
            try:
                outcomes.append(await call(rpc, object(), deadline, metadata))
            except grpc.aio.AioRpcError as exc:
                outcomes.append(exc.code())
        return outcomes

    return asyncio.run(go())


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "error",
    [
        _error(UNAVAILABLE),  # Envoy already retried it on another replica (the route's retry policy)
        _error(UNAVAILABLE, overloaded=True),  # Envoy's breaker overflowed
        _error(UNAVAILABLE, "no healthy upstream"),  # Envoy's breaker is open
        _error(grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
)
def test_a_failed_call_is_not_retried_by_the_client(error: grpc.aio.AioRpcError) -> None:
    rpc = FlakyRpc(error)
    assert run_call(rpc) == [error.code()] and len(rpc.timeouts) == 1


def test_calls_of_one_request_share_its_deadline() -> None:
    rpc = FlakyRpc()
    assert run_call(rpc, calls=3) == ["ok"] * 3
    assert all(t <= 2.0 for t in rpc.timeouts)
    assert rpc.timeouts == sorted(rpc.timeouts, reverse=True)  # one deadline shared, never a fresh one


def test_the_callers_metadata_goes_with_every_call() -> None:
    rpc = FlakyRpc()
    assert run_call(rpc, calls=2, metadata=on_behalf_of("g1", GUEST)) == ["ok"] * 2
    assert rpc.metadata == [(("x-bnb-subject", "g1"), ("x-bnb-role", "guest"))] * 2


def test_spent_deadline_fails_without_calling() -> None:
    rpc = FlakyRpc()
    assert run_call(rpc, seconds=0.0) == [grpc.StatusCode.DEADLINE_EXCEEDED] and rpc.timeouts == []
    assert issubclass(DeadlineSpent, grpc.aio.AioRpcError)


class _Context:
    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


def test_deadline_passes_the_callers_remaining_time_on_less_a_margin() -> None:
    assert 0.9 < Deadline.of(_Context(1.0), 5.0).remaining() < 1.0  # type: ignore[arg-type]
    assert 4.9 < Deadline.of(_Context(None), 5.0).remaining() <= 5.0  # type: ignore[arg-type]
