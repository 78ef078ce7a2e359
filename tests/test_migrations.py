"""Alembic per service, on SQLite and PostgreSQL: empty and previous-revision databases reach head, the models
match the revisions, a database create_all made is taken over, and replicas upgrading together are safe."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, inspect, text

from svckit import migrate, wiring
from svckit.config import Settings
from svckit.db import Database
from tests.dbs import database_url, kinds

pytestmark = pytest.mark.postgres
SERVICES = ["room", "reservation", "payment", "message", "view"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=kinds())
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with database_url(kind, tmp_path, "migrated") as found:
        yield found


def opened(url: str, service: str) -> Database:
    return Database(url, producer=service)


@pytest.mark.parametrize("service", SERVICES)
def test_an_empty_database_reaches_head_and_matches_the_models(url: str, service: str) -> None:
    db = opened(url, f"{service}")
    try:
        migrate.upgrade(db, f"{service}_svc")
        assert migrate.current(db) == migrate.head(f"{service}_svc")
        assert migrate.differences(db, f"{service}_svc") == []
        migrate.upgrade(db, f"{service}_svc")  # again: nothing to do
        assert migrate.current(db) == migrate.head(f"{service}_svc")
    finally:
        db.dispose()


def test_a_database_at_the_previous_revision_is_upgraded_with_its_rows(url: str) -> None:
    db = opened(url, "reservation")
    try:
        migrate.upgrade(db, "reservation_svc", "0001")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO reservations (reservation_id, room_id, guest_id, check_in, check_out, status, host_id,"
                " payment_id, amount, created_at) VALUES ('r1', 'room', 'g1', '2031-01-01', '2031-01-02',"
                " 'approved', 'h1', 'p1', 100, '2026-01-01 00:00:00+00:00')"
            ))  # fmt: skip
        assert migrate.differences(db, "reservation_svc") != []  # 0001 lacks what came after
        migrate.upgrade(db, "reservation_svc")
        assert migrate.current(db) == migrate.head("reservation_svc") != "0001"
        assert migrate.differences(db, "reservation_svc") == []
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT guest_id FROM reservations")).scalar_one() == "g1"
    finally:
        db.dispose()


def test_a_database_create_all_made_is_stamped_then_upgraded(url: str) -> None:
    db = opened(url, "room")
    try:
        migrate.upgrade(db, "room_svc", migrate.BASELINE)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))  # as create_all left it, before migrations
        migrate.upgrade(db, "room_svc")
        assert migrate.current(db) == migrate.head("room_svc") and migrate.differences(db, "room_svc") == []
    finally:
        db.dispose()


def test_a_model_change_without_its_revision_is_caught(url: str) -> None:
    db = opened(url, "room")
    try:
        migrate.upgrade(db, "room_svc")
        changed = MetaData()
        for table in migrate.models("room_svc").tables.values():
            table.to_metadata(changed)
        changed.tables["rooms"].append_column(Column("floor", Integer, nullable=True))
        [diff] = migrate.differences(db, "room_svc", changed)
        assert diff[0] == "add_column" and diff[3].name == "floor"
    finally:
        db.dispose()


def test_replicas_upgrading_together_are_safe(url: str) -> None:
    env = {**os.environ, "BNB_DATABASE_URL": url}
    command = [sys.executable, "-m", "svckit.migrate", "upgrade", "message"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)]  # fmt: skip
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert all(code == 0 for code, _, _ in results), results
    assert all(out.strip() == f"message: at {migrate.head('message_svc')}" for _, out, _ in results), results
    db = opened(url, "message")
    try:
        assert set(inspect(db.engine).get_table_names()) >= {"messages", "outbox", "inbox", "alembic_version"}
    finally:
        db.dispose()


def test_notifications_stored_before_the_upgrade_count_as_sent(url: str) -> None:
    """Before 0002 a notification was sent as it was stored: after the upgrade none of them goes out again."""
    db = opened(url, "message")
    try:
        migrate.upgrade(db, "message_svc", "0001")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO messages (message_id, event_id, event_type, reservation_id, recipient_kind, recipient_id,"
                " text, created_at) VALUES ('m1', 'e1', 'PaymentApproved', 'r1', 'guest', 'g1', 'paid',"
                " '2026-01-01 00:00:00+00:00')"
            ))  # fmt: skip
        migrate.upgrade(db, "message_svc")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM messages WHERE sent_at IS NULL")).scalar_one() == 0
    finally:
        db.dispose()


def test_a_restart_at_head_skips_the_migration_process_and_one_behind_does_not(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """svckit.wiring reads the version and the newest revision file itself; Alembic must agree with both."""
    for service in SERVICES:
        assert wiring.newest_revision(f"{service}_svc") == migrate.head(f"{service}_svc")
    processes: list[list[str]] = []
    run = subprocess.run

    def recorded(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        processes.append(args)
        return run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recorded)
    settings = Settings.from_env("reservation", {"BNB_DATABASE_URL": url})
    db = opened(url, "reservation")
    try:
        assert wiring.schema_version(db) is None
        migrate.upgrade(db, "reservation_svc", "0001")
        assert wiring.schema_version(db) == migrate.current(db) == "0001"
        wiring.database(settings).dispose()  # one behind: the process brings it to head
        assert len(processes) == 1 and processes[0][-2:] == ["upgrade", "reservation"]
        assert wiring.schema_version(db) == migrate.current(db) == migrate.head("reservation_svc")
        wiring.database(settings).dispose()  # at head: no process
        assert len(processes) == 1
    finally:
        db.dispose()
