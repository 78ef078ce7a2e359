"""The benchmark's own arithmetic: targets, CPU tables, /proc accounting, the load tool's summary."""

from __future__ import annotations

import os
import subprocess
import sys

from bench import procs, report, rest


def test_a_target_says_missed_beside_its_ceiling_and_ratio() -> None:
    line = str(report.Target("saga throughput", 100.0, 400, "res/s", at_least=True, ceiling=500.0))
    assert "500.00" in line and "0.20" in line and ">= 400" in line and line.endswith("MISSED")


def test_an_unjudged_figure_is_printed_without_a_verdict() -> None:
    target = report.Target("saga latency p50", 30.0, None, "ms")
    assert target.met and str(target).endswith("-")


def test_the_cpu_table_sums_replicas_per_service_and_totals() -> None:
    table = report.cpu_table("t", {"mesh": ({"room-0": 1.0, "room-1": 1.0, "nats": 0.5}, 1000)})
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[2:]}
    assert rows == {"room": "2.00", "nats": "0.50", "total": "2.50"}


def test_a_child_counts_for_the_program_it_was_started_by() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owners = procs.owned({os.getpid(): "bench"})
        assert owners[child.pid][0] == "bench" and owners[child.pid][1].rss > 0
        assert procs.owned({os.getpid(): "bench", child.pid: "child"})[child.pid][0] == "child"
    finally:
        child.kill()
        child.wait()


HEY = """
Summary:
  Total:\t10.0312 secs
  Requests/sec:\t1500.1
Latency distribution:
  50% in 0.0300 secs
  99% in 0.0812 secs
Status code distribution:
  [200]\t14000 responses
  [503]\t12 responses
Error distribution:
  [3]\tPost "http://127.0.0.1:1/rooms": dial tcp: connection refused
"""


def test_hey_summary_gives_successes_errors_and_p99() -> None:
    result = rest.parse_hey(HEY, 100)
    assert (result.ok, result.failed, round(result.p99_ms, 1)) == (14000, 15, 81.2)
    assert round(result.rate) == 1396
