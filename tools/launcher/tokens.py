"""The development issuer: an ES256 key pair in the data dir, the JWKS Envoy verifies against, and tokens.

`make run` creates the key pair on first start and keeps it; `make -s token GUEST=g1` (or HOST=h1) prints a
token valid for 24 h. In production BNB_JWKS names the real issuer's keys and nothing is minted here.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from tools import topology

ROOT = Path(__file__).resolve().parents[2]
ALGORITHM = "ES256"
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Identity:
    """What the edge verifies: the issuer, the audience and the keys (a JWKS file, or an https:// URI)."""

    issuer: str
    audience: str
    jwks: str

    @classmethod
    def from_env(cls, data_dir: Path, environ: Mapping[str, str] = os.environ) -> Identity:
        """BNB_JWT_ISSUER, BNB_JWT_AUDIENCE and BNB_JWKS; without BNB_JWKS, the development key in `data_dir`."""
        auth = topology.load().auth
        jwks = environ.get("BNB_JWKS") or str(ensure_keys(data_dir))
        return cls(environ.get("BNB_JWT_ISSUER") or auth.issuer, environ.get("BNB_JWT_AUDIENCE") or auth.audience, jwks)


def _paths(data_dir: Path) -> tuple[Path, Path]:
    keys = data_dir / "keys"
    return keys / "signing-key.pem", keys / "jwks.json"


def _kid(public: ec.EllipticCurvePublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


def ensure_keys(data_dir: Path) -> Path:
    """The development key pair under `data_dir`/keys, created once (the private key readable by us only);
    returns the JWKS file."""
    private_path, jwks_path = _paths(data_dir)
    if not private_path.exists():
        private_path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    public = _private_key(data_dir).public_key()
    jwk = {**ECAlgorithm.to_jwk(public, as_dict=True), "kid": _kid(public), "alg": ALGORITHM, "use": "sig"}
    jwks = json.dumps({"keys": [jwk]}, indent=1)
    if not jwks_path.exists() or jwks_path.read_text() != jwks:
        jwks_path.write_text(jwks)
    return jwks_path


def _private_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(_paths(data_dir)[0].read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def mint(data_dir: Path, subject: str, role: str, ttl_s: int = DAY_S, **claims: object) -> str:
    """A development token for `subject` as `role`, signed with the key in `data_dir`; `claims` override any
    claim (iss=..., aud=..., exp=...): the tests use them to make wrong tokens."""
    ensure_keys(data_dir)
    auth, key = topology.load().auth, _private_key(data_dir)
    now = int(time.time())
    body = {"sub": subject, "role": role, "iss": auth.issuer, "aud": auth.audience, "iat": now, "nbf": now,
            "exp": now + ttl_s, **claims}  # fmt: skip
    return jwt.encode(body, key, algorithm=ALGORITHM, headers={"kid": _kid(key.public_key())})


def main() -> None:
    parser = argparse.ArgumentParser(description="print a development token: --guest g1 or --host h1")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--guest")
    who.add_argument("--host")
    parser.add_argument("--ttl", type=int, default=DAY_S, help="seconds (default 24 h)")
    args = parser.parse_args()
    if os.environ.get("BNB_JWKS"):
        sys.exit("BNB_JWKS is set: tokens come from your issuer, not from this development key")
    data_dir = Path(os.environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve()
    subject, role = (args.guest, "guest") if args.guest else (args.host, "host")
    print(mint(data_dir, subject, role, args.ttl))


if __name__ == "__main__":
    main()
