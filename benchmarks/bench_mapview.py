"""Benchmark: the "detail in view" query of the Map page (minemap.mapview).

Builds (fixed seed) N small parcel rectangles spread over Ukraine, then measures building the
spatial index once (what the app keeps per store version and filters) and one zoom-11 view
query (what a pan or zoom costs on a cold cache: STRtree query, cap, simplification). Prints
CPU time (user + sys, the fair measure on a shared machine) and wall time.

Run from the repository root::

    python benchmarks/bench_mapview.py [--features 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import shapely

from minemap import mapview


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100_000)
    args = parser.parse_args()
    n = args.features
    rng = np.random.default_rng(0)
    xs = 22.5 + rng.random(n) * 17
    ys = 44.5 + rng.random(n) * 7.5
    frame = gpd.GeoDataFrame(
        {"parcel_id": np.arange(n).astype(str)},
        geometry=shapely.box(xs, ys, xs + 0.004, ys + 0.003),
        crs="EPSG:4326",
    )
    cpu, wall = _cpu(), time.perf_counter()
    index = mapview.ViewIndex(frame, name="farmland")
    print(
        f"index of {n:,} polygons: cpu {_cpu() - cpu:.2f} s, "
        f"wall {time.perf_counter() - wall:.2f} s"
    )
    view = mapview.snap_bounds(mapview.pad_bounds((36.0, 49.8, 36.35, 50.0)), zoom=11)
    cpu, wall = _cpu(), time.perf_counter()
    found = index.query(view, cap=350, simplify_m=mapview.simplify_tolerance_m(11))
    print(
        f"zoom-11 view: {found.total:,} in view, {len(found.frame):,} sent: "
        f"cpu {_cpu() - cpu:.3f} s, wall {time.perf_counter() - wall:.3f} s"
    )


if __name__ == "__main__":
    main()
