"""End-to-end ingestion of a 100,000-feature GeoJSON: read → validate → store.

Baseline, in the same run: the naive path a script would take — ``geopandas.read_file``
then ``to_file`` into a GeoPackage layer — which validates nothing and is not atomic.

Run: ``python benchmarks/bench_ingest.py [--features N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._measure import measure, ratio_line


def make_geojson(path: Path, n: int, *, seed: int = 42) -> None:
    """``n`` small released-land polygons scattered over Ukraine (fixed seed)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(23.0, 39.5, n)
    lat = rng.uniform(45.5, 51.5, n)
    dx = rng.uniform(0.001, 0.01, n)
    dy = rng.uniform(0.001, 0.01, n)
    statuses = np.array(["cleared", "reduced", "cancelled"])
    methods = np.array(["manual", "mechanical", "technical survey"])
    features = []
    for i in range(n):
        x0, y0, x1, y1 = lon[i], lat[i], lon[i] + dx[i], lat[i] + dy[i]
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        ring = [[round(a, 6), round(b, 6)] for a, b in ring]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "survey_id": f"S-{i:07d}",
                    "date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "team": f"Team {i % 40}",
                    "operator": "Benchmark Demining",
                    "status": str(statuses[i % 3]),
                    "method": str(methods[i % 3]),
                    "devices_found": int(i % 7 == 0),
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=int, default=100_000)
    args = parser.parse_args(argv)

    import geopandas as gpd

    from minemap.ingest import ingest_file

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "released.geojson"
        make_geojson(src, args.features)
        size_mb = src.stat().st_size / 1e6
        print(f"{args.features:,} polygons, {size_mb:.1f} MB GeoJSON")

        def ours() -> object:
            result = ingest_file(src, "cleared", store=Path(tmp) / "store.gpkg", user="bench")
            assert result.status == "accepted", result.report.errors[:3]
            return result

        def naive() -> object:
            frame = gpd.read_file(src)
            frame.to_file(Path(tmp) / "naive.gpkg", layer="cleared", driver="GPKG")
            return frame

        fast = measure("minemap ingest (read+validate+store)", ours)
        slow = measure("naive read_file + to_file", naive)
        print(fast.line())
        print(slow.line())
        print(ratio_line(fast, slow))
        print(
            "note: the baseline validates nothing, repairs nothing and is not atomic; "
            "minemap does all three."
        )


if __name__ == "__main__":
    main()
