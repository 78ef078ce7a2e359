"""The development issuer: one key pair kept in the data dir, its JWKS, and the tokens `make token` prints."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import jwt
import pytest

from tools.launcher import tokens

ROOT = Path(__file__).resolve().parent.parent


def test_the_key_pair_is_made_once_and_kept(tmp_path: Path) -> None:
    jwks = tokens.ensure_keys(tmp_path)
    private = tmp_path / "keys" / "signing-key.pem"
    first = (private.read_bytes(), jwks.read_text())
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (private.read_bytes(), tokens.ensure_keys(tmp_path).read_text()) == first


def test_a_token_carries_the_claims_and_verifies_against_the_jwks(tmp_path: Path) -> None:
    token = tokens.mint(tmp_path, "g1", "guest")
    keys = jwt.PyJWKSet.from_json(tokens.ensure_keys(tmp_path).read_text())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == keys.keys[0].key_id
    claims = jwt.decode(token, keys[header["kid"]], algorithms=["ES256"], audience="bnb-mesh", issuer="bnb-mesh-dev")
    assert (claims["sub"], claims["role"]) == ("g1", "guest")
    assert abs(claims["exp"] - time.time() - 24 * 3600) < 60 and claims["nbf"] <= time.time()
    other = tmp_path / "other"
    with pytest.raises(jwt.InvalidSignatureError):  # another data dir, another key
        jwt.decode(tokens.mint(other, "g1", "guest"), keys[header["kid"]], algorithms=["ES256"], audience="bnb-mesh")


def make_token(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "BNB_JWKS"} | {"BNB_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(["make", "-s", "token", *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_make_token_prints_one_line_for_a_guest_or_a_host(tmp_path: Path) -> None:
    for arg, role in (("GUEST=g1", "guest"), ("HOST=h1", "host")):
        result = make_token(tmp_path, arg)
        assert result.returncode == 0, result.stderr
        [line] = result.stdout.splitlines()
        claims = jwt.decode(line, options={"verify_signature": False})
        assert (claims["sub"], claims["role"]) == (arg.split("=")[1], role)
    assert make_token(tmp_path).returncode != 0  # neither: a usage error


def test_make_token_refuses_to_mint_for_a_real_issuer(tmp_path: Path) -> None:
    result = make_token(tmp_path, "GUEST=g1", BNB_JWKS="https://auth.example.com/jwks.json")
    assert result.returncode != 0 and "tokens come from your issuer" in result.stderr and result.stdout == ""


def test_identity_settings_replace_the_development_key(tmp_path: Path) -> None:
    env = {"BNB_JWT_ISSUER": "https://auth.example.com/", "BNB_JWT_AUDIENCE": "shop", "BNB_JWKS": "/etc/jwks.json"}
    assert tokens.Identity.from_env(tmp_path, env) == tokens.Identity("https://auth.example.com/", "shop",
                                                                       "/etc/jwks.json")  # fmt: skip
    assert not (tmp_path / "keys").exists()  # nothing minted, nothing made
    assert tokens.Identity.from_env(tmp_path, {}).jwks == str(tmp_path / "keys" / "jwks.json")
