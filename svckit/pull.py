"""Messages of a durable pull consumer, from one standing pull request at a time (JetStream's pull protocol)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncGenerator

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

logger = logging.getLogger(__name__)

EXPIRES_S = 5.0  # each pull request's life; the server answers 408 at its end and we ask again
HEARTBEAT_S = 1.0  # the server says "100 Idle Heartbeat" this often while a request waits with nothing to send
LOST_S = 2 * HEARTBEAT_S + 0.5  # silence this long: the request died with its server (a node or leader lost)
RETRY_S = 1.0
MAX_BATCH = 100  # messages handed on at once (one transaction)
TIMED_OUT = "408"  # the request expired: ask again at once; any other status but a heartbeat waits RETRY_S first
IDLE_HEARTBEAT = "100"
HAND_BACK_S = 2.0  # a stopping consumer's hand-back waits this long at most for the server (it may be away)


class _Arrivals:
    """What the subscription delivered and was not handed on yet. nats-py calls `arrived` with each message; a
    task, a timer and a uuid per message, as `next_msg` costs, would cost more than the rest of its delivery."""

    def __init__(self) -> None:
        self.msgs: deque[Msg] = deque()
        self._arrived = asyncio.Event()

    async def arrived(self, msg: Msg) -> None:
        self.msgs.append(msg)
        self._arrived.set()

    async def next(self, timeout_s: float) -> Msg | None:
        """The next message, waiting up to `timeout_s` for one; None when none came."""
        if not self.msgs:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        return self.msgs.popleft()


async def batches(
    nc: Client, stream: str, durable: str, credit: int = 256, linger_s: float = 0.0
) -> AsyncGenerator[list[Msg], None]:
    """What has arrived, as soon as it arrives, in lists of at most MAX_BATCH; with `linger_s`, an event that
    finds nothing else waiting waits that long for more to join its batch (a backlog is never held up).

    nats-py's `fetch` asks anew for every batch and waits for the server to say there is no more, which costs two
    messages and a round trip per batch; this keeps one request for `credit` messages waiting on the server instead.
    The server gives each waiting request (every replica keeps one) messages in turn. It sends heartbeats while a
    request waits: when they stop (the server or the consumer's leader died, in a cluster), the request is asked
    again after LOST_S rather than at its expiry.
    """
    inbox, arrivals = nc.new_inbox(), _Arrivals()
    sub = await nc.subscribe(inbox, cb=arrivals.arrived)
    request = json.dumps(
        {"batch": credit, "expires": int(EXPIRES_S * 1e9), "idle_heartbeat": int(HEARTBEAT_S * 1e9)}
    ).encode()
    try:
        while True:
            try:
                await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", request, reply=inbox)
            except Exception as exc:  # broker away: the durable keeps our place
                logger.warning("%s: pull request failed: %s", durable, exc)
                await asyncio.sleep(RETRY_S)
                continue
            left = credit
            while left > 0:
                if (msg := await arrivals.next(LOST_S)) is None:
                    break  # not even a heartbeat: the request was lost; ask again
                if linger_s and not arrivals.msgs and not _status(msg):  # caught up: let more join this one
                    arrivals.msgs.append(msg)  # handed back with the rest if the consumer stops meanwhile
                    await asyncio.sleep(linger_s)
                    msg = arrivals.msgs.popleft()
                msgs, status = [], None
                while True:
                    if status := _status(msg):
                        break
                    msgs.append(msg)
                    left -= 1
                    if not arrivals.msgs or len(msgs) >= MAX_BATCH:
                        break
                    msg = arrivals.msgs.popleft()
                if msgs:
                    yield msgs
                if status and status != IDLE_HEARTBEAT:
                    if status != TIMED_OUT:
                        logger.info("%s: pull request ended: %s %s", durable, status, msg.headers)
                        await asyncio.sleep(RETRY_S)
                    break
    finally:
        await _hand_back(sub, arrivals, durable)


def _status(msg: Msg) -> str | None:
    """The status of a message the server sends about the pull request itself (a heartbeat, its end); None for an
    event."""
    return msg.headers.get("Status") if msg.headers else None


async def _hand_back(sub: Subscription, arrivals: _Arrivals, durable: str) -> None:
    """Stop the deliveries to this process, then NAK what arrived and was not handed on (a service stopping): it is
    redelivered at once, to a replica or to this consumer when it is back, rather than after the ack wait. The
    drain waits for what the server sent before it heard the unsubscribe, so that is handed back too."""
    try:
        async with asyncio.timeout(HAND_BACK_S):
            await sub.drain()  # type: ignore[no-untyped-call]  # nats-py leaves it unannotated
            returned = 0
            for msg in arrivals.msgs:
                if not _status(msg):  # not a heartbeat nor the request's end
                    await msg.nak()
                    returned += 1
        if returned:
            logger.info("%s: %d messages handed back for redelivery", durable, returned)
    except Exception as exc:  # the connection is gone: the ack wait brings them back
        logger.info("%s: nothing handed back (%s); the ack wait redelivers", durable, exc)
