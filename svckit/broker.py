"""The NATS JetStream connection and the streams a producing service owns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from svckit import events

logger = logging.getLogger(__name__)
T = TypeVar("T")

DUPLICATE_WINDOW_S = 120.0


def servers(url: str) -> list[str]:
    """The servers of BNB_NATS_URL: one URL, or a cluster's URLs separated by commas."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, name: str) -> Client:
    """Connect and keep reconnecting forever; the outbox makes an outage only a delay.

    `url` may name several servers of one cluster, separated by commas: a client whose server dies goes on with
    another at once (nats-py tries them in turn, and learns the cluster's other members from the one it reaches).
    """

    async def on_error(exc: Exception) -> None:
        logger.warning("nats: %s", exc)

    return await nats.connect(
        servers(url),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        error_cb=on_error,
    )


def stream_config(producer: str, replicas: int) -> StreamConfig:
    """One stream per producing context, file storage, a two-minute duplicate window."""
    return StreamConfig(
        name=events.stream_name(producer),
        subjects=[f"bnb.{producer}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )


async def ensure_stream(js: JetStreamContext, producer: str, replicas: int) -> None:
    """Create the producer's stream, or bring an existing one to this configuration."""
    config = stream_config(producer, replicas)
    try:
        await js.stream_info(events.stream_name(producer))
    except NotFoundError:
        try:
            await js.add_stream(config)
            logger.info("created stream %s", config.name)
            return
        except BadRequestError:  # a replica created it meanwhile
            pass
    await js.update_stream(config)


async def persistently(attempt: Callable[[], Awaitable[T]], what: str, retry_s: float = 1.0,
                       level: int = logging.WARNING) -> T:  # fmt: skip
    """`await attempt()` again every `retry_s` until it succeeds, logging why not: a broker that is not there yet
    (starting, or a new cluster still electing the leaders an R3 stream needs) delays a service, never stops it."""
    while True:
        try:
            return await attempt()
        except Exception as exc:
            logger.log(level, "%s: not yet (%s); retrying", what, exc)
            await asyncio.sleep(retry_s)
