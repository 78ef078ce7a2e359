"""What every service's main.py does alike: its database, servicers, consumers, and the run loop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import uvloop
from google.protobuf.descriptor import FileDescriptor

from svckit import logs, tracing
from svckit.config import Settings
from svckit.db import Database
from svckit.inbox import Subscription
from svckit.policies import Policies
from svckit.server import App, Servicer, serve
from svckit.uow import UnitOfWork


def database(settings: Settings, unit: type[UnitOfWork] = UnitOfWork) -> Database:
    """The service's own database, migrated to the head of `<svc>/migrations/` (under a lock: replicas may
    start together) by a short-lived process: Alembic (about 11 MB once imported) stays out of the service.
    `unit`: the context's unit of work, with its repositories; the consumers hand its handlers one of these."""
    env = {**os.environ, "BNB_DATABASE_URL": settings.database_url}
    subprocess.run([sys.executable, "-m", "svckit.migrate", "upgrade", settings.service], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return Database(settings.database_url, producer=settings.service, unit=unit)


def servicer(add: Callable[[Any, Any], None], impl: object, file: FileDescriptor, name: str) -> Servicer:
    """A servicer and its full service name, taken from the generated descriptor."""
    return Servicer(add, impl, file.services_by_name[name].full_name)


def consumers(service: str, purpose: str, policies: Policies) -> list[Subscription]:
    """One durable consumer `<service>-<producer>-<purpose>` per producer whose events the service handles."""
    return [
        Subscription(f"{service}-{producer}-{purpose}", producer, handlers) for producer, handlers in policies.items()
    ]


def run(service: str, build: Callable[[Settings], App]) -> None:
    """Settings from the environment, JSON logs, then build and serve inside one event loop until SIGTERM."""
    settings = Settings.from_env(service)
    logs.configure(settings.service, settings.log_level, settings.log_file)
    tracing.setup(settings.service, settings.otlp_endpoint)  # before build: channels take its interceptor

    async def main() -> None:
        try:
            await serve(build(settings))  # gRPC channels made while building bind to this loop
        finally:
            tracing.shutdown()

    uvloop.run(main())  # libuv's loop: less of each call's CPU goes to the loop itself
