"""`make bench`: the event-day load on the real server (Daphne, PostgreSQL, Redis on loopback), each
scenario beside a baseline measured in the same run, and a table of figures against the targets.

    .venv/bin/python -m bench.run [--quick]
        [--only eventday,burst,sustained,orders,fanout,import,jobs,reads,servers,anatomy]

Exits 1 when a target is missed. docs/performance.md explains the scenarios and the figures.
"""

import argparse
import os
import platform
import sys
import time

from django.db import connections

import bench.environment  # noqa: F401  (first: the settings, then Django)
from bench import data
from bench.report import ROWS
from bench.scenarios import SCENARIOS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios to run")
    parser.add_argument("--quick", action="store_true", help="smaller loads, for trying the harness out")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")

    started = time.monotonic()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"Brainstorm benchmark · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · ", end="")
    print(f"{memory:.0f} GiB · Python {platform.python_version()}", flush=True)
    data.create_database()
    for name in chosen:
        SCENARIOS[name](args.quick)
        connections.close_all()

    missed = [r for r in ROWS if r.met is False]
    print(f"\n{'scenario':<10} {'figure':<34} {'measured':>16} {'baseline':>16}  {'target':<24} result")
    for r in ROWS:
        result = {True: "met", False: "MISSED", None: ""}[r.met]
        print(f"{r.scenario:<10} {r.figure:<34} {r.value:>16} {r.baseline:>16}  {r.target:<24} {result}")
    print(f"\n{len(ROWS) - len(missed)} figures, {len(missed)} missed · {time.monotonic() - started:.0f} s")
    print(
        "All targets met." if not missed else "Targets missed: " + "; ".join(f"{r.scenario} {r.figure}" for r in missed)
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
