"""The one server bootstrap: grpc.aio, health, reflection, the event plumbing, graceful shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from nats.js import JetStreamContext

from svckit import broker, events, gauges, grpcmetrics, grpctracing, metrics, serving, wire
from svckit.config import Settings
from svckit.consumer import consume
from svckit.db import Database
from svckit.outbox import OutboxRelay
from svckit.policies import Subscription
from svckit.retries import Redelivery
from svckit.waits import Underway

logger = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
STOP_GRACE_S = 5.0  # in-flight calls finish within it; supervisord's stopwaitsecs (30) covers drain + grace
# The largest request message a service reads: the edge's bound on REST bodies (tools/envoy_config) for gRPC.
MAX_REQUEST_BYTES = 64 * 1024


@dataclass
class Servicer:
    """A servicer, the generated add_*_to_server function, and its full service name."""

    add: Callable[[Any, grpc.aio.Server], None]
    impl: object
    name: str


@dataclass
class App:
    """Everything one service runs."""

    settings: Settings
    db: Database
    servicers: Sequence[Servicer]
    produces: bool = False
    subscriptions: Sequence[Subscription] = ()
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    underway: Underway | None = None  # work its event handlers may wait for (svckit.waits)


def public_pool(path: str) -> tuple[descriptor_pool.DescriptorPool, list[str]]:
    """A pool holding only the public descriptor set and gRPC health, and the services it names."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path(path).read_bytes())
    health_file = descriptor_pb2.FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(health_file)
    pool = descriptor_pool.DescriptorPool()
    names = []
    for file in [*fds.file, health_file]:
        pool.Add(file)
        names += [f"{file.package}.{svc.name}" for svc in file.service]
    return pool, names


async def _event_plumbing(app: App) -> None:
    settings = app.settings
    connecting = functools.partial(broker.connect, settings.nats_url, settings.service)
    nc = await broker.persistently(connecting, f"NATS at {settings.nats_url} (the outbox keeps events)")
    js = nc.jetstream()
    try:
        redelivery = Redelivery(settings.max_deliver, settings.redelivery_backoff_s, settings.max_wait_s)
        jobs = [consume(nc, app.db, sub, redelivery, app.underway) for sub in app.subscriptions]
        if settings.metrics_port:  # the gauges are read only from /metrics: no polling when none is served
            jobs += [gauges.watch_pending(js, sub.producer, sub.durable) for sub in app.subscriptions]
        if app.produces:
            jobs.append(_relaying(app, js))
        await together(jobs)
    finally:
        await nc.close()


async def together(jobs: list[Coroutine[Any, Any, None]]) -> None:
    """Run `jobs` until one fails or this is cancelled; then cancel the others, and wait until every one has ended.

    A plain gather returns as soon as the first job ends cancelled, and its caller would close the broker connection
    while a consumer still hands its messages back over it (svckit.pull).
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            if not task.cancelling():  # a second cancel would cut a stopping consumer's hand-back short
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _relaying(app: App, js: JetStreamContext) -> None:
    """The service's own stream (retried until the broker takes it), then the outbox relay; the consumers of other
    streams do not wait for it."""
    own = functools.partial(broker.ensure_stream, js, app.settings.service, app.settings.stream_replicas)
    await broker.persistently(own, f"stream {events.stream_name(app.settings.service)}")
    await OutboxRelay(app.db, js).run()


async def serve(app: App, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or `stop`): then NOT_SERVING, drain, stop with a grace period."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    options = [("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", MAX_REQUEST_BYTES)]
    metrics.install(bool(settings.metrics_port))  # no port serves them: record none
    server = grpc.aio.server(options=options)
    wrapped = serving.wrapping(server, [*grpctracing.server_wraps(), *grpcmetrics.server_wraps(), wire.refusing])
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, wrapped)
    for servicer in app.servicers:
        servicer.add(servicer.impl, wrapped)
    pool, public = public_pool(settings.descriptor_set)
    reflection.enable_server_reflection([*public, reflection.SERVICE_NAME], wrapped, pool=pool)
    port = server.add_insecure_port(f"{settings.bind_host}:{settings.port}")
    await server.start()
    durables = [sub.durable for sub in app.subscriptions]
    unexpose = gauges.expose(settings.metrics_port, settings.bind_host, app.db, app.produces, durables)
    names = ["", *(s.name for s in app.servicers)]
    for name in names:
        await health_servicer.set(name, SERVING)
    logger.info("%s serving on %s:%s", settings.service, settings.bind_host, port)

    app.db.checkpoint_in_background()
    tasks = [asyncio.create_task(_event_plumbing(app))]
    tasks += [asyncio.create_task(job()) for job in app.background]
    for task in tasks:  # each runs until stop; one that ends early must not end unseen
        task.add_done_callback(_report)
    await stop.wait()
    await drain(server, health_servicer, settings.service, settings.drain_seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    unexpose()
    app.db.dispose()
    logger.info("%s stopped", settings.service)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("background task %s failed", task.get_coro(), exc_info=exc)


async def drain(
    server: grpc.aio.Server, health_servicer: health.aio.HealthServicer, service: str, seconds: float
) -> None:
    """Leave the mesh without losing a call: NOT_SERVING, wait for Envoy to notice, then stop with a grace period.

    Envoy health-checks every 500 ms and routes elsewhere after one failed check, so `seconds` must exceed
    that interval; calls already routed here keep being served meanwhile, and `stop(grace)` lets the last
    ones finish. With `seconds` = 0 Envoy keeps routing here until its next check: those calls fail.
    """
    logger.info("%s draining for %.1fs", service, seconds)
    await health_servicer.enter_graceful_shutdown()  # every service name NOT_SERVING, for good
    await asyncio.sleep(seconds)
    logger.info("%s stopping; in-flight calls get %.0fs", service, STOP_GRACE_S)
    await server.stop(grace=STOP_GRACE_S)
