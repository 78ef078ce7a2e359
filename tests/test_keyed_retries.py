"""The edge retries a reset call when it carries an idempotency key: in Envoy and Istio alike, and under kill -9."""

from __future__ import annotations

import functools
import os
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pool
from sqlalchemy import func, select

from bnb.room.v1 import room_pb2, room_pb2_grpc
from message_svc.service import MessageService
from payment_svc.service import PaymentService
from reservation_svc.service import ReservationService
from room_svc.repository import rooms
from room_svc.service import RoomService
from tests import istio_expected as x
from tests import istio_manifests as m
from tests.events_helpers import eventually
from tests.harness import Mesh, mesh_config
from tests.idempotency_helpers import count
from tools.render.envoy_config import Variant
from view_svc.service import RoomViewService

RETRY = x.TOPO.policy["edge_retry"]
SERVICERS = {
    cls.__name__: cls for cls in (RoomService, ReservationService, PaymentService, MessageService, RoomViewService)
}


def test_every_public_write_takes_an_idempotency_key() -> None:
    """What makes the keyed edge route safe: every public call that is not a read is answered once per key."""
    keyed = {}
    for service in (name for spec in x.TOPO.services.values() for name in spec.public):
        servicer = SERVICERS[service.rsplit(".", 1)[1]]
        for method in descriptor_pool.Default().FindServiceByName(service).methods:
            if not method.name.startswith(("Get", "List")):
                keyed[method.name] = getattr(getattr(servicer, method.name), "takes_idempotency_key", False)
    assert keyed == dict.fromkeys(["RegisterRoom", "CreateReview", "RequestReservation", "CancelReservation"], True)


def test_each_public_route_has_a_keyed_twin_first_that_also_retries_resets() -> None:
    routes = [r for r in x.envoy_hcm("edge")["route_config"]["virtual_hosts"][0]["routes"] if "route" in r]
    header = [{"name": RETRY["key_header"], "present_match": True}]
    for prefix in (f"/{name}/" for spec in x.TOPO.services.values() for name in spec.public):
        keyed, plain = [r for r in routes if r["match"]["prefix"] == prefix]
        assert (keyed["match"], plain["match"]) == ({"prefix": prefix, "headers": header}, {"prefix": prefix})
        retry, plain_retry = keyed["route"]["retry_policy"], plain["route"]["retry_policy"]
        assert (retry["retry_on"], plain_retry["retry_on"]) == (RETRY["keyed_retry_on"], RETRY["retry_on"])
        assert {**keyed["route"], "retry_policy": {**retry, "retry_on": plain_retry["retry_on"]}} == plain["route"]
    assert "reset" in RETRY["keyed_retry_on"] and "reset" not in RETRY["retry_on"]


def test_the_edge_virtual_service_has_the_same_keyed_routes_before_the_others() -> None:
    keyed, local = m.by_prefix("edge", keyed=True), x.envoy_routes("edge", keyed=True)
    assert set(keyed) == set(local)
    http = m.one("VirtualService", "edge")["spec"]["http"]
    for prefix, route in keyed.items():
        [target] = route["route"]
        ours = {"destination": target["destination"], "timeout": route.get("timeout"), "retries": route["retries"]}
        assert ours == x.route_from_envoy(local[prefix])
        assert ours["retries"] == {**x.edge_route_retries(), "retryOn": RETRY["keyed_retry_on"]}
        assert route["match"][0]["headers"] == {RETRY["key_header"]: {}}  # {}: the header's presence
        assert http.index(route) < http.index(m.by_prefix("edge")[prefix])


@pytest.fixture(scope="module")
def three_rooms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    # No active health checks: a stopped replica keeps getting its round-robin share, so calls wait on it.
    config = mesh_config(tmp_path_factory.mktemp("keyed"), replicas={"room": 3}, variant=Variant(health_checks=False))
    with Mesh.start(config) as mesh:
        yield mesh


def _waiting_on(mesh: Mesh, port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{mesh.cfg.ports.admin}/clusters", trust_env=False).text
    return sum(int(line.rpartition("::")[2]) for line in text.splitlines()
               if line.startswith(f"room::127.0.0.1:{port}::rq_active::"))  # fmt: skip


@pytest.mark.integration
def test_a_keyed_call_cut_by_kill_9_is_retried_and_makes_one_room(three_rooms: Mesh) -> None:
    mesh, host = three_rooms, f"h-{uuid.uuid4().hex[:8]}"
    port, pid = mesh.cfg.ports.endpoints["room"][1], mesh.pid("svc:room-1")
    stat = "cluster.room.upstream_rq_retry_success"
    retried = mesh.stats(stat).get(stat, 0)
    calls: dict[str, tuple[bool, Future[str]]] = {}  # description -> keyed, the call's answer

    def register(description: str, keyed: bool) -> str:
        key = (("idempotency-key", str(uuid.uuid4())),) if keyed else ()
        request = room_pb2.RegisterRoomRequest(description=description, price_per_night=100)
        try:
            stub.RegisterRoom(request, metadata=(*mesh.auth(host, "host"), *key), timeout=20)
            return "OK"
        except grpc.RpcError as exc:
            return exc.code().name

    def waiting(n: int) -> bool:
        return _waiting_on(mesh, port) == n and sum(not call.done() for _, call in calls.values()) == n

    with mesh.channel() as channel, ThreadPoolExecutor(6) as pool:
        stub = room_pb2_grpc.RoomServiceStub(channel)
        os.kill(pid, signal.SIGSTOP)  # room-1 takes calls and never answers them
        try:
            for n, keyed in enumerate((True, False), start=1):  # three calls round robin over three replicas
                for i in range(3):
                    description = f"{host} keyed={keyed} {i}"
                    calls[description] = keyed, pool.submit(register, description, keyed)
                eventually(functools.partial(waiting, n))  # one more waits on room-1, the others were answered
        finally:
            os.kill(pid, signal.SIGKILL)  # the calls waiting on it are reset
        answers = {description: (keyed, call.result(timeout=30)) for description, (keyed, call) in calls.items()}
    keyed_answers = [answer for is_keyed, answer in answers.values() if is_keyed]
    plain = [answer for is_keyed, answer in answers.values() if not is_keyed]
    assert keyed_answers == ["OK"] * 3, answers  # the cut one was retried on another replica
    assert sorted(plain) == ["OK", "OK", "UNAVAILABLE"], answers  # without a key, a reset is not retried
    assert mesh.stats(stat)[stat] - retried == 1
    for description, (is_keyed, _) in answers.items():  # each answered call made its room once, the retry too
        made = count(mesh, "room", select(func.count()).where(rooms.c.description == description))
        assert made == (1 if is_keyed or answers[description][1] == "OK" else 0), description
