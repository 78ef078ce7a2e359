"""tools.launcher.cpus: each service process on one CPU, spread by mesh.toml's weights (no processes started)."""

from __future__ import annotations

import dataclasses

import pytest

from tools import topology
from tools.launcher import cpus

MESH = {"reservation-0": 2.1, "room-0": 1.4, "payment-0": 1.0, "view-0": 1.0, "message-0": 0.5}


def test_the_heaviest_go_first_each_onto_the_least_loaded_cpu() -> None:
    placed = cpus.assign(MESH, [0, 1])
    assert placed == {"reservation-0": 0, "room-0": 1, "payment-0": 1, "view-0": 0, "message-0": 1}
    loads = [sum(w for name, w in MESH.items() if placed[name] == cpu) for cpu in (0, 1)]
    assert loads == pytest.approx([3.1, 2.9])


def test_the_cpus_are_the_ones_given_and_a_lone_cpu_pins_nothing() -> None:
    assert set(cpus.assign(MESH, [2, 5]).values()) == {2, 5}
    assert cpus.assign(MESH, [3]) == {} and cpus.assign(MESH, []) == {}
    assert sorted(cpus.assign(MESH, list(range(8))).values()) == [0, 1, 2, 3, 4]  # one CPU each


def test_replicas_share_their_service_weight_and_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "usable", lambda: [0, 1])
    placed = cpus.spread(topology.load(), dict.fromkeys(["room", "reservation", "payment", "message", "view"], 2))
    assert len(placed) == 10
    for service in ("reservation", "room"):
        assert {placed[f"{service}-0"], placed[f"{service}-1"]} == {0, 1}, placed  # halves, one on each CPU


def test_nothing_is_pinned_when_mesh_toml_says_not_or_taskset_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    topo = topology.load()
    assert topo.pin_services and topo.services["reservation"].cpu_weight == max(
        s.cpu_weight for s in topo.services.values()
    )
    monkeypatch.setattr(cpus, "usable", lambda: [0, 1])
    assert cpus.spread(dataclasses.replace(topo, pin_services=False), {"room": 1, "reservation": 1}) == {}
    assert cpus.spread(topo, {"room": 1, "reservation": 1}) == {"reservation-0": 0, "room-0": 1}
    monkeypatch.undo()
    monkeypatch.setattr("shutil.which", lambda _: None)
    assert cpus.usable() == []
    assert cpus.pinned(None) == [] and cpus.pinned(3) == ["taskset", "-c", "3"]
