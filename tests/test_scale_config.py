"""`make run DB=postgres NATS_NODES=3 REPLICAS=2` as the launcher reads it and the processes it writes, no network."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from svckit import broker
from svckit.config import Settings
from svckit.db import DB_THREADS
from tools import topology
from tools.launcher import databases, nats_cluster
from tools.launcher import local as mesh
from tools.launcher.config import GRPC_ENV, NATS_ENV, ROOT, MeshConfig
from tools.launcher.scale import Scale, ScaleError

SERVICES = ["room", "reservation", "payment", "message", "view"]


def config(tmp_path: Path, **env: str) -> MeshConfig:
    return MeshConfig.from_env({"BNB_DATA_DIR": str(tmp_path), **env})


def test_the_default_is_one_of_everything_on_sqlite(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert [n.port for n in cfg.nats] == [4322] and cfg.envoy_admins == [9901] and cfg.database_urls == {}
    assert all(len(ports) == 1 for ports in cfg.ports.endpoints.values())
    env = cfg.service_env("room", 50051)
    assert env["BNB_NATS_URL"] == "nats://127.0.0.1:4322" and env["BNB_STREAM_REPLICAS"] == "1"


def test_the_services_run_grpc_as_the_image_does_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert all(f"{key}={value}" in dockerfile for key, value in GRPC_ENV.items())
    assert config(tmp_path).service_env("view", 50055).items() >= GRPC_ENV.items()
    own = config(tmp_path, GRPC_EXPERIMENTS="-event_engine_client").service_env("view", 50055)
    assert own["GRPC_EXPERIMENTS"] == "-event_engine_client"


def test_nats_runs_go_on_one_thread_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    def nats_programs(cfg: MeshConfig) -> list[configparser.SectionProxy]:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(mesh.write(cfg))
        return [conf[name] for name in conf.sections() if name.startswith("program:nats")]

    assert NATS_ENV == {"GOMAXPROCS": "1"}
    for env, expected in (({}, '"1"'), ({"GOMAXPROCS": "2"}, '"2"')):
        programs = nats_programs(config(tmp_path, BNB_NATS_NODES="3", **env))
        assert len(programs) == 3
        assert all(p["environment"] == f"GOMAXPROCS={expected}" for p in programs)


def test_the_grpc_experiments_turned_off_are_known_to_this_grpc() -> None:
    """grpc logs an unknown experiment's name and ignores it: a grpcio without these would run as before."""
    serve = "import grpc, concurrent.futures as f; s = grpc.server(f.ThreadPoolExecutor(1)); s.start(); s.stop(None)"
    for env, unknown in ((GRPC_ENV, 0), ({"GRPC_EXPERIMENTS": "-no_such_experiment"}, 1)):
        run = subprocess.run([sys.executable, "-c", serve], env={**os.environ, **env}, capture_output=True, text=True)
        assert run.returncode == 0 and run.stderr.count("Unknown experiment") == unknown, run.stderr


def test_three_nats_nodes_two_replicas_and_postgres_combine(tmp_path: Path) -> None:
    cfg = config(tmp_path, BNB_DB="postgres", BNB_NATS_NODES="3", BNB_REPLICAS="2", ROOM_REPLICAS="3")
    assert [(n.port, n.monitor, n.route) for n in cfg.nats] == [
        (4322, 8322, 6322),
        (4323, 8323, 6323),
        (4324, 8324, 6324),
    ]
    assert cfg.envoy_admins == [9901, 9902]
    assert cfg.ports.endpoints["room"] == [50051, 50151, 50251]  # a service's own count wins
    assert cfg.ports.endpoints["view"] == [50055, 50155] and cfg.metrics_ports["view"] == [9465, 9565]
    assert cfg.database_urls == {s: f"postgresql+psycopg://postgres@127.0.0.1:5432/bnb_{s}" for s in SERVICES}
    env = cfg.service_env("payment", 50053)
    assert broker.servers(env["BNB_NATS_URL"]) == [f"nats://127.0.0.1:{p}" for p in (4322, 4323, 4324)]
    assert env["BNB_STREAM_REPLICAS"] == "3"
    assert env["BNB_DATABASE_URL"].endswith("/bnb_payment")


def test_the_postgres_url_names_the_server_and_the_databases_prefix() -> None:
    scale = Scale.from_env({"BNB_DB": "postgres", "BNB_POSTGRES_URL": "postgresql+psycopg://u:p@db:5433/shop"})
    assert scale.database_urls(["room"]) == {"room": "postgresql+psycopg://u:p@db:5433/shop_room"}
    assert Scale.from_env({"BNB_REPLICAS": "2", "BNB_ENVOYS": "1"}).envoys == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BNB_DB", "mysql"),
        ("BNB_NATS_NODES", "0"),
        ("BNB_NATS_NODES", "6"),
        ("BNB_REPLICAS", "two"),
        ("BNB_REPLICAS", "10"),
    ],
)
def test_a_malformed_option_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ScaleError, match=name):
        Scale.from_env({name: value})


def test_the_processes_written_for_a_cluster_and_two_envoys(tmp_path: Path) -> None:
    cfg = config(tmp_path, BNB_NATS_NODES="3", BNB_REPLICAS="2")
    conf = mesh.write(cfg).read_text()
    for i in range(3):
        node = (cfg.run_dir / f"nats-{i}.conf").read_text()
        assert f"[program:nats-{i}]" in conf and f"-c {cfg.run_dir}/nats-{i}.conf" in conf
        assert f"server_name: nats-{i}" in node and f'store_dir: "{tmp_path}/jetstream-cluster/nats-{i}"' in node
        others = [f"nats://127.0.0.1:{6322 + j}" for j in range(3) if j != i]
        assert f"routes: [{', '.join(others)}]" in node and f"listen: 127.0.0.1:{6322 + i}" in node
    assert "[program:nats]" not in conf
    for i, name in enumerate(["envoy", "envoy-1"]):
        assert f"[program:{name}]" in conf and f"{name}.json --disable-hot-restart --base-id {i} " in conf
        bootstrap = json.loads((cfg.run_dir / f"{name}.json").read_text())
        assert bootstrap["admin"]["address"]["socket_address"]["port_value"] == 9901 + i
        listeners = bootstrap["static_resources"]["listeners"]
        assert [(lst["address"]["socket_address"]["port_value"], lst["enable_reuse_port"]) for lst in listeners] == [
            (8088, True),
            (8089, True),
        ]
    described = json.loads((cfg.run_dir / "mesh.json").read_text())
    assert described["admins"] == [9901, 9902] and list(described["nats_programs"]) == ["nats-0", "nats-1", "nats-2"]


def test_nats_starts_under_nice_on_every_node(tmp_path: Path) -> None:
    """mesh.toml [edge] nats_nice: the broker yields the CPU to the request path, as the consumers of events do."""
    assert topology.load().nats_nice == 10
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(mesh.write(config(tmp_path, BNB_NATS_NODES="3")))
    commands = [conf[name]["command"] for name in conf if name.startswith("program:nats")]
    assert len(commands) == 3 and all(c.startswith(f"nice -n 10 {mesh.BIN}/nats-server ") for c in commands)


def test_the_consumers_of_events_start_under_nice_and_the_request_path_does_not(tmp_path: Path) -> None:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(mesh.write(config(tmp_path, BNB_REPLICAS="2")))
    commands = {name.removeprefix("program:"): conf[name]["command"] for name in conf if name.startswith("program:")}
    for service in SERVICES:
        for i in range(2):
            nice = "nice -n 10 " if service in ("view", "message") else ""
            assert commands[f"{service}-{i}"] == f"{nice}{mesh.BIN}/python -m {service}_svc"
    assert not any(c.startswith("nice") for name, c in commands.items() if name.startswith("envoy"))


def test_one_node_keeps_its_program_name_and_store(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    conf = mesh.write(cfg).read_text()
    assert "[program:nats]" in conf and f"-js -sd {tmp_path}/jetstream" in conf
    assert nats_cluster.stream_replicas(cfg.nats) == 1


def test_database_threads_fit_the_servers_free_connections() -> None:
    assert databases.threads_to_fit(97, 5) == DB_THREADS  # make run DB=postgres on a default server: all 8
    assert databases.threads_to_fit(97, 10) == 3  # REPLICAS=2: 10 x (3 x 2 + 2) = 80 of 97
    assert databases.threads_to_fit(500, 10) == DB_THREADS
    assert databases.threads_to_fit(5, 10) == 1  # never none: the warning says what to do
    for free in range(20, 400, 7):
        for processes in (5, 10, 15):
            threads = databases.threads_to_fit(free, processes)
            need = processes * (threads * databases.PER_THREAD + databases.BORROWED)
            assert need <= free or threads == 1
            more = processes * ((threads + 1) * databases.PER_THREAD + databases.BORROWED)
            assert threads == DB_THREADS or more > free  # as many as fit


def test_services_take_their_database_threads_from_the_launcher() -> None:
    assert Settings.from_env("room", {}).db_threads == DB_THREADS
    assert Settings.from_env("room", {"BNB_DB_THREADS": "3"}).db_threads == 3
