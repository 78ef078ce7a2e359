"""A poison event in the real mesh: retried with backoff, dead-lettered after max_deliver while later events flow,
then replayed once after the fix."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from svckit.db import Database
from svckit.tables import dead_letters, inbox
from tests.events_helpers import consumers_idle, eventually, messages, room_view
from tests.harness import Mesh, mesh_config
from tests.test_events import new_room

pytestmark = pytest.mark.integration
MAX_DELIVER = 4
CONSUMER = "message-room-notify"
# A fault the current message service cannot get past, switched on and off in its own database: storing a
# notification to such a host fails, as a constraint the code does not know about would.
POISON = """CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.recipient_id LIKE 'h-poison-%'
            BEGIN SELECT RAISE(ABORT, 'poisoned: no notification for this host'); END"""


def message_db(mesh: Mesh, statement: str) -> None:
    with sqlite3.connect(mesh.cfg.data_dir / "message.db", timeout=30) as conn:
        conn.execute(statement)


def deadletters(mesh: Mesh, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BNB_DATA_DIR": str(mesh.cfg.data_dir)}
    command = [sys.executable, "-m", "svckit.deadletters", "message", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def letters(mesh: Mesh) -> list[dict]:
    listed = deadletters(mesh)
    assert listed.returncode == 0, listed.stderr
    return [d for d in map(json.loads, listed.stdout.splitlines()) if d["consumer"] == CONSUMER]


def handled_at(db: Database, event_id: str) -> Any:
    with db.read() as conn:
        query = select(inbox.c.handled_at).where(inbox.c.consumer == CONSUMER, inbox.c.event_id == event_id)
        return conn.execute(query).scalar_one()


def test_poison_event_is_dead_lettered_while_later_events_flow_and_replayed_once_after_the_fix(tmp_path: Path) -> None:
    env = {"BNB_MAX_DELIVER": str(MAX_DELIVER), "BNB_REDELIVERY_BACKOFF_SECONDS": "0.5"}
    mesh = Mesh.start(mesh_config(tmp_path, env=env))
    db = Database(f"sqlite:///{mesh.cfg.data_dir}/message.db", producer="message")
    try:
        with httpx.Client(base_url=mesh.url, timeout=15, trust_env=False) as http:
            message_db(mesh, POISON)
            poison_host, later_hosts = f"h-poison-{uuid.uuid4()}", [f"h-{uuid.uuid4()}" for _ in range(3)]
            poison_room = new_room(mesh, http, poison_host)
            for host in later_hosts:
                new_room(mesh, http, host)
            later = [eventually(functools.partial(messages, mesh, http, host_id=host)) for host in later_hosts]
            assert [[m["event_type"] for m in told] for told in later] == [["RoomRegistered"]] * 3

            (letter,) = eventually(lambda: letters(mesh), timeout_s=30)
            assert (letter["deliveries"], letter["error_type"]) == (MAX_DELIVER, "sqlalchemy.exc.IntegrityError")
            assert "poisoned: no notification for this host" in letter["error"]
            assert letter["subject"] == "bnb.room.RoomRegistered.v1" and letter["replayed_at"] is None
            eventually(lambda: consumers_idle(mesh, {"ROOM": [CONSUMER]}))  # terminated: nothing left to redeliver
            with db.read() as conn:
                buried_at = conn.execute(select(dead_letters.c.created_at)).scalar_one()
            # the later events were handled while the poison was still being retried, not after it
            assert all(handled_at(db, told[0]["event_id"]) < buried_at for told in later)
            assert messages(mesh, http, host_id=poison_host) == []
            eventually(lambda: room_view(http, poison_room).get("host_id") == poison_host)  # the view was not held up
            log = mesh.log("message-0")
            assert [f"failed ({n} of {MAX_DELIVER}); redelivering" in log for n in range(1, MAX_DELIVER)] == [
                True] * (MAX_DELIVER - 1)  # fmt: skip

            message_db(mesh, "DROP TRIGGER poison")  # the fix
            replayed = deadletters(mesh, "--replay", str(letter["id"]))
            assert replayed.returncode == 0, replayed.stderr
            assert json.loads(replayed.stdout) == {"id": letter["id"], "outcome": "done"}
            (told,) = messages(mesh, http, host_id=poison_host)
            assert (told["event_type"], told["event_id"]) == ("RoomRegistered", letter["event_id"])
            again = deadletters(mesh, "--replay", str(letter["id"]))
            assert again.returncode == 1 and "was replayed at" in again.stderr, again
            assert len(messages(mesh, http, host_id=poison_host)) == 1
            (marked,) = letters(mesh)
            assert marked["replay_outcome"] == "done" and marked["replayed_at"]
            # the replay committed the notification; the running service's relay delivers it
            eventually(lambda: f"(message {told['message_id']})" in mesh.log("message-0"))
    finally:
        db.dispose()
        mesh.stop()
