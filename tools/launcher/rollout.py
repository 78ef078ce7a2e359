"""Restart a service's replicas one by one without losing a call (`make rollout SERVICE=room`)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.launcher import local, probes
from tools.launcher.config import ROOT

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Step:
    """One replica's restart, in seconds since its stop was asked."""

    program: str
    port: int
    unrouted_s: float | None  # Envoy stopped routing to it (None: not waited for)
    stopped_s: float  # the process exited: drained, in-flight calls finished
    serving_s: float | None  # the new process answers SERVING on gRPC health
    routed_s: float | None  # Envoy routes to it again

    def __str__(self) -> str:
        def at(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}s"

        return (
            f"{self.program} (:{self.port}): Envoy stopped routing {at(self.unrouted_s)}, stopped {at(self.stopped_s)},"
            f" SERVING {at(self.serving_s)}, Envoy routing again {at(self.routed_s)}"
        )


@dataclass(frozen=True)
class Target:
    """Where a running mesh's supervisord and Envoy admin are, and the ports of the service's replicas."""

    conf: Path
    admin_port: int
    service: str
    ports: list[int]

    @classmethod
    def of(cls, run_dir: Path, service: str) -> Target:
        described = json.loads((run_dir / "mesh.json").read_text())
        if service not in described["endpoints"]:
            raise SystemExit(f"no service {service!r}; services: {', '.join(described['endpoints'])}")
        return cls(run_dir / "supervisord.conf", described["admin"], service, described["endpoints"][service])

    def supervisor(self) -> xmlrpc.client.ServerProxy:
        """supervisord's XML-RPC interface (one proxy per thread)."""
        return local.supervisor(self.conf.parent)

    def routed(self, port: int) -> bool:
        return probes.envoy_hosts(self.admin_port, self.service).get(port) == "healthy"


def _restart(target: Target, i: int, port: int) -> Step:
    program = f"svc:{target.service}-{i}"
    failed: list[BaseException] = []

    def stop() -> None:  # blocks until the process exited
        try:
            target.supervisor().supervisor.stopProcess(program, True)
        except (OSError, xmlrpc.client.Error) as exc:
            failed.append(exc)

    t0 = time.monotonic()
    # supervisord sends SIGTERM: the replica turns NOT_SERVING, drains, and stops with a grace period.
    stopping = threading.Thread(target=stop)
    stopping.start()
    probes.wait_until(lambda: not target.routed(port) or failed, TIMEOUT_S, f"Envoy leaving {program}")
    unrouted = time.monotonic() - t0
    stopping.join(TIMEOUT_S)
    if failed or stopping.is_alive():
        raise RuntimeError(f"could not stop {program}: {failed or 'timeout'}")
    stopped = time.monotonic() - t0
    target.supervisor().supervisor.startProcess(program, True)  # returns once it is RUNNING (startsecs)
    probes.wait_until(lambda: probes.serving(f"127.0.0.1:{port}"), TIMEOUT_S, f"{program} SERVING")
    serving = time.monotonic() - t0
    probes.wait_until(lambda: target.routed(port), TIMEOUT_S, f"Envoy routing to {program}")
    return Step(program, port, unrouted, stopped, serving, time.monotonic() - t0)


def _all_routed(target: Target, ports: list[int]) -> bool:
    return all(target.routed(p) for p in ports)


def rollout(target: Target, graceful: bool = True, log: Callable[[str], None] = print) -> list[Step]:
    """Restart every replica in turn; the next one only when Envoy routes to the restarted one again.

    `graceful=False` is the demo's counter-example: restart back to back, never waiting for Envoy.
    """
    steps = []
    for i, port in enumerate(target.ports):
        if graceful:
            others = [p for p in target.ports if p != port]
            probes.wait_until(functools.partial(_all_routed, target, others), TIMEOUT_S, "the other replicas")
            step = _restart(target, i, port)
        else:
            t0, program = time.monotonic(), f"svc:{target.service}-{i}"
            target.supervisor().supervisor.stopProcess(program, True)
            stopped = time.monotonic() - t0
            target.supervisor().supervisor.startProcess(program, True)
            step = Step(program, port, None, stopped, None, None)
        log(str(step))
        steps.append(step)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="room, reservation, payment, message or view")
    args = parser.parse_args()
    run_dir = Path(os.environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve() / "run"
    if not (run_dir / "mesh.json").exists():
        raise SystemExit(f"no mesh described in {run_dir}: start one with `make run`")
    target = Target.of(run_dir, args.service)
    try:
        target.supervisor().supervisor.getState()
    except OSError:
        raise SystemExit(f"no supervisord answers for {target.conf}: is `make run` up?") from None
    started = time.monotonic()
    print(f"rolling out {args.service}: {len(target.ports)} replica(s), one at a time", flush=True)
    if len(target.ports) == 1:
        print(f"one replica only: calls fail while it restarts ({args.service.upper()}_REPLICAS=2 avoids that)")
    rollout(target, log=lambda line: print(line, flush=True))
    print(f"rollout of {args.service} done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
