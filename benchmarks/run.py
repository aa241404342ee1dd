"""Run every benchmark, one process each: ``python benchmarks/run.py [--size S|M|L] [--only ...]``.

Each ``benchmarks/bench_*.py`` measures minemap and a naive baseline in the same run and prints
wall time, CPU time or peak memory and the ratio. Running each in its own process keeps one
benchmark's memory out of the next one's peak. ``--size`` goes to the benchmarks that take it
(risk, dask). Figures are recorded in ``docs/performance.md``, ``docs/io.md``,
``docs/validation.md``, ``docs/app.md`` and ``docs/scaling.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZED = {"risk", "dask"}
"""Benchmarks that take ``--size``."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--size", default="S", choices=["S", "M", "L"], help="data size (risk, dask)"
    )
    parser.add_argument("--only", nargs="*", help="benchmark names, e.g. ingest risk")
    args = parser.parse_args()
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    unknown = set(args.only or ()) - set(names)
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}; have {', '.join(names)}")
    failed = []
    for name in args.only or names:
        command = [sys.executable, str(HERE / f"bench_{name}.py")]
        if name in SIZED:
            command += ["--size", args.size]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        if subprocess.run(command, cwd=HERE.parent, check=False).returncode != 0:
            failed.append(name)
        print(f"({name}: {time.perf_counter() - start:.1f} s in all)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
