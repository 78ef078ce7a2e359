"""svckit.logs: JSON lines with the correlation id, to a file rotated by size, each record formatted once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from svckit import logs


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):  # configure() turns them off
        monkeypatch.setattr(logging, name, getattr(logging, name))
    path = tmp_path / "svc.log"
    logs.configure("room", "INFO", str(path))
    yield path
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)


def test_lines_are_json_with_the_correlation_id(log_file: Path) -> None:
    before = time.time()
    with logs.correlated("res-1"):
        logging.getLogger("room_svc.handlers").info("room %s held", "r1")
        logging.getLogger("room_svc.handlers").info("room %s held", "r2")  # within the same second, mostly
    after = time.time()
    first, second = (json.loads(line) for line in log_file.read_text().splitlines())
    assert (first["service"], first["msg"], first["correlation_id"]) == ("room", "room r1 held", "res-1")
    for entry in (first, second):  # UTC, to the millisecond
        stamp = dt.datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()
        assert int(before * 1000) / 1000 <= stamp <= after
        assert entry["ts"].endswith("Z") and len(entry["ts"]) == len("2026-12-06T05:36:21.123Z")


def test_the_file_rotates_at_its_size_and_each_record_is_formatted_once(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
    monkeypatch.setattr(handler, "maxBytes", 1000)
    formatted: list[str] = []

    def format_once(record: logging.LogRecord) -> str:
        formatted.append(record.getMessage())
        return record.getMessage()

    monkeypatch.setattr(handler.formatter, "format", format_once)
    for i in range(30):
        logging.getLogger("x").info("%03d %s", i, "y" * 96)  # 101 bytes a line
    assert len(formatted) == 30  # the standard handler formats each one twice
    rotated = Path(f"{log_file}.1")
    assert rotated.exists() and 1000 <= rotated.stat().st_size <= 1000 + 101  # reached, then at most a line more
    lines = rotated.read_text().splitlines() + log_file.read_text().splitlines()
    assert lines[-1].startswith("029") and len(lines) <= 30
