"""Gauges read where the numbers live: the outbox and dead letters at scrape time, JetStream on a slow timer."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator

import prometheus_client
from nats.js import JetStreamContext
from prometheus_client import REGISTRY, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from svckit import events
from svckit.db import Database
from svckit.tables import dead_letters, outbox

logger = logging.getLogger(__name__)

PENDING_POLL_S = 2.0  # one consumer-info request per durable this often; Prometheus scrapes every 5 s
PENDING = Gauge("bnb_consumer_pending", "Messages of the durable not delivered yet (num_pending)", ["durable"])
ACK_PENDING = Gauge("bnb_consumer_ack_pending", "Messages delivered, not yet acked (num_ack_pending)", ["durable"])

_UNSENT = select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
_DEAD = (
    select(dead_letters.c.consumer, func.count())
    .where(dead_letters.c.replayed_at.is_(None))
    .group_by(dead_letters.c.consumer)
)


class StoreCollector(Collector):
    """The outbox's unsent rows and the age of the oldest, and the dead letters not replayed: one query each
    per scrape (the outbox's on the sent_at index), none per event."""

    def __init__(self, db: Database, outbox_rows: bool, durables: list[str]) -> None:
        self.db = db
        self.outbox_rows = outbox_rows
        self.durables = durables

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.db.read() as conn:
                unsent = conn.execute(_UNSENT).one() if self.outbox_rows else None
                dead: dict[str, int] = {c: n for c, n in conn.execute(_DEAD)} if self.durables else {}
        except Exception as exc:  # the database away: these series go missing, which an alert can see
            logger.warning("reading the outbox and dead letters for metrics failed: %s", exc)
            return
        if unsent is not None:
            count, oldest = unsent
            yield GaugeMetricFamily("bnb_outbox_unsent", "Outbox rows not yet published", value=count)
            yield GaugeMetricFamily(
                "bnb_outbox_oldest_unsent_age_seconds",
                "Age of the oldest outbox row not yet published (0 when none)",
                value=_age(oldest),
            )
        family = GaugeMetricFamily("bnb_dead_letters", "Dead letters not replayed, per consumer", labels=["durable"])
        for durable in sorted({*self.durables, *dead}):
            family.add_metric([durable], dead.get(durable, 0))
        if self.durables or dead:
            yield family


def _age(oldest: dt.datetime | None) -> float:
    if oldest is None:
        return 0.0
    return max((dt.datetime.now(dt.UTC) - oldest).total_seconds(), 0.0)


def watch_store(db: Database, outbox_rows: bool, durables: list[str]) -> Collector:
    """Register the scrape-time gauges of `db`; unregister the returned collector when the service stops."""
    collector = StoreCollector(db, outbox_rows, durables)
    REGISTRY.register(collector)
    return collector


async def watch_pending(js: JetStreamContext, producer: str, durable: str) -> None:
    """Keep bnb_consumer_pending and bnb_consumer_ack_pending of `durable` current, every PENDING_POLL_S."""
    stream = events.stream_name(producer)
    pending, ack_pending = PENDING.labels(durable), ACK_PENDING.labels(durable)
    while True:
        try:
            info = await js.consumer_info(stream, durable)
            pending.set(info.num_pending or 0)
            ack_pending.set(info.num_ack_pending or 0)
        except Exception as exc:  # not bound yet, or the broker away: keep the last figures
            logger.debug("%s: consumer info failed: %s", durable, exc)
        await asyncio.sleep(PENDING_POLL_S)


def expose(port: int, host: str, db: Database, outbox_rows: bool, durables: list[str]) -> Callable[[], None]:
    """Serve /metrics on `host:port` (none when 0) with this service's store gauges; returns what stops both."""
    if not port:
        return lambda: None
    collector = watch_store(db, outbox_rows, durables)
    stop_http = serve_http(port, host)
    logger.info("metrics on http://%s:%s/metrics", host, port)

    def stop() -> None:
        stop_http()
        REGISTRY.unregister(collector)

    return stop


def serve_http(port: int, host: str) -> Callable[[], None]:
    """Serve /metrics on `host:port` from a thread of its own; returns what stops it."""
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream; no *_created series: half the lines, nothing alerted on
    server, thread = prometheus_client.start_http_server(port, host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)

    return stop
