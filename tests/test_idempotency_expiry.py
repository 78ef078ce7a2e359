"""An expired idempotency key is ignored: on a mesh whose keys live 3 s, a late repeat acts anew."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import Mesh, mesh_config
from tests.idempotency_helpers import OPS, Op, Outcome, call_grpc, call_rest

pytestmark = pytest.mark.integration
TTL_S = 3.0
# A repeat after the TTL runs as a new request: what it then meets.
ANEW = {
    "RegisterRoom": ("OK", {"rooms": 2}),  # a second room
    "RequestReservation": ("ALREADY_EXISTS", {"reservations": 1, "payments": 1, "holds": 1, "nights": 3}),  # held
    "CancelReservation": ("FAILED_PRECONDITION", {"cancelled": 1}),  # cancelled already
    "CreateReview": ("OK", {"reviews": 2}),  # a second review
}


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, httpx.Client]]:
    env = {"BNB_IDEMPOTENCY_TTL_HOURS": str(TTL_S / 3600)}
    with Mesh.start(mesh_config(tmp_path_factory.mktemp("ttl"), env=env)) as mesh:
        with httpx.Client(base_url=mesh.url, timeout=10, trust_env=False) as http:
            yield mesh, http


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_a_repeat_after_the_ttl_acts_anew(short: tuple[Mesh, httpx.Client], protocol: str) -> None:
    mesh, http = short
    with mesh.channel() as channel:

        def send(op: Op, fields: dict, who: str, key: str) -> Outcome:
            if protocol == "rest":
                return call_rest(mesh, http, op, fields, who, key)
            return call_grpc(mesh, channel, op, fields, who, key)

        contexts = [op.prepare(mesh, http, uuid.uuid4().hex[:12]) for op in OPS]
        keys = [str(uuid.uuid4()) for _ in OPS]
        firsts = []
        for op, ctx, key in zip(OPS, contexts, keys, strict=True):
            firsts.append(first := send(op, op.fields(ctx), ctx["who"], key))
            assert send(op, op.fields(ctx), ctx["who"], key) == Outcome("OK", first.reply, "", replayed=True)
        time.sleep(TTL_S + 0.5)  # no readiness to wait for: expiry is the passing of time itself
        for op, ctx, key, first in zip(OPS, contexts, keys, firsts, strict=True):
            late = send(op, op.fields(ctx), ctx["who"], key)
            code, effects = ANEW[op.name]
            assert (late.code, late.replayed) == (code, False), (op.name, late)
            assert late.reply != first.reply and op.effects(mesh, ctx) == effects, op.name
            other = send(op, op.other(ctx), ctx["who"], key)  # the key names the late request now, for a new TTL
            assert (other.code, "used for another request" in other.message) == ("FAILED_PRECONDITION", True), other
