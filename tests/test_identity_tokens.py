"""Only a valid token gets past the edge: every RPC, REST and gRPC, with no token and with each wrong one."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest

from tests.harness import Mesh
from tests.identity_helpers import (
    INTRUDER,
    PRIVATE_GRPC,
    PRIVATE_REST,
    PUBLIC_GRPC,
    PUBLIC_REST,
    bearer,
    call,
    hand_signed,
    wrong_tokens,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wrong(mesh: Mesh, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return wrong_tokens(mesh, Path(tmp_path_factory.mktemp("another-issuer")))


def _unauthenticated(reply: httpx.Response) -> str:
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"].startswith("Bearer")
    body = reply.json()
    assert body["code"] == 16 and body["message"], body  # UNAUTHENTICATED, with Envoy's reason
    return body["message"]


@pytest.mark.parametrize(("method", "path", "body"), PRIVATE_REST)
def test_rest_without_a_token_is_401(http: httpx.Client, method: str, path: str, body: dict | None) -> None:
    assert _unauthenticated(http.request(method, path, json=body)) == "Jwt is missing"


def test_rest_with_a_wrong_token_is_401_everywhere(http: httpx.Client, wrong: dict[str, str]) -> None:
    """A sent token is verified on the public reads too."""
    for name, token in wrong.items():
        for method, path, body in [*PRIVATE_REST, *(("GET", p, None) for p in PUBLIC_REST)]:
            reply = http.request(method, path, json=body, headers=bearer(token))
            assert reply.status_code == 401, (name, method, path, reply.text)
            _unauthenticated(reply)


def test_each_wrong_token_gets_its_own_reason(http: httpx.Client, wrong: dict[str, str]) -> None:
    reasons = {name: _unauthenticated(http.get("/payments", headers=bearer(t))) for name, t in wrong.items()}
    assert reasons["expired"] == "Jwt is expired"
    assert reasons["not yet valid"] == "Jwt not yet valid"
    assert reasons["wrong issuer"] == "Jwt issuer is not configured"
    assert reasons["wrong audience"] == "Audiences in Jwt are not allowed"
    assert reasons["tampered payload"] == reasons["another key, our kid"] == "Jwt verification fails"
    assert reasons["unknown key"] == "Jwks doesn't have key to match kid or alg from Jwt"
    assert reasons["alg none"] == reasons["malformed"]  # no signature: not even a JWT to Envoy
    assert reasons["alg none, with a signature"] == "Jwt header [alg] is not supported"
    assert reasons["alg HS256 with the public key"] == "Jwks doesn't have key to match kid or alg from Jwt"
    assert reasons["malformed"].startswith("Jwt is not in the form of Header.Payload.Signature")
    assert reasons["no expiry"] == "Jwt verification fails"  # required (require_expiration); Envoy's wording


def test_a_hand_signed_token_with_every_claim_passes(mesh: Mesh, http: httpx.Client) -> None:
    """The control for the wrong tokens made the same way: only what each one changed is refused."""
    reply = http.get("/payments", headers=bearer(hand_signed(mesh, "g-hand")))
    assert reply.status_code == 200 and reply.json()["payments"] == [], reply.text


def test_grpc_without_or_with_a_wrong_token_is_unauthenticated(mesh: Mesh, wrong: dict[str, str]) -> None:
    with mesh.channel() as channel:
        for token in [None, *wrong.values()]:
            for stub, method, request in PRIVATE_GRPC + (PUBLIC_GRPC if token else []):
                with pytest.raises(grpc.RpcError) as failed:
                    call(channel, stub, method, request, token)
                assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED, (method, token)
                assert not (failed.value.details() or "").startswith("{")  # gRPC callers get the reason, not JSON


def test_nothing_was_written_for_the_intruder(mesh: Mesh, http: httpx.Client, wrong: dict[str, str]) -> None:
    for method, path, body in PRIVATE_REST:  # once more, with the intruder's ids in the bodies
        for token in wrong.values():
            http.request(method, path, json=body and {**body, "guest_id": INTRUDER}, headers=bearer(token))
    as_intruder = mesh.headers(INTRUDER, "guest")
    for path, key in (("/reservations", "reservations"), ("/payments", "payments"), ("/messages", "messages")):
        assert http.get(path, headers=as_intruder).json()[key] == []
    assert http.get("/rooms", params={"host_id": INTRUDER}).json()["rooms"] == []


def test_the_catalogue_is_public(mesh: Mesh, http: httpx.Client) -> None:
    for path in ("/rooms", "/reviews", "/roomviews"):
        assert http.get(path).status_code == 200, path
    for path in ("/rooms/nope", "/roomviews/nope"):
        assert http.get(path).json()["code"] == 5  # reached the service: NOT_FOUND, not 401
    with mesh.channel() as channel:
        for stub, method, request in PUBLIC_GRPC:
            call(channel, stub, method, request)


def test_a_valid_token_passes_and_names_the_caller(mesh: Mesh, http: httpx.Client) -> None:
    reply = http.post(
        "/rooms", json={"description": "Mine", "price_per_night": 7}, headers=mesh.headers("h-ok", "host")
    )
    assert reply.status_code == 200 and reply.json()["host_id"] == "h-ok", reply.text
