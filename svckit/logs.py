"""JSON logs, one object per line, with the correlation id of the work in hand."""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from svckit import tracing

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._second, self._stamp = -1, ""  # the last second formatted, and how (a handler formats one at a time)

    def format(self, record: logging.LogRecord) -> str:
        if (second := int(record.created)) != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        entry = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if cid := correlation_id.get():
            entry["correlation_id"] = cid
        if tid := tracing.trace_id():
            entry["trace_id"] = tid
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _RotatingFile(logging.handlers.RotatingFileHandler):
    """Rotated once the file has reached maxBytes. The standard handler formats every record a second time (and
    looks the file up twice) to see whether this one line would cross the limit; a line more does no harm."""

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        return 0 < self.maxBytes <= self.stream.tell()


def configure(service: str, level: str = "INFO", path: str = "") -> None:
    """Send every logger's records as JSON to the file `path` (rotated at 50 MB), or to stderr; call once, from main.

    A file of its own keeps a busy service's lines out of its supervisor's pipe, which would relay every one.
    """
    handler: logging.Handler = (
        _RotatingFile(path, maxBytes=50_000_000, backupCount=1) if path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter(service))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("grpc").setLevel(max(logging.INFO, logging.root.level))  # a line per call at DEBUG
    # A line shows neither its caller's file and line nor its thread or process: records skip looking them up
    # (the logging HOWTO's "Optimization"), a sixth of what a line costs.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


@contextmanager
def correlated(cid: str) -> Iterator[None]:
    """Tag every log line written inside the block with `cid`."""
    token = correlation_id.set(cid)
    try:
        yield
    finally:
        correlation_id.reset(token)
