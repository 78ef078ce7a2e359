"""Idempotency keys through the real edge, over REST and gRPC, for the four keyed RPCs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.events_helpers import eventually
from tests.harness import Mesh
from tests.idempotency_helpers import (
    OPS,
    Op,
    Outcome,
    assert_one_reservation,
    at_once,
    call_grpc,
    call_rest,
    one_key_race,
)

pytestmark = pytest.mark.integration
Send = Callable[[Op, dict[str, Any], str, str], Outcome]
# What a stranger gets for the first caller's very request under the first caller's key: never the first reply.
STRANGER = {
    "RegisterRoom": "OK",  # a room of their own
    "RequestReservation": "ALREADY_EXISTS",  # the nights are the first guest's
    "CancelReservation": "NOT_FOUND",  # someone else's reservation
    "CreateReview": "FAILED_PRECONDITION",  # no stay of their own
}


@pytest.fixture(params=["rest", "grpc"])
def send(request: pytest.FixtureRequest, mesh: Mesh, http: httpx.Client) -> Iterator[Send]:
    if request.param == "rest":
        yield lambda op, fields, who, key: call_rest(mesh, http, op, fields, who, key)
        return
    with mesh.channel() as channel:
        yield lambda op, fields, who, key: call_grpc(mesh, channel, op, fields, who, key)


@pytest.fixture(params=OPS, ids=[op.name for op in OPS])
def op(request: pytest.FixtureRequest) -> Op:
    return request.param


def prepared(mesh: Mesh, http: httpx.Client, op: Op) -> dict[str, str]:
    return op.prepare(mesh, http, uuid.uuid4().hex[:12])


def test_a_repeat_gets_the_first_reply_and_does_nothing_more(
    mesh: Mesh, http: httpx.Client, op: Op, send: Send
) -> None:
    ctx, key = prepared(mesh, http, op), str(uuid.uuid4())
    first = send(op, op.fields(ctx), ctx["who"], key)
    again = send(op, op.fields(ctx), ctx["who"], key)
    assert first.code == "OK" and not first.replayed, first
    assert again == Outcome("OK", first.reply, "", replayed=True)
    assert op.effects(mesh, ctx) == op.once
    without_key = send(op, op.fields(ctx), ctx["who"], "")  # the key made the difference: this one acts anew
    assert without_key.reply != first.reply


def test_twenty_at_once_with_one_key_have_one_effect(mesh: Mesh, http: httpx.Client, op: Op, send: Send) -> None:
    ctx, key = prepared(mesh, http, op), str(uuid.uuid4())
    results = at_once(20, lambda: send(op, op.fields(ctx), ctx["who"], key))
    done = [r for r in results if r.code == "OK"]
    assert done and all(r.reply == done[0].reply for r in done), results
    assert [r.replayed for r in done].count(False) == 1, results  # the one call that acted
    waited = [r for r in results if r.code != "OK"]
    if op.name == "RequestReservation":  # a saga: repeats while it runs are told so (409), not held
        assert all(r.code == "ABORTED" and "still in progress" in r.message for r in waited), waited
    else:  # one transaction: the database makes a repeat wait for the first, whose reply it then gets
        assert waited == []
    assert send(op, op.fields(ctx), ctx["who"], key) == Outcome("OK", done[0].reply, "", replayed=True)
    assert op.effects(mesh, ctx) == op.once


def test_the_same_key_with_another_body_is_refused(mesh: Mesh, http: httpx.Client, op: Op, send: Send) -> None:
    ctx, key = prepared(mesh, http, op), str(uuid.uuid4())
    first = send(op, op.fields(ctx), ctx["who"], key)
    other = send(op, op.other(ctx), ctx["who"], key)
    message = f"idempotency key {key!r} was used for another request; a new request needs a new key"
    assert (first.code, other) == ("OK", Outcome("FAILED_PRECONDITION", {}, message, replayed=False))
    assert op.effects(mesh, ctx) == op.once
    assert send(op, op.fields(ctx), ctx["who"], key).reply == first.reply  # the key still answers its own


def test_another_callers_same_key_never_gets_the_first_reply(
    mesh: Mesh, http: httpx.Client, op: Op, send: Send
) -> None:
    ctx, key = prepared(mesh, http, op), str(uuid.uuid4())
    first = send(op, op.fields(ctx), ctx["who"], key)
    stranger = f"{ctx['who'][:2]}stranger-{uuid.uuid4().hex[:8]}"
    theirs = send(op, op.fields(ctx), stranger, key)  # the very same request, with the same key
    assert first.code == "OK" and theirs.code == STRANGER[op.name], theirs
    assert theirs.reply != first.reply and not theirs.replayed
    assert op.effects(mesh, ctx) == op.once
    assert send(op, op.fields(ctx), ctx["who"], key) == Outcome("OK", first.reply, "", replayed=True)


def test_a_malformed_key_is_refused_and_nothing_is_written(mesh: Mesh, http: httpx.Client, send: Send) -> None:
    op = OPS[0]
    ctx = prepared(mesh, http, op)
    refused = send(op, op.fields(ctx), ctx["who"], "k" * 129)
    assert (refused.code, "printable ASCII" in refused.message) == ("INVALID_ARGUMENT", True), refused
    assert op.effects(mesh, ctx) == {"rooms": 0}


def test_a_kept_refusal_is_replayed_even_after_the_world_changed(mesh: Mesh, http: httpx.Client, send: Send) -> None:
    op, ctx = OPS[1], prepared(mesh, http, OPS[1])  # RequestReservation of a room another guest holds
    taken = send(op, op.fields(ctx), f"g-first-{uuid.uuid4().hex[:8]}", "")
    key = str(uuid.uuid4())
    refused = send(op, op.fields(ctx), ctx["who"], key)
    assert (taken.code, refused.code) == ("OK", "ALREADY_EXISTS")
    cancel = send(OPS[2], {"reservation_id": taken.reply["reservation_id"]}, taken.reply["guest_id"], "")
    assert cancel.code == "OK"
    eventually(lambda: op.effects(mesh, ctx)["nights"] == 0)  # released, by events: the nights are free again
    again = send(op, op.fields(ctx), ctx["who"], key)  # the refusal stands for this key...
    assert (again.code, again.message) == (refused.code, refused.message)
    assert send(op, op.fields(ctx), ctx["who"], str(uuid.uuid4())).code == "OK"  # ...a new key may try anew


def test_twenty_identical_reservations_at_once_one_reservation_one_payment(mesh: Mesh, http: httpx.Client) -> None:
    results, ctx = asyncio.run(one_key_race(mesh, http, 20))
    assert_one_reservation(mesh, http, results, ctx)
