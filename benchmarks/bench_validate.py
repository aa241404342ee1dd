"""Benchmark: validate 100,000 small polygons, vectorised vs a per-row loop.

Run from the repository root::

    python benchmarks/bench_validate.py [N]

Builds a fixed-seed synthetic ``cleared`` layer of N (default 100,000) small squares
across Ukraine — 1 % with a self-intersection (bow-tie), 1 % clockwise, 1 % with a
repeated vertex — and times

* ``validate_layer`` (the real thing: fields, geometry checks, repairs, overlaps), and
* a naive baseline doing only the equivalent geometry work per row with
  ``GeoSeries.apply`` (bounds check, ``is_valid``, ``make_valid``, orientation).

It prints both times and the ratio. The baseline does *less* than ``validate_layer``.
"""

from __future__ import annotations

import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.polygon import orient

sys.path.insert(0, ".")

from minemap._report import Report
from minemap.layers import get_schema
from minemap.settings import UKRAINE_AOI
from minemap.validate import validate_layer
from minemap.validate._geometry import check_geometries
from minemap.validate._messages import Collector


def synthetic_cleared(n: int, *, seed: int = 20240601) -> gpd.GeoDataFrame:
    """N small squares (~50-150 m) scattered over Ukraine, with a few broken ones."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(23.0, 39.5, n)
    y = rng.uniform(45.0, 52.0, n)
    d = rng.uniform(0.0007, 0.002, n)
    geoms = shapely.box(x, y, x + d, y + d)
    kind = rng.random(n)
    bow = kind < 0.01
    geoms[bow] = shapely.polygons(
        np.stack(
            [
                np.column_stack([x[bow], y[bow]]),
                np.column_stack([x[bow] + d[bow], y[bow] + d[bow]]),
                np.column_stack([x[bow] + d[bow], y[bow]]),
                np.column_stack([x[bow], y[bow] + d[bow]]),
                np.column_stack([x[bow], y[bow]]),
            ],
            axis=1,
        )
    )
    cw = (kind >= 0.01) & (kind < 0.02)
    geoms[cw] = shapely.reverse(geoms[cw])
    rep = (kind >= 0.02) & (kind < 0.03)
    geoms[rep] = shapely.polygons(
        np.stack(
            [
                np.column_stack([x[rep], y[rep]]),
                np.column_stack([x[rep] + d[rep], y[rep]]),
                np.column_stack([x[rep] + d[rep], y[rep]]),
                np.column_stack([x[rep] + d[rep], y[rep] + d[rep]]),
                np.column_stack([x[rep], y[rep] + d[rep]]),
                np.column_stack([x[rep], y[rep]]),
            ],
            axis=1,
        )
    )
    return gpd.GeoDataFrame(
        {
            "survey_id": [f"BENCH-{i:06d}" for i in range(n)],
            "date": rng.choice(["2023-05-01", "2024-01-15", "2024-09-30"], n),
            "team": "Team A",
            "operator": "Synthetic Demining",
            "status": rng.choice(["cleared", "reduced", "cancelled"], n),
            "method": rng.choice(["manual", "mechanical", "NTS"], n),
            "devices_found": rng.integers(0, 5, n).astype(str),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def naive(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Per-row baseline: the geometry checks and repairs, one Python call per feature."""
    aoi = UKRAINE_AOI

    def check(g: shapely.Geometry) -> shapely.Geometry:
        minx, miny, maxx, maxy = g.bounds
        if not (
            aoi.minlon <= minx <= maxx <= aoi.maxlon and aoi.minlat <= miny <= maxy <= aoi.maxlat
        ):
            return None
        if not g.is_valid:
            g = shapely.make_valid(g)
        if g.geom_type == "Polygon":
            g = orient(g, 1.0)
        return g

    return gdf.geometry.apply(check)


def main(n: int = 100_000) -> None:
    gdf = synthetic_cleared(n)
    t0 = time.perf_counter()
    result = validate_layer(gdf, "cleared", file="bench.geojson")
    t_vec = time.perf_counter() - t0
    schema = get_schema("cleared")
    out = Collector(Report("bench", "cleared"), schema, [f"feature {i}" for i in range(n)])
    t0 = time.perf_counter()
    check_geometries(np.asarray(gdf.geometry.array), schema, UKRAINE_AOI, out)
    t_geom = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive(gdf)
    t_loop = time.perf_counter() - t0
    report = result.report
    print(f"features: {n:,}")
    print(
        f"validate_layer (fields, dates, ids, geometry, overlaps): {t_vec:.2f} s  "
        f"(errors {len(report.errors)}, repairs {len(report.repairs)}, "
        f"warnings {len(report.warnings)})"
    )
    print(f"  of which geometry checks and repairs (vectorised): {t_geom:.2f} s")
    print(f"per-row GeoSeries.apply baseline (geometry only): {t_loop:.2f} s")
    print(f"ratio baseline / vectorised geometry: {t_loop / t_geom:.1f}x")
    print(f"ratio baseline / whole validate_layer: {t_loop / t_vec:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
