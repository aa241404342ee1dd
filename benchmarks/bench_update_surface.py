"""Benchmark: ``update_surface`` with today's upload vs a full ``hazard_surface``.

The synthetic layers (``benchmarks/synth.py``, fixed seed) with the last ``--new`` strikes
held back give the previous surface; then those strikes are "today's upload" and the
surface is brought up to date by ``update_surface`` (their footprints as ``changed``) and,
for comparison, recomputed by ``hazard_surface``. The two results must be equal (the
script fails otherwise). CPU time (user+sys of this process, all threads) is the fair
measure on a shared machine; wall time is printed alongside. The best of ``--repeat``
runs of each is reported.

Run: ``python benchmarks/bench_update_surface.py --size M``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from geopandas.testing import assert_geodataframe_equal

from minemap.risk import hazard_surface, update_surface
from minemap.risk.footprints import strike_footprints


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _best(label: str, func, repeat: int):
    best = None
    for _ in range(repeat):
        cpu, wall = _cpu(), time.perf_counter()
        result = func()
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        if best is None or cpu < best[0]:
            best = (cpu, wall)
    print(f"{label:<40} {best[0]:7.2f} CPU s  {best[1]:7.2f} wall s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=list(synth.SIZES))
    parser.add_argument("--new", type=int, default=100, help="strikes held back (default 100)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    layers = synth.generate(args.size)
    hz, st, cas, rel = (layers[k] for k in ("hazards", "strikes", "casualties", "cleared"))
    fp = strike_footprints(st)
    old = len(st) - args.new
    common = {"hazards": hz, "casualties": cas, "released": rel}
    previous = hazard_surface(footprints=fp.iloc[:old], **common)
    full = _best("hazard_surface (full)", lambda: hazard_surface(footprints=fp, **common), 1)
    updated = _best(
        f"update_surface ({args.new} new strikes)",
        lambda: update_surface(previous, changed=fp.iloc[old:], footprints=fp, **common),
        args.repeat,
    )
    assert_geodataframe_equal(updated, full, check_like=False)
    print(f"identical: {len(full):,} components, {len(previous):,} before", flush=True)


if __name__ == "__main__":
    main()
