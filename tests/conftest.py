"""Fixtures shared by the integration tests: one private mesh per session; a private nats-server per test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import Mesh, free_ports, mesh_config
from tools.launcher import probes

os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    running = Mesh.start(mesh_config(tmp_path_factory.mktemp("mesh")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def http(mesh: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mesh.url, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
def quiet_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A mesh of its own, for the suites that count every row of every database around each request: no other
    test's events land in it meanwhile."""
    with Mesh.start(mesh_config(tmp_path_factory.mktemp("quiet"), env={"BNB_MAX_DAYS_AHEAD": "730"})) as running:
        yield running


@pytest.fixture(scope="session")
def quiet_http(quiet_mesh: Mesh) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=quiet_mesh.url, timeout=10, trust_env=False) as client:
        yield client


@dataclass
class Nats:
    url: str
    monitor: int
    process: subprocess.Popen


@pytest.fixture
def spans() -> Iterator[Any]:
    """Tracing on for the test, as BNB_OTLP_ENDPOINT turns it on (svckit.otel's tracer), the spans finished meanwhile
    kept in memory: an InMemorySpanExporter, with the tests' own tracer (the SDK's) as `.tracer`."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from svckit import otel, tracing

    exporter = InMemorySpanExporter()
    resource, processor = Resource.create({"service.name": "room"}), SimpleSpanProcessor(exporter)
    tracing.install(otel.Tracer(resource, processor))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(processor)
    exporter.tracer = provider.get_tracer("test")  # type: ignore[attr-defined]  # the tests' tracer rides along
    try:
        yield exporter
    finally:
        tracing.install(None)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Nats]:
    port, monitor = free_ports(2)
    cmd = [
        str(BIN / "nats-server"),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        str(monitor),
        "-js",
        "-sd",
        str(tmp_path),
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Nats(f"nats://127.0.0.1:{port}", monitor, process)
    try:
        probes.wait_until(lambda: probes.nats_ready(monitor), 20, "nats-server")
        yield server
    finally:  # the test may have restarted it: end the one running now
        server.process.terminate()
        server.process.wait(timeout=20)
