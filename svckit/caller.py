"""Who is calling: today the id the request names; later the subject the edge verified wins."""

from __future__ import annotations

import grpc

SUBJECT_HEADER = "x-bnb-subject"  # set by the edge from a verified JWT (jwt_authn claim_to_headers)


class MissingCaller(ValueError):
    """Neither a verified subject nor an id in the request."""


def resolve_caller(context: grpc.aio.ServicerContext, claimed_id: str, field: str) -> str:
    """The caller's id: the edge-verified subject when present, else `claimed_id` from the request."""
    for key, value in context.invocation_metadata() or ():
        if key == SUBJECT_HEADER and value:
            return str(value)
    if not claimed_id.strip():
        raise MissingCaller(f"{field} is required")
    return claimed_id.strip()
