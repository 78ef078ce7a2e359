"""A 3-node JetStream cluster under the mesh: streams of 3 replicas, and a node killed while events flow loses none."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import nats
import nats.errors
import pytest

from svckit import broker, events
from tests.events_helpers import eventually
from tests.harness import Mesh, mesh_config
from tests.test_events import book, cancel, new_room
from tools.demos.drill.faults import stream_leader
from tools.launcher import nats_cluster, probes
from view_svc.handlers import POLICIES as VIEW_POLICIES

pytestmark = pytest.mark.integration
STREAMS = {"ROOM": "room", "RESERVATION": "reservation", "PAYMENT": "payment"}


@pytest.fixture(scope="module")
def cluster_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, httpx.Client]]:
    mesh = Mesh.start(mesh_config(tmp_path_factory.mktemp("cluster"), nats_nodes=3))
    try:
        with httpx.Client(base_url=mesh.url, timeout=15, trust_env=False) as client:
            yield mesh, client
    finally:
        mesh.stop()


async def _jetstream(mesh: Mesh, work: object) -> object:
    nc = await nats.connect(broker.servers(nats_cluster.urls(mesh.cfg.nats)))
    try:
        return await work(nc.jetstream())  # type: ignore[operator]
    finally:
        await nc.close()


def jetstream(mesh: Mesh, work: object) -> object:
    return asyncio.run(_jetstream(mesh, work))


def stream_events(mesh: Mesh) -> list[tuple[str, str, str]]:
    """Every event in the three streams: (stream, type, event id)."""

    async def read(js: object) -> list[tuple[str, str, str]]:
        found = []
        for stream in STREAMS:
            info = await js.stream_info(stream)  # type: ignore[attr-defined]
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                envelope, _ = events.decode((await js.get_msg(stream, seq)).data)  # type: ignore[attr-defined]
                found.append((stream, envelope.type, envelope.event_id))
        return found

    return jetstream(mesh, read)  # type: ignore[return-value]


def test_the_services_streams_have_three_replicas(cluster_mesh: tuple[Mesh, httpx.Client]) -> None:
    mesh, _ = cluster_mesh

    async def replicas(js: object) -> dict[str, tuple[int, int]]:
        infos = {s: await js.stream_info(s) for s in STREAMS}  # type: ignore[attr-defined]
        return {s: (i.config.num_replicas, 1 + len(i.cluster.replicas or [])) for s, i in infos.items()}

    wanted = {s: (3, 3) for s in STREAMS}  # configured, and placed: a leader and two followers
    # Until placement settles, a stream may list a peer too many (seen once in CI: ROOM with four).
    assert eventually(lambda: (found := jetstream(mesh, replicas)) == wanted and found, timeout_s=30) == wanted


def test_a_node_killed_while_events_flow_loses_none_and_the_view_gets_each_once(
    cluster_mesh: tuple[Mesh, httpx.Client],
) -> None:
    mesh, http = cluster_mesh
    room_id, booked, stop = new_room(mesh, http, f"h-{uuid.uuid4()}"), [], threading.Event()

    failed: list[BaseException] = []

    def guests() -> None:
        try:
            reserve_and_cancel()
        except BaseException as exc:
            failed.append(exc)
            raise

    def reserve_and_cancel() -> None:  # one reservation after another, every third cancelled, until stopped
        first = dt.date(2040, 1, 1)
        for i in range(10_000):  # a night each: more than any node restart lets through (the room never runs out)
            if stop.is_set():
                return
            guest = f"g-{uuid.uuid4()}"
            night = first + dt.timedelta(days=i)
            r = book(mesh, http, room_id, guest, str(night), str(night + dt.timedelta(days=1)))
            booked.append(r["reservation_id"])
            if i % 3 == 2:
                assert cancel(mesh, http, r["reservation_id"], guest).status_code == 200

    flowing = threading.Thread(target=guests)
    flowing.start()
    try:
        eventually(lambda: len(booked) >= 5 or failed, timeout_s=30)
        program = asyncio.run(stream_leader(nats_cluster.urls(mesh.cfg.nats), "RESERVATION"))
        assert program in {"nats-0", "nats-1", "nats-2"}
        killed = mesh.pid(program)
        os.kill(killed, signal.SIGKILL)
        monitor = next(n.monitor for n in mesh.cfg.nats if n.name == program)
        eventually(
            lambda: mesh.pid(program) not in (0, killed) and probes.nats_ready(monitor, cluster=True), timeout_s=60
        )
        at_kill = len(booked)
        eventually(lambda: len(booked) >= at_kill + 5 or failed, timeout_s=60)
    finally:
        stop.set()
        flowing.join(timeout=60)
    assert not failed and len(booked) >= 10, failed

    subscribed = {event_type for policies in VIEW_POLICIES.values() for event_type in policies}
    about_ours = lambda: [(s, t, eid) for s, t, eid in stream_events(mesh) if t in subscribed]  # noqa: E731

    def all_handled() -> bool:
        try:  # a stream whose leader was lost answers once a new one is elected
            return {eid for *_, eid in about_ours()} <= set(handled())
        except nats.errors.Error:
            return False

    def handled() -> Counter[str]:
        lines = (json.loads(line)["msg"] for line in mesh.log("view-0").splitlines() if '"msg"' in line)
        return Counter(msg.split()[-1] for msg in lines if msg.split()[1:2] == ["handled"])

    def seen() -> dict[str, str]:
        with sqlite3.connect(f"file:{mesh.cfg.data_dir}/view.db?mode=ro", uri=True) as db:
            query = "SELECT reservation_id, status FROM reservations_seen WHERE room_id = ?"
            return dict(db.execute(query, (room_id,)).fetchall())

    def published() -> Counter[str]:
        try:
            return Counter(t for _, t, _ in about_ours())
        except nats.errors.Error:
            return Counter()

    cancelled = set(booked[2::3])  # the view shows every reservation's final state...
    final = {rid: "cancelled" if rid in cancelled else "confirmed" for rid in booked}
    eventually(lambda: seen() == final, timeout_s=90)
    # None lost: every event is in the streams. A refund follows its cancellation (the view's "cancelled"
    # does not wait for it), and the payment's relay may still be backing off from the kill.
    once = {"ReservationRequested": len(booked), "PaymentApproved": len(booked)}
    once |= {"ReservationCancelled": len(cancelled), "PaymentRefunded": len(cancelled)}
    eventually(lambda: all(published()[kind] >= n for kind, n in once.items()), timeout_s=90)
    # ...and every event the view subscribes to, in the streams, was handled by the view exactly once.
    eventually(all_handled, timeout_s=60)
    wanted = {eid for *_, eid in about_ours()}
    assert {eid: n for eid, n in handled().items() if eid in wanted} == dict.fromkeys(wanted, 1)
    # None doubled in the streams either (the relay's resends are dropped by their message id).
    kinds = Counter(t for _, t, _ in about_ours())
    assert {kind: kinds[kind] for kind in once} == once
    assert (
        len(booked) - len(cancelled) <= kinds["ReservationConfirmed"] <= len(booked)
    )  # some confirmed, then cancelled
