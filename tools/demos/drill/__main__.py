"""`make drill`: the fault drill on the mesh `make run` started (BNB_DATA_DIR, default .data); exit 1 on a
violated invariant or a missed target."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from tools.demos.drill import report
from tools.demos.drill.run import drill
from tools.demos.drill.target import Target
from tools.launcher.config import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds-per-kill", type=float, default=5.0, help="the load between two faults")
    parser.add_argument("--workers", type=int, default=8, help="guests reserving in parallel")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="the longest wait for the mesh at rest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    target = Target.of(Path(os.environ.get("BNB_DATA_DIR", ROOT / ".data")).resolve() / "run")
    print(f"drill on {target.shape()}: a fault every {args.seconds_per_kill:g}s under load", flush=True)
    result = asyncio.run(drill(target, args.seconds_per_kill, args.workers, args.settle_timeout))
    print(report.render(result))
    sys.exit(1 if result.violations or result.missed else 0)


if __name__ == "__main__":
    main()
