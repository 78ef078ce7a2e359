"""Who is calling: the subject and role the edge verified from a JWT. The one place that reads them.

The edge (Envoy's jwt_authn locally, the gateway's RequestAuthentication in Istio) strips these headers from
every request that arrives from outside and sets them from a verified token only (envoy/mesh.toml [auth]).
A service port is reached only through Envoy, so a service believes them. On a saga's internal calls the
reservation service sets them on the guest's behalf: that guest is the one the edge verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc

from svckit.ids import MAX_ID_LENGTH, InvalidId, check_id, is_id

SUBJECT_HEADER = "x-bnb-subject"
ROLE_HEADER = "x-bnb-role"
VIA_HEADER = "x-bnb-via"  # "mesh": set by the mesh listener's internal routes
GUEST, HOST = "guest", "host"
# A request field naming a person, and the role that person has: a guest_id is always a guest's.
ID_FIELDS = {"guest_id": GUEST, "host_id": HOST}
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"  # an incoming call's, whatever its method's types
MethodHandler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # a served method, whatever its types


class Unauthenticated(Exception):
    """No verified caller: the call needs a bearer token."""


class PermissionDenied(Exception):
    """The verified caller may not make this call."""


ERRORS = {
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    InvalidId: grpc.StatusCode.INVALID_ARGUMENT,
}


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str  # "guest", "host", or what else the token said (which no call accepts)

    @property
    def is_guest(self) -> bool:
        return self.role == GUEST


def _headers(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    wanted = (SUBJECT_HEADER, ROLE_HEADER, VIA_HEADER)
    return {key: str(value) for key, value in metadata or () if key in wanted}


def verified(context: Context) -> Caller | None:
    """The caller the edge verified, or None (no token, on a public read)."""
    headers = _headers(context.invocation_metadata())
    subject = headers.get(SUBJECT_HEADER, "")
    return Caller(subject, headers.get(ROLE_HEADER, "")) if subject else None


def resolve_caller(context: Context, *roles: str, **claimed: str) -> Caller:
    """The verified caller, who must have one of `roles`.

    `claimed` are the request's optional ids (guest_id=..., host_id=...): each one given must be the caller's
    own, in the role the field names. UNAUTHENTICATED without a caller, or when the token's subject is not an
    id (svckit.ids); INVALID_ARGUMENT for a claimed id that is not one; PERMISSION_DENIED otherwise.
    """
    caller = verified(context)
    if caller is None:
        raise Unauthenticated("this call needs a signed-in caller: send authorization: Bearer <token>")
    if not is_id(caller.subject):
        raise Unauthenticated(f"the token's subject is not an id: at most {MAX_ID_LENGTH} printable ASCII characters")
    if caller.role not in roles:
        raise PermissionDenied(f"a {caller.role or 'caller without a role'} may not do this; it takes a {_or(roles)}")
    for field, value in claimed.items():
        check_id(field, value)
        if value and (ID_FIELDS[field] != caller.role or value != caller.subject):
            raise PermissionDenied(f"{field} {value!r} is not you: you are {caller.role} {caller.subject!r}")
    return caller


def _or(roles: tuple[str, ...]) -> str:
    return " or ".join(roles)


def require_mesh(context: Context) -> None:
    """An internal RPC: only through the mesh listener (whose routes set x-bnb-via), never from the edge."""
    if _headers(context.invocation_metadata()).get(VIA_HEADER) != "mesh":
        raise PermissionDenied("an internal call: only the mesh may make it")


def on_behalf_of(subject: str, role: str) -> tuple[tuple[str, str], ...]:
    """Metadata for an internal call made for this verified caller."""
    return (SUBJECT_HEADER, subject), (ROLE_HEADER, role)
