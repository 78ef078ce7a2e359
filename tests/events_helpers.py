"""Helpers for the event tests: waiting on conditions, reading JetStream state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx
import nats

from tests.harness import Mesh

T = TypeVar("T")


def eventually(check: Callable[[], T | Literal[False] | None], timeout_s: float = 15.0, interval_s: float = 0.02) -> T:
    """check()'s first truthy value; AssertionError with the last value after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout_s}s; last value {value!r}")
        time.sleep(interval_s)


def room_view(http: httpx.Client, room_id: str) -> dict:
    reply = http.get(f"/roomviews/{room_id}")
    return reply.json() if reply.status_code == 200 else {}


def messages(mesh: Mesh, http: httpx.Client, guest_id: str = "", host_id: str = "", **query: str) -> list[dict]:
    """The notifications of `guest_id` as that guest, or of `host_id` as that host, asked with their own token."""
    assert bool(guest_id) != bool(host_id), "whose messages: name one guest_id or one host_id"
    field, subject, role = ("guest_id", guest_id, "guest") if guest_id else ("host_id", host_id, "host")
    reply = http.get(
        "/messages", params={field: subject, **query, "page_size": 500}, headers=mesh.headers(subject, role)
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["messages"]


async def _js_call(mesh: Mesh, work: Callable[[Any], Awaitable[T]]) -> T:
    nc = await nats.connect(f"nats://127.0.0.1:{mesh.cfg.nats_port}")
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()


def js(mesh: Mesh, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `async work(jetstream)` against the mesh's NATS."""
    return asyncio.run(_js_call(mesh, work))


def consumers_idle(mesh: Mesh, durables: dict[str, list[str]]) -> bool:
    """True when every durable (per stream) has nothing pending and nothing unacknowledged."""

    async def check(jsm: object) -> bool:
        for stream, names in durables.items():
            for name in names:
                info = await jsm.consumer_info(stream, name)  # type: ignore[attr-defined]
                if info.num_pending or info.num_ack_pending:
                    return False
        return True

    return bool(js(mesh, check))


VIEW_CONSUMERS = {
    "ROOM": ["view-room-projection"],
    "RESERVATION": ["view-reservation-projection"],
    "PAYMENT": ["view-payment-projection"],
}
