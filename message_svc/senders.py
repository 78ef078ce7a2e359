"""Where notifications go once stored: a sender interface and the default that logs them."""

from __future__ import annotations

import logging
from typing import Protocol

from message_svc.domain import Notification

logger = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, notification: Notification) -> None: ...


class LogSender:
    """Delivery by log line, until a real channel (mail, push) is wanted."""

    def send(self, notification: Notification) -> None:
        logger.info("notify %s %s: %s", notification.recipient_kind, notification.recipient_id, notification.text)
