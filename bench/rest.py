"""REST `POST /rooms` at the edge with an HTTP/1.1 load tool: `hey` (from Debian, installed when missing) or h2load.

Every request carries the same host's token (`authorization: Bearer ...`): the edge verifies it once and then
finds it in its cache (jwt_cache_config), as for a host registering many rooms.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.workloads import HOST
from tools.demos import load

BODY = json.dumps({"description": "Bench", "host_id": HOST, "price_per_night": 100}, separators=(",", ":"))
ENV = {**os.environ, "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}


@dataclass
class Result:
    """One run of the tool: responses by status, transport errors, elapsed time and the p99 of the responses."""

    tool: str
    concurrency: int
    elapsed_s: float = 0.0
    p99_ms: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # no response at all: message -> count

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        return sum(self.statuses.values()) - self.ok + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def __str__(self) -> str:
        statuses = ", ".join(f"{n} x {s}" for s, n in sorted(self.statuses.items()))
        errors = "".join(f"\n  {n} x {message[:110]}" for message, n in self.errors.most_common(3))
        return (
            f"REST POST /rooms with {self.tool}, c={self.concurrency}: {self.ok} ok in {self.elapsed_s:.2f} s,"
            f" {self.rate:.1f}/s, p99 {self.p99_ms:.1f} ms; statuses {statuses or '-'};"
            f" errors {sum(self.errors.values())}{errors}"
        )


def tool() -> str:
    """hey, installed with apt-get when it is missing (saying so); h2load when hey cannot be had."""
    if shutil.which("hey"):
        return "hey"
    print("bench: `hey` is missing; installing it: apt-get install -y hey", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "hey"], check=False, stdout=subprocess.DEVNULL)
    if shutil.which("hey"):
        return "hey"
    if shutil.which("h2load"):
        print("bench: no hey; using h2load --h1", flush=True)
        return "h2load"
    raise RuntimeError("neither hey nor h2load: apt-get install hey")


def post_rooms(edge: str, concurrency: int, duration_s: int, load_tool: str, token: str) -> Result:
    """`token`: HOST's, which the edge accepts."""
    url = f"http://{edge}/rooms"
    return (_hey if load_tool == "hey" else _h2load)(url, concurrency, duration_s, token)


def hey_command(url: str, concurrency: int, duration_s: int, token: str) -> list[str]:
    return ["hey", "-c", str(concurrency), "-z", f"{duration_s}s", "-m", "POST", "-T", "application/json",
            "-H", f"authorization: Bearer {token}", "-d", BODY, url]  # fmt: skip


def _hey(url: str, concurrency: int, duration_s: int, token: str) -> Result:
    command = hey_command(url, concurrency, duration_s, token)
    out = subprocess.run(command, capture_output=True, text=True, env=ENV, check=True).stdout
    return parse_hey(out, concurrency)


def _first(pattern: str, out: str) -> str:
    """The first group of `pattern` in the tool's output; ValueError when the output has none."""
    if found := re.search(pattern, out):
        return found[1]
    raise ValueError(f"no {pattern!r} in the output: {out[-500:]!r}")


def parse_hey(out: str, concurrency: int) -> Result:
    """hey's summary: total time, the 99% latency, the status code and error distributions."""
    result = Result("hey", concurrency)
    result.elapsed_s = float(_first(r"Total:\s+([\d.]+) secs", out))
    if p99 := re.search(r"99% in ([\d.]+) secs", out):
        result.p99_ms = 1000 * float(p99[1])
    result.statuses.update({int(s): int(n) for s, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)})
    if "Error distribution:" in out:
        for n, message in re.findall(r"^\s+\[(\d+)\]\s+(.+)$", out.split("Error distribution:")[1], re.MULTILINE):
            result.errors[message] += int(n)
    return result


def _h2load(url: str, concurrency: int, duration_s: int, token: str) -> Result:
    """h2load over HTTP/1.1; its log file holds one line per request: start (us), status, duration (us)."""
    with tempfile.TemporaryDirectory() as tmp:
        body, log = Path(tmp) / "body.json", Path(tmp) / "requests.log"
        body.write_text(BODY)
        command = ["h2load", "--h1", "-c", str(concurrency), "-D", str(duration_s), "-d", str(body),
                   "-H", "content-type: application/json", "-H", f"authorization: Bearer {token}",
                   f"--log-file={log}", url]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, env=ENV, check=True).stdout
        lines = [line.split() for line in log.read_text().splitlines() if line.strip()]
    result = Result("h2load", concurrency)
    result.elapsed_s = float(_first(r"finished in ([\d.]+)(m?s)", out))
    if re.search(r"finished in [\d.]+ms", out):
        result.elapsed_s /= 1000
    result.statuses.update(int(status) for _, status, _ in lines if int(status) > 0)
    latencies = sorted(int(us) / 1000 for _, status, us in lines if int(status) > 0)
    result.p99_ms = load.quantile(latencies, 0.99)
    for n, kind in re.findall(r"(\d+) (errored|timeout)", out):
        if int(n):
            result.errors[f"{kind} (h2load)"] += int(n)
    return result
