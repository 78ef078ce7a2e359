"""The outbox relay: publishes committed events with Nats-Msg-Id = event_id, marks them sent after the PubAck."""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from sqlalchemy import select
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from svckit.db import Database, now, outbox

logger = logging.getLogger(__name__)

POLL_S = 1.0  # a fallback: a commit in this process wakes the relay at once


class OutboxRelay:
    def __init__(self, db: Database, js: JetStreamContext, batch: int = 200) -> None:
        self.db = db
        self.js = js
        self.batch = batch
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        db.on_commit.append(lambda: loop.call_soon_threadsafe(self._wake.set))

    def _pending(self) -> list[tuple[int, str, str, bytes]]:
        query = (
            select(outbox.c.id, outbox.c.event_id, outbox.c.subject, outbox.c.data)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch)
        )
        with self.db.read() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def _mark_sent(self, ids: list[int]) -> None:
        with self.db.uow() as uow:
            uow.conn.execute(outbox.update().where(outbox.c.id.in_(ids)).values(sent_at=now()))
            uow.commit()

    async def _publish(self, subject: str, event_id: str, data: bytes) -> None:
        async for attempt in AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.1, max=2.0),
            retry=retry_if_exception_type(Exception),
            before_sleep=lambda state: logger.warning(
                "publish of %s failed, retrying: %s", event_id, state.outcome and state.outcome.exception()
            ),
        ):
            with attempt:
                await self.js.publish(subject, data, timeout=2.0, headers={"Nats-Msg-Id": event_id})

    async def relay_once(self) -> int:
        """Publish what is pending, in commit order; returns how many were sent."""
        rows = await asyncio.to_thread(self._pending)
        if not rows:
            return 0
        # Publishes are pipelined on one connection, so the stream keeps the outbox order.
        await asyncio.gather(*(self._publish(subject, eid, data) for _, eid, subject, data in rows))
        await asyncio.to_thread(self._mark_sent, [row[0] for row in rows])
        return len(rows)

    async def run(self) -> None:
        """Relay forever: after every commit, and every POLL_S for rows other processes wrote."""
        while True:
            self._wake.clear()
            try:
                if await self.relay_once() == self.batch:
                    continue
            except Exception:
                logger.exception("outbox relay pass failed; will retry")
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            except TimeoutError:
                pass
