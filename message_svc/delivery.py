"""Delivery of committed notifications through the Sender: at least once, each keyed by its message id."""

from __future__ import annotations

import asyncio
import logging

from message_svc.domain import Notification
from message_svc.senders import Sender
from message_svc.unit_of_work import MessageWork
from svckit.backoff import with_backoff
from svckit.db import on_loop
from svckit.logs import correlated
from svckit.tables import now
from svckit.uow import Runner, Units

logger = logging.getLogger(__name__)

POLL_S = 1.0  # a fallback: a commit in this process wakes the relay at once
COALESCE_S = 0.02  # after a wake, the commits of this long share one pass (one read, one mark, one thread hop)
RETRY_S = (0.1, 30.0)  # backoff after a pass with a failed send: its scale and its longest wait


class Undelivered(Exception):
    """Some notifications of a pass could not be sent: try them again."""


class NotificationRelay:
    """Hands stored notifications to the Sender after their transaction committed, like the outbox relay does events.

    A notification is marked sent only after `send` returned, so a crash in between sends it again: a receiver
    drops a repeat by its message id. A failed send leaves it unsent; the next pass (after a backoff, or after a
    restart) tries it again.
    """

    def __init__(
        self,
        db: Runner,
        units: Units[MessageWork],
        sender: Sender,
        batch: int = 100,
        retry_s: tuple[float, float] = RETRY_S,
    ) -> None:
        self.db = db
        self.units = units
        self.sender = sender
        self.batch = batch
        self.retry_s = retry_s
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Deliver soon: a notification was just committed (from any thread)."""
        if self._loop is not None:
            on_loop(self._loop, self._wake.set)

    def _pending(self) -> list[Notification]:
        with self.units(read_only=True) as uow:
            return uow.messages.unsent(self.batch)

    def _mark_sent(self, message_ids: list[str]) -> None:
        with self.units() as uow:
            uow.messages.mark_sent(message_ids, now())
            uow.commit()

    def _send(self, pending: list[Notification]) -> tuple[list[str], int]:
        """Send each in order; the ids sent and how many failed (they stay unsent)."""
        sent, failed = [], 0
        for notification in pending:
            try:
                with correlated(notification.reservation_id):  # a review's or a room's has none
                    self.sender.send(notification)
            except Exception as exc:
                failed += 1
                logger.warning("sending message %s failed: %s", notification.message_id, exc)
                continue
            sent.append(notification.message_id)
        return sent, failed

    async def deliver_once(self) -> int:
        """Send what is stored and unsent (up to a batch), mark it sent; how many. Undelivered if a send failed."""
        pending = await self.db.run(self._pending)
        if not pending:
            return 0
        if self.sender.blocking:  # a real sender waits on its network: not on the loop
            sent, failed = await asyncio.to_thread(self._send, pending)
        else:  # a thread hop costs more than a log line
            sent, failed = self._send(pending)
        if sent:
            await self.db.run(self._mark_sent, sent)
        if failed:
            raise Undelivered(f"{failed} of {len(pending)} notifications not sent")
        return len(sent)

    async def _deliver(self) -> int:
        """deliver_once, again and again (backing off) until no send fails."""
        return await with_backoff(self.deliver_once, Undelivered, self.retry_s, logger)

    async def run(self) -> None:
        """Deliver forever: what a commit wakes it for at once, and every POLL_S what the table holds."""
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                if await self._deliver() == self.batch:
                    continue
            except Exception:
                logger.exception("notification delivery pass failed; will retry")
            try:
                async with asyncio.timeout(POLL_S):  # wait_for would make a task per pass
                    await self._wake.wait()
                await asyncio.sleep(COALESCE_S)
            except TimeoutError:
                pass
