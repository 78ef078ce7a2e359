"""Messages of a durable pull consumer, from one standing pull request at a time (JetStream's pull protocol)."""

from __future__ import annotations

import asyncio
import json
import logging
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


async def batches(nc: Client, stream: str, durable: str, credit: int = 256) -> AsyncGenerator[list[Msg], None]:
    """What has arrived, as soon as it arrives, in lists of at most MAX_BATCH.

    nats-py's `fetch` asks anew for every batch and waits for the server to say there is no more, which costs two
    messages and a round trip per batch; this keeps one request for `credit` messages waiting on the server instead.
    The server gives each waiting request (every replica keeps one) messages in turn. It sends heartbeats while a
    request waits: when they stop (the server or the consumer's leader died, in a cluster), the request is asked
    again after LOST_S rather than at its expiry.
    """
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
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
                try:
                    msg = await sub.next_msg(timeout=LOST_S)
                except TimeoutError:
                    break  # not even a heartbeat: the request was lost; ask again
                msgs, status = [], None
                while True:
                    if status := _status(msg):
                        break
                    msgs.append(msg)
                    left -= 1
                    if not sub.pending_msgs or len(msgs) >= MAX_BATCH:
                        break
                    msg = await sub.next_msg()
                if msgs:
                    yield msgs
                if status and status != IDLE_HEARTBEAT:
                    if status != TIMED_OUT:
                        logger.info("%s: pull request ended: %s %s", durable, status, msg.headers)
                        await asyncio.sleep(RETRY_S)
                    break
    finally:
        await _hand_back(sub, durable)


def _status(msg: Msg) -> str | None:
    """The status of a message the server sends about the pull request itself (a heartbeat, its end); None for an
    event."""
    return msg.headers.get("Status") if msg.headers else None


async def _hand_back(sub: Subscription, durable: str) -> None:
    """Stop the deliveries to this process, then NAK what arrived and was not handed on (a service stopping): it is
    redelivered at once, to a replica or to this consumer when it is back, rather than after the ack wait."""
    try:
        await sub.unsubscribe()
        returned = 0
        while sub.pending_msgs:
            msg = await sub.next_msg()
            if not _status(msg):  # not a heartbeat nor the request's end
                await msg.nak()
                returned += 1
        if returned:
            logger.info("%s: %d messages handed back for redelivery", durable, returned)
    except Exception as exc:  # the connection is gone: the ack wait brings them back
        logger.info("%s: nothing handed back (%s); the ack wait redelivers", durable, exc)
