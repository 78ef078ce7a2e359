"""The drill's faults: kill -9 of one process of each kind, and PostgreSQL terminating one service's backend."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from svckit import broker
from tools.demos.drill.target import Target
from tools.demos.drill.watch import quiet

logger = logging.getLogger(__name__)

BUSIEST_STREAM = "RESERVATION"  # the NATS node that leads it is the one killed: the hardest loss
PG_VICTIM = "reservation"  # the service on the saga's hot path: one of its connections' backends is terminated


@dataclass(frozen=True)
class Kill:
    """One fault: what was killed, when (monotonic), and how."""

    kind: str  # "service", "nats", "envoy" or "postgres"
    what: str
    at: float
    detail: str


@dataclass(frozen=True)
class Fault:
    kind: str
    what: str
    act: Callable[[], Awaitable[str]]  # does it; returns the detail


def plan(target: Target) -> list[Fault]:
    """Each service's first replica, one NATS node, one edge Envoy, and (on PostgreSQL) one service's backend."""
    faults = [Fault("service", f"{s}-0", _killer(target, f"svc:{s}-0")) for s in target.endpoints]
    faults.append(Fault("nats", "a NATS node", lambda: _kill_nats(target)))
    faults.append(Fault("envoy", "envoy" if len(target.admins) == 1 else "envoy (1 of 2)", _killer(target, "envoy")))
    if target.postgres:
        faults.append(Fault("postgres", f"a PostgreSQL backend of {PG_VICTIM}", lambda: _terminate(target, PG_VICTIM)))
    return faults


async def run(fault: Fault) -> Kill:
    at = time.monotonic()
    detail = await fault.act()
    logger.info("%s: %s", fault.what, detail)
    return Kill(fault.kind, fault.what, at, detail)


def _killer(target: Target, program: str) -> Callable[[], Awaitable[str]]:
    async def act() -> str:
        return await asyncio.to_thread(_kill, target, program)

    return act


def _kill(target: Target, program: str) -> str:
    pid = target.pid(program)
    if not pid:
        return f"{program} was not running"
    os.kill(pid, signal.SIGKILL)
    return f"kill -9 {program} (pid {pid})"


async def _kill_nats(target: Target) -> str:
    program = next(iter(target.nats_programs))
    if len(target.nats_programs) > 1:
        program = await stream_leader(target.nats_urls) or program
    return await asyncio.to_thread(_kill, target, program) + (
        f", leader of {BUSIEST_STREAM}" if len(target.nats_programs) > 1 else ""
    )


async def stream_leader(urls: str, stream: str = BUSIEST_STREAM) -> str | None:
    """The supervisord program of the node leading `stream` (a node's server name is its program's name)."""
    try:
        nc = await nats.connect(broker.servers(urls), connect_timeout=2, max_reconnect_attempts=1, error_cb=quiet)
    except Exception as exc:
        logger.warning("cannot ask NATS for the stream leader: %s", exc)
        return None
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.cluster.leader if info.cluster else None
    except Exception as exc:
        logger.warning("cannot ask NATS for the stream leader: %s", exc)
        return None
    finally:
        await nc.close()


async def _terminate(target: Target, service: str) -> str:
    return await asyncio.to_thread(_terminate_backend, target.database_urls[service])


def _terminate_backend(url: str) -> str:
    """pg_terminate_backend of one of the service's connections: the one busy now, else the one used last."""
    database = make_url(url).database
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    query = (
        "SELECT pid, state FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
        " ORDER BY state = 'active' DESC, state_change DESC LIMIT 1"
    )
    try:
        with engine.connect() as conn:
            found = conn.execute(text(query), {"db": database}).first()
            if found is None:
                return f"no backend of database {database} to terminate"
            done = conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": found.pid}).scalar_one()
    finally:
        engine.dispose()
    return f"pg_terminate_backend({found.pid}), {found.state}, of database {database}: {'done' if done else 'failed'}"
