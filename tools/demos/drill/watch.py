"""Every durable consumer watched during the drill: how long each had work waiting and made no progress."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client

from svckit import broker

logger = logging.getLogger(__name__)

STREAMS = ("ROOM", "RESERVATION", "PAYMENT")
INTERVAL_S = 0.25
INFO_TIMEOUT_S = 1.0


async def quiet(exc: Exception) -> None:
    """A NATS client's error callback: a node the drill killed is expected to go away."""
    logger.debug("nats: %s", exc)


@dataclass(frozen=True)
class Stall:
    """A consumer with work waiting (or not seen at all: a JetStream API without a leader) and no progress."""

    consumer: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class _Seen:
    mark: tuple[int, int] = (-1, -1)  # (delivered, ack floor) stream sequences
    leader: str = ""
    progress_at: float = 0.0
    busy: bool = False


@dataclass
class ConsumerWatch:
    """Samples every consumer of the three streams every INTERVAL_S until stopped."""

    urls: str
    stalls: list[Stall] = field(default_factory=list)
    elections: list[tuple[str, float]] = field(default_factory=list)  # (consumer, when seen with a new leader)
    samples: int = 0
    _seen: dict[str, _Seen] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        nc = await nats.connect(
            broker.servers(self.urls), max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=quiet
        )
        try:
            while not stop.is_set():
                await self._sample(nc, time.monotonic())
                try:
                    await asyncio.wait_for(stop.wait(), INTERVAL_S)
                except TimeoutError:
                    pass
            await self._sample(nc, time.monotonic())
            for name, seen in self._seen.items():  # a stall still open at the end counts up to it
                if seen.busy and seen.progress_at:
                    self._close(name, seen, time.monotonic())
        finally:
            await nc.close()

    async def _sample(self, nc: Client, now: float) -> None:
        js = nc.jetstream(timeout=INFO_TIMEOUT_S)
        self.samples += 1
        for stream in STREAMS:
            try:
                infos = await js.consumers_info(stream)
            except Exception:  # not seen: as good as stopped, until seen moving
                for key, seen in self._seen.items():
                    seen.busy = seen.busy or key.startswith(f"{stream}/")
                continue
            for info in infos:
                key = f"{stream}/{info.name}"
                seen = self._seen.setdefault(key, _Seen(progress_at=now))
                mark = (info.delivered.stream_seq or 0 if info.delivered else 0,
                        info.ack_floor.stream_seq or 0 if info.ack_floor else 0)  # fmt: skip
                idle = not info.num_pending and not info.num_ack_pending
                cluster = info.cluster
                leader = (
                    f"{cluster.leader}@{cluster.leader_since}" if cluster and cluster.leader else ""
                )  # re-elected too
                if leader and seen.leader and leader != seen.leader:
                    self.elections.append((key, now))
                seen.leader = leader or seen.leader
                if mark != seen.mark or idle:
                    if seen.busy:
                        self._close(key, seen, now)
                    seen.mark, seen.progress_at, seen.busy = mark, now, not idle
                else:
                    seen.busy = True

    def _close(self, key: str, seen: _Seen, now: float) -> None:
        if now - seen.progress_at > INTERVAL_S * 2:  # sampling jitter is not a stall
            self.stalls.append(Stall(key, seen.progress_at, now))

    def elected(self, start: float, end: float) -> tuple[int, float]:
        """How many consumers were seen with a new leader in [start, end), and the last seen, in seconds after start."""
        within = [at - start for _, at in self.elections if start <= at < end]
        return len(within), max(within, default=0.0)

    def longest(self, start: float, end: float) -> Stall | None:
        """The longest stall that began in [start, end) (one that began before is an earlier fault's)."""
        within = [s for s in self.stalls if start - INTERVAL_S <= s.started < end - INTERVAL_S]
        return max(within, key=lambda s: s.seconds, default=None)
