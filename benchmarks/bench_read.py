"""Benchmark: read a 100,000-feature GeoJSON upload.

Generates (fixed seed) a FeatureCollection of small hazard polygons inside Ukraine,
then times :func:`minemap.io.read_upload` (strict JSON parse, safety checks, vectorised
geometry building) and, in the same run, a naive ``geopandas.read_file`` (pyogrio/GDAL)
as the baseline. Prints both timings and the ratio.

Run from the repository root::

    python benchmarks/bench_read.py [--features 100000] [--vertices 6]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd

from minemap.io import read_upload


def make_geojson(path: Path, *, features: int, vertices: int, seed: int = 20240229) -> int:
    """Write ``features`` small polygons (``vertices`` corners each) to ``path``."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(30.0, 38.0, features)
    lat = rng.uniform(46.0, 50.0, features)
    radius = rng.uniform(0.0005, 0.005, features)
    angles = np.sort(rng.uniform(0, 2 * np.pi, (features, vertices)), axis=1)
    xs = np.round(lon[:, None] + radius[:, None] * np.cos(angles), 6)
    ys = np.round(lat[:, None] + radius[:, None] * np.sin(angles), 6)
    kinds = np.array(["SHA", "CHA"])[rng.integers(0, 2, features)]
    contamination = np.array(["AP", "AT", "CMR", "UXO", "mixed"])[rng.integers(0, 5, features)]
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        for i in range(features):
            ring = [[float(x), float(y)] for x, y in zip(xs[i], ys[i], strict=True)]
            ring.append(ring[0])
            feature = {
                "type": "Feature",
                "properties": {
                    "hazard_id": f"H-{i:06d}",
                    "date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "hazard_type": str(kinds[i]),
                    "contamination": str(contamination[i]),
                    "evidence": "synthetic benchmark feature",
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            out.write(json.dumps(feature))
            out.write(",\n" if i < features - 1 else "\n")
        out.write("]}\n")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--vertices", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.geojson"
        size = make_geojson(path, features=args.features, vertices=args.vertices)
        print(f"{args.features:,} polygons, {size / 1e6:.1f} MB GeoJSON")

        t0, c0 = time.perf_counter(), time.process_time()
        result = read_upload(path)
        t_minemap, c_minemap = time.perf_counter() - t0, time.process_time() - c0
        assert len(result.frame) == args.features
        assert result.report.ok

        t0, c0 = time.perf_counter(), time.process_time()
        baseline = gpd.read_file(path)
        t_geopandas, c_geopandas = time.perf_counter() - t0, time.process_time() - c0
        assert len(baseline) == args.features

        print("                          wall      CPU")
        print(f"minemap.io.read_upload : {t_minemap:6.2f} s {c_minemap:6.2f} s")
        print(
            f"geopandas.read_file    : {t_geopandas:6.2f} s {c_geopandas:6.2f} s"
            "  (pyogrio/GDAL, no safety checks)"
        )
        print(
            f"ratio minemap/geopandas: {t_minemap / t_geopandas:6.2f}   "
            f"{c_minemap / c_geopandas:6.2f}"
        )


if __name__ == "__main__":
    main()
