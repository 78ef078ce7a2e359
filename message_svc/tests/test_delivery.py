"""Notifications are sent after their commit, at least once each, retried until sent, and never lost to a restart."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from bnb.events.v1 import events_pb2 as ev
from message_svc import handlers
from message_svc.delivery import NotificationRelay, Undelivered
from message_svc.domain import MessageFilter, Notification
from message_svc.tests.fakes import FakeSender, work, wrap
from svckit.db import Database
from svckit.logs import correlation_id

FAST = (0.005, 0.02)  # the relay's backoff, shortened


def confirmed(n: int) -> ev.ReservationConfirmed:
    return ev.ReservationConfirmed(reservation_id=f"r{n}", room_id="room1", guest_id=f"g{n}", host_id="h1")


def store(db: Database, count: int, wake: Callable[[], None] = lambda: None) -> list[str]:
    """`count` reservations confirmed, each in a transaction of its own; the ids of the notifications stored."""
    for n in range(count):
        with work(db)() as uow:
            handlers.notify(uow, confirmed(n), wrap(confirmed(n), "reservation", n), wake)
            uow.commit()
    return sorted(m.message_id for m in handlers.list_messages(work(db), MessageFilter(), 500, 0))


def unsent(db: Database) -> int:
    with work(db)(read_only=True) as uow:
        return len(uow.messages.unsent(500))


class FlakySender:
    """Fails its first `failures` sends (a mail server away), then delivers; records every delivery."""

    blocking = True  # as a mail server's: sent from a thread

    def __init__(self, failures: int) -> None:
        self.failures, self.calls, self.sent = failures, 0, list[str]()

    def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("mail server away")
        self.sent.append(notification.message_id)


class Crash(BaseException):
    """The process dies: nothing after it runs (not an Exception, so nothing catches it)."""


class DyingSender(FlakySender):
    """Delivers `lives` notifications, then the process dies in the middle of the pass."""

    def __init__(self, lives: int) -> None:
        super().__init__(0)
        self.lives = lives

    def send(self, notification: Notification) -> None:
        if len(self.sent) == self.lives:
            raise Crash
        super().send(notification)


async def run_until(relay: NotificationRelay, done: Callable[[], bool], timeout_s: float = 10) -> None:
    task = asyncio.create_task(relay.run())
    deadline = time.monotonic() + timeout_s
    try:
        while not done():
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "not delivered in time"
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_nothing_is_sent_before_the_commit_and_a_rolled_back_notification_never(db: Database) -> None:
    sender = FakeSender()
    relay = NotificationRelay(db, work(db), sender)
    with work(db)() as uow:
        handlers.notify(uow, confirmed(1), wrap(confirmed(1), "reservation"), relay.wake)
        assert sender.sent == []  # the handler stores, it does not send
    # the transaction rolled back (a failed commit): there is nothing to send, now or on redelivery
    assert asyncio.run(relay.deliver_once()) == 0 and sender.sent == []
    ids = store(db, 1)
    assert asyncio.run(relay.deliver_once()) == 2
    assert sorted(n.message_id for n in sender.sent) == ids and unsent(db) == 0
    assert asyncio.run(relay.deliver_once()) == 0 and len(sender.sent) == 2  # marked sent: not sent again


def test_a_commit_wakes_the_relay_which_sends_at_once(db: Database) -> None:
    async def scenario() -> FakeSender:
        sender = FakeSender()
        relay = NotificationRelay(db, work(db), sender)
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.05)  # the first pass found nothing; the next poll is a second away
        started = time.monotonic()
        store(db, 1, relay.wake)
        while len(sender.sent) < 2:
            assert time.monotonic() - started < 0.5, "the relay waited for its poll"
            await asyncio.sleep(0.005)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return sender

    assert len(asyncio.run(scenario()).sent) == 2


def test_each_send_is_made_under_its_reservation_s_correlation_id(db: Database) -> None:
    """What the sender logs (the default sender's line is the delivery) carries the reservation's correlation id."""

    class Tagging(FakeSender):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []

        def send(self, notification: Notification) -> None:
            super().send(notification)
            self.tags.append(correlation_id.get())

    store(db, 2)
    sender = Tagging()
    asyncio.run(NotificationRelay(db, work(db), sender).deliver_once())
    assert sender.tags == [n.reservation_id for n in sender.sent] and set(sender.tags) == {"r0", "r1"}


def test_a_blocking_sender_sends_from_a_thread_and_another_from_the_loop(db: Database) -> None:
    class Where(FakeSender):
        def __init__(self, blocking: bool) -> None:
            super().__init__()
            self.blocking, self.threads = blocking, set[str]()

        def send(self, notification: Notification) -> None:
            super().send(notification)
            self.threads.add(threading.current_thread().name)

    store(db, 2)
    blocking, inline = Where(blocking=True), Where(blocking=False)
    assert asyncio.run(NotificationRelay(db, work(db), blocking).deliver_once()) == 4
    store(db, 2)  # two more events
    assert asyncio.run(NotificationRelay(db, work(db), inline).deliver_once()) == 4
    assert threading.main_thread().name not in blocking.threads and inline.threads == {threading.main_thread().name}


def test_a_failed_send_stays_unsent_and_the_pass_says_so(db: Database) -> None:
    store(db, 2)
    sender = FlakySender(failures=1)
    with pytest.raises(Undelivered, match="1 of 4"):
        asyncio.run(NotificationRelay(db, work(db), sender).deliver_once())
    assert (len(sender.sent), unsent(db)) == (3, 1)  # the others went out and are marked


def test_a_failing_sender_is_retried_until_each_notification_is_delivered(db: Database) -> None:
    ids = store(db, 5)
    sender = FlakySender(failures=7)  # more failures than notifications: several passes fail entirely
    asyncio.run(run_until(NotificationRelay(db, work(db), sender, retry_s=FAST), lambda: unsent(db) == 0))
    assert sorted(sender.sent) == ids  # each exactly once: a failed send is not a delivery
    assert sender.calls == 7 + len(ids)


def test_a_restart_delivers_what_was_not_sent(db: Database) -> None:
    ids = store(db, 4)
    away = FlakySender(failures=10**6)  # the channel is down for the whole life of the first process
    asyncio.run(run_until(NotificationRelay(db, work(db), away, retry_s=FAST), lambda: away.calls >= 3 * len(ids)))
    assert away.sent == [] and unsent(db) == len(ids)
    later = FakeSender()  # the next process, the channel back
    asyncio.run(run_until(NotificationRelay(db, work(db), later, retry_s=FAST), lambda: unsent(db) == 0))
    assert sorted(n.message_id for n in later.sent) == ids


def test_a_crash_between_sending_and_marking_sends_again_never_loses(db: Database) -> None:
    ids = store(db, 3)
    dying = DyingSender(lives=2)
    with pytest.raises(Crash):
        asyncio.run(NotificationRelay(db, work(db), dying).deliver_once())
    assert len(dying.sent) == 2 and unsent(db) == len(ids)  # sent, but the process died before marking them
    after = FakeSender()
    asyncio.run(run_until(NotificationRelay(db, work(db), after, retry_s=FAST), lambda: unsent(db) == 0))
    seen = Counter(dying.sent + [n.message_id for n in after.sent])
    assert sorted(seen) == ids  # every notification delivered...
    assert sorted(seen.values()) == [1] * (len(ids) - 2) + [2, 2]  # ...the two sent before the crash twice, same ids
