"""svckit.logs: JSON lines with the correlation id, to a file rotated by size, each record formatted once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from svckit import logs


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "svc.log"
    logs.configure("room", "INFO", str(path))
    yield path
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)


def test_lines_are_json_with_the_correlation_id(log_file: Path) -> None:
    with logs.correlated("res-1"):
        logging.getLogger("room_svc.handlers").info("room %s held", "r1")
    [line] = log_file.read_text().splitlines()
    entry = json.loads(line)
    assert (entry["service"], entry["msg"], entry["correlation_id"]) == ("room", "room r1 held", "res-1")


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
