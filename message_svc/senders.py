"""Where notifications go once committed: a sender interface and the default that logs them."""

from __future__ import annotations

import logging
from typing import Protocol

from message_svc.domain import Notification

logger = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers one notification, or raises (it is retried). At least once: a receiver drops a repeated message_id.

    `blocking`: `send` waits on a network (mail, push), so the relay calls it on a thread, off the event loop.
    """

    blocking: bool

    def send(self, notification: Notification) -> None: ...


class LogSender:
    """Delivery by log line, until a real channel (mail, push) is wanted."""

    blocking = False  # a log line, written on the loop as every other one is

    def send(self, notification: Notification) -> None:
        n = notification
        logger.info("notify %s %s (message %s): %s", n.recipient_kind, n.recipient_id, n.message_id, n.text)
