"""svckit.caller: who the verified caller is, what they may claim, and the mesh-only check. No network."""

from __future__ import annotations

import pytest

from svckit import caller
from svckit.caller import GUEST, HOST, Caller, PermissionDenied, Unauthenticated, require_mesh, resolve_caller
from svckit.testing import StandIn
from tools import topology


class Context(StandIn):  # stands in for a grpc.aio.ServicerContext
    def __init__(self, *metadata: tuple[str, str]) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata


def as_(subject: str, role: str, *more: tuple[str, str]) -> Context:
    return Context(*caller.on_behalf_of(subject, role), *more)


def test_the_headers_are_the_ones_the_edge_sets() -> None:
    auth = topology.load().auth
    assert (caller.SUBJECT_HEADER, caller.ROLE_HEADER, caller.VIA_HEADER) == auth.headers


def test_the_verified_subject_and_role_are_the_caller() -> None:
    assert resolve_caller(as_("g1", GUEST), GUEST) == Caller("g1", GUEST)
    assert resolve_caller(as_("h1", HOST), GUEST, HOST) == Caller("h1", HOST)
    assert resolve_caller(as_("g1", GUEST), GUEST, guest_id="g1", host_id="").subject == "g1"


@pytest.mark.parametrize("context", [Context(), Context(("x-bnb-role", GUEST)), Context(("x-bnb-subject", ""))])
def test_no_verified_subject_is_unauthenticated(context: Context) -> None:
    with pytest.raises(Unauthenticated, match="Bearer"):
        resolve_caller(context, GUEST, HOST)


def test_an_id_in_the_request_counts_for_nothing_without_a_verified_subject() -> None:
    with pytest.raises(Unauthenticated):
        resolve_caller(Context(("guest_id", "g1")), GUEST, guest_id="g1")


@pytest.mark.parametrize(
    ("context", "roles", "claimed", "message"),
    [
        (as_("g1", GUEST), (HOST,), {}, "a guest may not do this; it takes a host"),
        (as_("g1", ""), (GUEST, HOST), {}, "a caller without a role may not"),
        (as_("a1", "admin"), (GUEST, HOST), {}, "an? admin may not"),
        (as_("g1", GUEST), (GUEST,), {"guest_id": "g2"}, "guest_id 'g2' is not you: you are guest 'g1'"),
        (as_("g1", GUEST), (GUEST, HOST), {"host_id": "g1"}, "host_id 'g1' is not you"),
        (as_("h1", HOST), (GUEST, HOST), {"guest_id": "h1"}, "guest_id 'h1' is not you: you are host 'h1'"),
    ],
)
def test_a_wrong_role_or_someone_elses_id_is_denied(
    context: Context, roles: tuple[str, ...], claimed: dict[str, str], message: str
) -> None:
    with pytest.raises(PermissionDenied, match=message):
        resolve_caller(context, *roles, **claimed)


def test_internal_calls_need_the_mesh_listeners_header() -> None:
    require_mesh(Context(("x-bnb-via", "mesh")))
    for context in (Context(), as_("g1", GUEST), Context(("x-bnb-via", "edge"))):
        with pytest.raises(PermissionDenied, match="only the mesh"):
            require_mesh(context)
