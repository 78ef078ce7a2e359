"""svckit.db.on_loop: a commit on the loop hands its events over at once; one on another thread, via the loop."""

from __future__ import annotations

import asyncio
import threading

from svckit.db import on_loop


def test_on_the_loop_it_runs_at_once() -> None:
    async def scenario() -> list[str]:
        ran: list[str] = []
        on_loop(asyncio.get_running_loop(), ran.append, "now")
        ran.append("after")  # nothing scheduled: the call came first
        return ran

    assert asyncio.run(scenario()) == ["now", "after"]


def test_from_another_thread_it_runs_on_the_loops_thread() -> None:
    async def scenario() -> tuple[str, str]:
        loop, done = asyncio.get_running_loop(), asyncio.Event()
        seen: list[str] = []

        def record() -> None:
            seen.append(threading.current_thread().name)
            done.set()

        worker = threading.Thread(target=on_loop, args=(loop, record), name="bnb-db-0")
        worker.start()
        worker.join()
        await asyncio.wait_for(done.wait(), 5)
        return seen[0], threading.current_thread().name

    ran_on, loop_thread = asyncio.run(scenario())
    assert ran_on == loop_thread
