"""Random malformed GeoJSON never produces a traceback: a clear UploadError or a result."""

from __future__ import annotations

import json
import random

from minemap import UploadError
from minemap.io import read_upload

ATOMS = [0, 1.5, -200, "x", None, True, [], {}, [30, 50], [30, 50, 1], [[30, 50], [31, 50]], 1e308]
TYPES = ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
TYPES += ["GeometryCollection", "Foo"]


def _random_value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 4 or r < 0.4:
        return rng.choice(ATOMS)
    if r < 0.8:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    keys = ["type", "coordinates", "geometries", "a"]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def test_random_malformed_geometries(tmp_path):
    rng = random.Random(20240229)
    outcomes = {"read": 0, "refused": 0}
    for i in range(150):
        features = []
        for _ in range(rng.randint(1, 6)):
            geometry = {
                "type": rng.choice(TYPES) if rng.random() < 0.9 else _random_value(rng),
                "coordinates": _random_value(rng),
                "geometries": [{"type": rng.choice(TYPES), "coordinates": _random_value(rng)}],
            }
            if rng.random() < 0.1:
                geometry = _random_value(rng)
            features.append(
                {"type": "Feature", "properties": {"a": _random_value(rng)}, "geometry": geometry}
            )
        path = tmp_path / f"f{i}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        try:
            result = read_upload(path)
        except UploadError:
            outcomes["refused"] += 1
            continue
        outcomes["read"] += 1
        assert len(result.frame) == len(features)
        # every feature without a geometry and with a non-null source geometry is explained
        explained = {e.feature for e in result.report.errors}
        for j, f in enumerate(features):
            if result.frame.geometry.iloc[j] is None and isinstance(f["geometry"], dict):
                coords = f["geometry"].get("coordinates")
                if f["geometry"].get("type") in TYPES[:-2] and coords not in ([], None):
                    assert f"feature {j + 1}" in explained
    assert outcomes["read"] > 50
