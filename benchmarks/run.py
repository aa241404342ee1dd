"""Run every benchmark: ``python benchmarks/run.py [--size S|M|L] [--only NAME ...]``.

Each ``benchmarks/bench_*.py`` module has ``main(argv) -> None`` that measures minemap and
a naive geopandas baseline in the same run and prints wall time, peak memory and the ratio.
Figures are recorded in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="S", choices=["S", "M", "L"], help="data size (risk)")
    parser.add_argument("--only", nargs="*", help="benchmark names, e.g. ingest risk")
    args, rest = parser.parse_known_args()
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    for name in args.only or names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        argv = [*rest]
        if "size" in getattr(module, "ACCEPTS", ()):
            argv += ["--size", args.size]
        module.main(argv)
        print(f"({name}: {time.perf_counter() - start:.1f} s in all)", flush=True)


if __name__ == "__main__":
    main()
