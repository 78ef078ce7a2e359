"""Domain errors -> gRPC status, declared once per service."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import grpc

from svckit.caller import Context

logger = logging.getLogger(__name__)

T = TypeVar("T")


def status_for(mapping: Mapping[type[Exception], grpc.StatusCode], exc: BaseException) -> grpc.StatusCode | None:
    """The status `mapping` gives `exc` (or one of its base classes); None when it names none."""
    for cls in type(exc).__mro__:
        if cls in mapping:
            return mapping[cls]
    return None


def maps_errors(mapping: dict[type[Exception], grpc.StatusCode]) -> Callable[[type[T]], type[T]]:
    """Class decorator: every async RPC method aborts with the mapped status and the error's message.

    An exception not in the mapping propagates (gRPC answers UNKNOWN and it is logged with its traceback).
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def rpc(self: Any, request: Any, context: Context) -> Any:
            try:
                return await method(self, request, context)
            except Exception as exc:
                code = status_for(mapping, exc)
                if code is None:
                    raise
                logger.info("%s -> %s: %s", method.__name__, code.name, exc)
                await context.abort(code, str(exc))

        return rpc

    def decorate(cls: type[T]) -> type[T]:
        for name, member in list(vars(cls).items()):
            if name[:1].isupper() and inspect.iscoroutinefunction(member):
                setattr(cls, name, wrap(member))
        return cls

    return decorate
