"""The outbox relay: publishes committed events with Nats-Msg-Id = event_id, marks them sent after the PubAck."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy import bindparam, select

from svckit import metrics
from svckit.backoff import with_backoff
from svckit.compiled import Compiled
from svckit.db import Database, on_loop
from svckit.tables import now, outbox
from svckit.uow import Committed

logger = logging.getLogger(__name__)

POLL_S = 1.0  # a fallback: a commit in this process hands its events over at once
MARK_S = 0.05  # published rows are marked sent together, at most this long after their PubAck
ACK_TIMEOUT_S = 2.0
MAX_QUEUED = 10_000  # beyond it (a long broker outage) the relay forgets and the poll finds the rows again
RETRY_S = (0.05, 2.0)  # backoff after a failed publish: its scale and its longest wait

# One row at a time, run as one executemany of a statement compiled once (svckit.compiled): an IN list is rendered
# anew for each length, which cost ~0.4 ms a pass.
_MARK_SENT = Compiled(outbox.update().where(outbox.c.event_id == bindparam("event")).values(sent_at=bindparam("at")))


class Unacked(Exception):
    """Some events of a publish got no PubAck: publish those again."""


class OutboxRelay:
    """Publishes what this process commits as soon as it commits, and what the table holds otherwise.

    Rows are marked sent in bulk, up to MARK_S after their PubAck: one write for many events. A crash between
    the two resends them, and JetStream drops the resend inside its duplicate window (the message id is the
    event id), which is far longer than MARK_S.
    """

    def __init__(self, db: Database, js: JetStreamContext, batch: int = 500) -> None:
        self.db = db
        self.js = js
        self.batch = batch
        self._queue: deque[Committed] = deque()
        self._known: set[str] = set()  # queued or published, not yet marked sent: the poll leaves them alone
        self._published: list[str] = []  # PubAck'd, to be marked sent
        self._marked_at = self._polled_at = 0.0
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        db.on_commit.append(lambda rows: on_loop(loop, self._take, rows))

    def _take(self, rows: list[Committed]) -> None:
        if len(self._queue) < MAX_QUEUED:
            self._queue.extend(rows)
            self._known.update(row[0] for row in rows)
        self._wake.set()

    def _pending(self) -> list[Committed]:
        query = (
            select(outbox.c.event_id, outbox.c.subject, outbox.c.data, outbox.c.traceparent)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch)
        )
        with self.db.read() as conn:
            return [(eid, subj, data, tp) for eid, subj, data, tp in conn.execute(query) if eid not in self._known]

    def _mark_sent(self, event_ids: list[str]) -> None:
        at = now()
        with self.db.uow() as uow:
            _MARK_SENT.run(uow.conn, [{"event": event_id, "at": at} for event_id in event_ids])
            uow.commit()

    async def _send(self, row: Committed) -> asyncio.Future[PubAck]:
        """The PubAck to come, or an already failed future when the connection refused the message."""
        event_id, subject, data, parent = row
        headers = {"Nats-Msg-Id": event_id}
        if parent:  # the trace of the transaction that wrote the event goes on in its consumers
            headers["traceparent"] = parent
        try:
            return await self.js.publish_async(subject, data, headers=headers)
        except Exception as exc:
            failed = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed

    async def _unacked(self, rows: list[Committed]) -> list[Committed]:
        """Publish `rows` in order, pipelined on one connection; the ones without a PubAck in time."""
        acks = [await self._send(row) for row in rows]
        done, _ = await asyncio.wait(acks, timeout=ACK_TIMEOUT_S)
        failed = [row for row, ack in zip(rows, acks, strict=True) if ack not in done or ack.exception()]
        metrics.published(len(rows) - len(failed), len(failed))
        for ack in acks:
            ack.cancel()  # one that timed out must not complete later
        return failed

    async def _publish(self, rows: list[Committed]) -> None:
        """Publish `rows`, again and again (backing off) for those without a PubAck, until every one has it."""
        left = rows

        async def once() -> None:
            nonlocal left
            if left := await self._unacked(left):
                raise Unacked(f"publish of {len(left)} events got no PubAck")

        await with_backoff(once, Unacked, RETRY_S, logger)

    async def flush(self) -> None:
        """Mark what was published sent."""
        ids, self._published = self._published, []
        self._marked_at = time.monotonic()
        if not ids:
            return
        try:
            await self.db.run(self._mark_sent, ids)
        except BaseException:
            self._published = ids + self._published  # marked on the next try
            raise
        self._known.difference_update(ids)

    async def relay_once(self, poll: bool = True, mark: bool = True) -> int:
        """Publish what was handed over, then (when `poll`) what else the table holds; returns how many were sent.

        With `mark`, everything published so far is marked sent before returning; else only every MARK_S.
        """
        rows = [self._queue.popleft() for _ in range(min(len(self._queue), self.batch))]
        if poll and len(rows) < self.batch:
            self._polled_at = time.monotonic()
            try:
                found = await self.db.run(self._pending)
            except BaseException:
                self._queue.extendleft(reversed(rows))  # handed over, not yet sent: first in line next pass
                raise
            self._known.update(row[0] for row in found)
            rows += found
        if rows:
            try:
                await self._publish(rows)
            except BaseException:
                self._known.difference_update(row[0] for row in rows)  # the poll finds them again
                raise
            self._published += [row[0] for row in rows]
        if mark or time.monotonic() - self._marked_at >= MARK_S or len(self._published) >= self.batch:
            await self.flush()
        return len(rows)

    async def run(self) -> None:
        """Relay forever: what each commit hands over at once, and every POLL_S what other processes wrote."""
        while True:
            self._wake.clear()
            try:
                if await self.relay_once(self._poll_due(), mark=False) == self.batch or self._queue:
                    continue
            except Exception:
                logger.exception("outbox relay pass failed; will retry")
            try:
                async with asyncio.timeout(MARK_S if self._published else POLL_S):  # no task per pass, as wait_for's
                    await self._wake.wait()
            except TimeoutError:
                try:
                    await self.flush()
                except Exception:
                    logger.exception("marking events sent failed; will retry")

    def _poll_due(self) -> bool:
        return time.monotonic() - self._polled_at >= POLL_S
