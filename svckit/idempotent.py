"""Idempotency keys at the servicer: read a call's `idempotency-key`, replay what the key holds, keep refusals.

REST clients send the `Idempotency-Key` header; Envoy's transcoder passes it on as gRPC metadata. The storage
rules are svckit.idempotency's.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from svckit import caller
from svckit.caller import Context
from svckit.db import Database
from svckit.grpcerrors import status_for
from svckit.idempotency import Answer, InProgress, Key, KeyReused, Replay, lookup, refused

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)
HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"  # "true" on a reply replayed from its key
MAX_KEY = 128
# Refusals by the service's own rules: the same request would be refused again, so its key keeps the answer.
# Any other failure (unavailable, timed out, over a limit, not allowed, a bug) leaves the key free for a retry.
KEPT = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
})  # fmt: skip
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class BadKey(ValueError):
    """The idempotency key is not 1 to 128 printable ASCII characters, or there are several."""


KEY_ERRORS = {
    BadKey: grpc.StatusCode.INVALID_ARGUMENT,
    KeyReused: grpc.StatusCode.FAILED_PRECONDITION,
    InProgress: grpc.StatusCode.ABORTED,
}


def _valid(value: str) -> bool:
    return 1 <= len(value) <= MAX_KEY and all("!" <= ch <= "~" for ch in value)


class Keys:
    """A servicer's idempotency keys: its database, how long a key is kept, and the status of each error."""

    def __init__(self, db: Database, ttl_s: float, errors: Mapping[type[Exception], grpc.StatusCode]) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.errors = errors

    def keeps(self, error: BaseException) -> grpc.StatusCode | None:
        """The status to keep under a key for `error`, or None (the key stays free)."""
        if isinstance(error, (BadKey, KeyReused, InProgress, Replay)):
            return None
        code = status_for(self.errors, error)
        return code if code in KEPT else None

    def of(self, context: Context, request: Message, encode: Callable[[Any], Message]) -> Key | None:
        """The call's key, scoped to the caller the edge verified; None without a key (or without a caller,
        whom the call itself then refuses). `encode` makes the reply of the handler's result."""
        values = [str(value) for name, value in context.invocation_metadata() or () if name == HEADER]
        who = caller.verified(context)
        if not values or who is None:
            return None
        if len(values) > 1 or not _valid(values[0]):
            raise BadKey(f"send one idempotency key of 1 to {MAX_KEY} printable ASCII characters (a UUID, say)")
        fingerprint = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        return Key(
            caller=who.subject,
            role=who.role,
            operation=request.DESCRIPTOR.full_name,
            value=values[0],
            fingerprint=fingerprint,
            ttl_s=self.ttl_s,
            encode=lambda result: encode(result).SerializeToString(),
            keeps=self.keeps,
        )


Keyed = Callable[[Any, Any, Context, Key | None], Awaitable[M]]
Rpc = Callable[[Any, Any, Context], Coroutine[Any, Any, M]]


def idempotent(reply_type: type[M], encode: Callable[[Any], M]) -> Callable[[Keyed[M]], Rpc[M]]:
    """Decorate an RPC method of a servicer that has `keys: Keys`: the method gets the call's Key (or None) to pass
    to its handler, which claims it (svckit.idempotency.claim) and stores the reply (finish) with its effect.

    What the key already holds is answered without calling the method: the stored reply, with initial metadata
    `idempotent-replayed: true`, or the stored refusal; a refusal the method raises is kept under the key.
    `encode` makes the reply of the handler's result, as the method does.
    """

    def decorate(method: Keyed[M]) -> Rpc[M]:
        @functools.wraps(method)
        async def rpc(self: Any, request: Any, context: Context) -> M:
            keys: Keys = self.keys
            key = keys.of(context, request, encode)
            if key is None:
                return await method(self, request, context, None)
            try:
                await keys.db.run(lookup, keys.db, key)
                return await method(self, request, context, key)
            except Replay as replay:
                return await _replay(replay.answer, reply_type, context, key)
            except Exception as error:
                if keys.keeps(error) is not None:
                    try:
                        await keys.db.run(refused, keys.db, key, error)
                    except Exception:  # the key stays free: a retry runs anew, as after a passing fault
                        logger.exception("could not keep %s's refusal under idempotency key %r", key.caller, key.value)
                raise

        rpc.__dict__["takes_idempotency_key"] = True  # what the edge's keyed retry relies on
        return rpc

    return decorate


async def _replay(answer: Answer, reply_type: type[M], context: Context, key: Key) -> M:
    logger.info("%s of %s %s: replaying idempotency key %r", key.operation, key.role, key.caller, key.value)
    if answer.code != 0:
        await context.abort(_CODES[answer.code], answer.message)
    await context.send_initial_metadata(((REPLAYED_HEADER, "true"),))
    return reply_type.FromString(answer.reply)
