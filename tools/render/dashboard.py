"""The browser dashboard at the edge: Envoy answers its files itself (direct_response), and in development
the demo users' tokens; envoy/dashboard/ holds the files (plain ES modules: no build step)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.launcher import tokens
from tools.launcher.tokens import Identity

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "envoy" / "dashboard"
PREFIX = "/ui/"
DEMO_TOKENS = "demo-tokens.json"
DEMO_USERS = (("h1", "host"), ("h2", "host"), ("g1", "guest"), ("g2", "guest"))
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".png": "image/png"}  # fmt: skip
# Envoy reads each file once, at start-up, and refuses a body over this (its default is 4 KiB).
MAX_BODY_BYTES = 1024 * 1024
TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
DISABLED = {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}


def served() -> list[Path]:
    """The files served under /ui/ (the screenshot in the README is not one of them)."""
    return sorted(p for p in FILES.iterdir() if p.suffix in (".html", ".js", ".css"))


def write_demo_tokens(data_dir: Path, identity: Identity, out_dir: Path) -> Path | None:
    """Tokens of the demo users, signed with the development key: only when the edge verifies that key (never
    with BNB_JWKS: in production nothing is minted)."""
    if identity.jwks != str(data_dir / "keys" / "jwks.json"):  # tools.launcher.tokens.ensure_keys writes it there
        return None
    minted = [{"subject": s, "role": r, "token": tokens.mint(data_dir, s, r)} for s, r in DEMO_USERS]
    path = out_dir / DEMO_TOKENS
    path.write_text(json.dumps({"users": minted}, indent=1))
    return path


def _file(path: str, file: Path, exact: bool = True) -> dict[str, Any]:
    content_type = TYPES[file.suffix]
    return {
        "match": {"path": path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
        "direct_response": {"status": 200, "body": {"filename": str(file)}},
        "response_headers_to_add": [
            {"header": {"key": "content-type", "value": content_type}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            {"header": {"key": "cache-control", "value": "no-cache"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            {"header": {"key": "x-content-type-options", "value": "nosniff"}},
        ],
        "typed_per_filter_config": {TRANSCODER: DISABLED},  # not a REST call: no method to resolve
    }


def routes(demo_tokens: Path | None = None) -> list[dict[str, Any]]:
    """`/` (the page) and `/ui/<file>`, before the API's routes; /ui/demo-tokens.json only when given."""
    files = [_file("/", FILES / "index.html"), *(_file(PREFIX + f.name, f) for f in served())]
    return files + ([_file(PREFIX + DEMO_TOKENS, demo_tokens)] if demo_tokens else [])
