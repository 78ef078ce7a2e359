"""Fixtures shared by the integration tests: one private mesh per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import Mesh, mesh_config

os.environ.setdefault("no_proxy", "127.0.0.1,localhost")


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
