"""The message context's unit of work: what its handlers see of storage, and the SQL one that main.py wires."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import Connection

from message_svc.domain import MessageFilter, Notification
from message_svc.repository import SqlMessages
from svckit.uow import UnitOfWork, Work


class Messages(Protocol):
    def add(self, notification: Notification) -> bool: ...
    def unsent(self, limit: int) -> list[Notification]: ...
    def mark_sent(self, message_ids: list[str], at: dt.datetime) -> None: ...
    def listing(self, where: MessageFilter, limit: int, offset: int) -> list[Notification]: ...


class MessageWork(Work, Protocol):
    @property
    def messages(self) -> Messages: ...


class MessageUnitOfWork(UnitOfWork):
    def _bind(self, conn: Connection) -> None:
        self.messages = SqlMessages(conn)
