"""Fixtures of the message tests: a fresh SQLite database and a recording sender."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from message_svc.tests.fakes import FakeSender
from message_svc.unit_of_work import MessageUnitOfWork
from svckit import migrate
from svckit.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/message.db", producer="message", unit=MessageUnitOfWork)
    migrate.upgrade(database, "message_svc")
    yield database
    database.dispose()


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()
