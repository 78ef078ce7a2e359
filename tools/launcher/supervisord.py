"""supervisord, polling every 0.1 s instead of every second, so that a kill -9'd program starts again at once.

supervisord spawns a program again in the transition after its next poll, and after a child's exit nothing
wakes that poll (the services log to their own files, so their pipes are quiet): the restart came up to 1 s
later, half of a one-replica service's gap in `make drill`. A 0.1 s poll costs supervisord about 10 idle
loops a second. Used by `make run`, and the private meshes of tests, demos and the bench.
"""

from __future__ import annotations

from typing import Any

from supervisor import poller, supervisord

POLL_S = 0.1


class QuickPoller(poller.Poller):  # type: ignore[misc]  # supervisor is untyped: its Poller is Any here
    def poll(self, timeout: float) -> Any:
        return super().poll(min(timeout, POLL_S))


def main() -> None:
    poller.Poller = QuickPoller  # what supervisor.options instantiates
    supervisord.main()


if __name__ == "__main__":
    main()
