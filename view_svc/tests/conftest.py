"""Fixtures of the view tests: fresh SQLite databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from svckit import migrate
from svckit.db import Database
from view_svc.unit_of_work import ViewUnitOfWork


@pytest.fixture
def make_db(tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    made: list[Database] = []

    def make(name: str = "view") -> Database:
        database = Database(f"sqlite:///{tmp_path}/{name}.db", producer="view", unit=ViewUnitOfWork)
        migrate.upgrade(database, "view_svc")
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


@pytest.fixture
def db(make_db: Callable[[str], Database]) -> Database:
    return make_db("view")
