"""Settings read from the environment, once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from svckit.db import DB_THREADS

DEFAULT_DESCRIPTOR_SET = Path(__file__).resolve().parent.parent / "envoy" / "bnb.pb"


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


def env_str(name: str, default: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The variable's value, the default when unset, or a SettingsError naming it."""
    value = (os.environ if environ is None else environ).get(name, default)
    if value is None or value == "":
        raise SettingsError(f"environment variable {name} is required")
    return value


def env_int(name: str, default: int, environ: dict[str, str] | None = None, minimum: int = 0) -> int:
    """An integer variable, checked against `minimum`."""
    raw = env_str(name, str(default), environ)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"environment variable {name} must be >= {minimum}, got {value}")
    return value


def env_float(name: str, default: float, environ: dict[str, str] | None = None, positive: bool = False) -> float:
    """A non-negative number of seconds or similar; above zero when `positive`."""
    raw = env_str(name, str(default), environ)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from None
    if value < 0 or (positive and value == 0):
        raise SettingsError(f"environment variable {name} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """What every service needs; a context adds its own fields in its main.py."""

    service: str
    port: int
    bind_host: str
    database_url: str
    nats_url: str
    mesh_addr: str
    drain_seconds: float
    stream_replicas: int
    log_level: str
    log_file: str  # '' for stderr
    descriptor_set: str
    max_deliver: int  # failed deliveries of an event before it is dead-lettered
    redelivery_backoff_s: float  # the wait after an event's first failure; it doubles with each further one
    max_wait_s: float  # how long an event may wait for another (RetryLater) before each wait counts as a failure
    idempotency_ttl_s: float  # how long an Idempotency-Key answers with its first reply (svckit.idempotency)
    metrics_port: int = 0  # BNB_METRICS_PORT: Prometheus metrics on bind_host:port/metrics; 0 serves none
    otlp_endpoint: str = ""  # BNB_OTLP_ENDPOINT: where spans go over OTLP/gRPC; '' exports nothing (svckit.tracing)
    db_threads: int = DB_THREADS  # BNB_DB_THREADS: PostgreSQL work's threads, two connections each (svckit.db)

    @classmethod
    def from_env(cls, service: str, environ: dict[str, str] | None = None) -> Settings:
        """Read BNB_* variables; the SQLite default keeps each service's data under BNB_DATA_DIR."""
        data_dir = env_str("BNB_DATA_DIR", ".data", environ)
        return cls(
            service=service,
            port=env_int("BNB_PORT", 50051, environ, minimum=0),
            bind_host=env_str("BNB_BIND_HOST", "127.0.0.1", environ),
            database_url=env_str("BNB_DATABASE_URL", f"sqlite:///{data_dir}/{service}.db", environ),
            nats_url=env_str("BNB_NATS_URL", "nats://127.0.0.1:4322", environ),
            mesh_addr=env_str("BNB_MESH_ADDR", "127.0.0.1:8089", environ),
            drain_seconds=env_float("BNB_DRAIN_SECONDS", 2.0, environ),
            stream_replicas=env_int("BNB_STREAM_REPLICAS", 1, environ, minimum=1),
            log_level=env_str("BNB_LOG_LEVEL", "INFO", environ),
            log_file=(os.environ if environ is None else environ).get("BNB_LOG_FILE", ""),
            descriptor_set=env_str("BNB_DESCRIPTOR_SET", str(DEFAULT_DESCRIPTOR_SET), environ),
            max_deliver=env_int("BNB_MAX_DELIVER", 5, environ, minimum=1),
            redelivery_backoff_s=env_float("BNB_REDELIVERY_BACKOFF_SECONDS", 1.0, environ),
            max_wait_s=env_float("BNB_MAX_WAIT_SECONDS", 300.0, environ),
            idempotency_ttl_s=env_float("BNB_IDEMPOTENCY_TTL_HOURS", 24.0, environ, positive=True) * 3600,
            metrics_port=env_int("BNB_METRICS_PORT", 0, environ, minimum=0),
            otlp_endpoint=(os.environ if environ is None else environ).get("BNB_OTLP_ENDPOINT", ""),
            db_threads=env_int("BNB_DB_THREADS", DB_THREADS, environ, minimum=1),
        )
