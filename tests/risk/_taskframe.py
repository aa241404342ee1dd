"""Build task frames in code, with the columns of the risk engine's task contract."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely

DEFAULTS = {
    "component_id": 0,
    "area_m2": 10_000.0,
    "evidence_class": "SHA",
    "n_cha": 0,
    "n_sha": 0,
    "n_strikes": 0,
    "n_cluster_strikes": 0,
    "expected_items_low": 0.0,
    "expected_items_high": 0.0,
    "n_casualty_incidents": 0,
    "killed": 0,
    "injured": 0,
    "casualty_recency": 0.0,
    "latest_evidence_date": pd.Timestamp("2024-05-01"),
    "parcel_id": None,
    "land_use": None,
    "crop": None,
    "value_per_ha": float("nan"),
    "farmland_area_m2": 0.0,
}


def square(lon: float, lat: float, area_m2: float) -> shapely.Polygon:
    """A lon/lat square of about ``area_m2`` centred on (lon, lat)."""
    side = math.sqrt(area_m2)
    dlat = side / 111_320.0
    dlon = side / (111_320.0 * math.cos(math.radians(lat)))
    return shapely.box(lon - dlon / 2, lat - dlat / 2, lon + dlon / 2, lat + dlat / 2)


def task_frame(rows: list[dict], *, lon: float = 35.0, lat: float = 49.0) -> gpd.GeoDataFrame:
    """One task per dict; missing columns take DEFAULTS; tasks are laid out 0.05° apart.

    ``evidence_class`` CHA/SHA sets ``n_cha``/``n_sha`` to 1 unless given.
    """
    records, geoms = [], []
    for i, row in enumerate(rows):
        rec = {"task_id": f"T{i:04d}", **DEFAULTS, **row}
        cls = rec["evidence_class"]
        if cls == "CHA" and "n_cha" not in row:
            rec["n_cha"] = 1
        if cls == "SHA" and "n_sha" not in row:
            rec["n_sha"] = 1
        records.append(rec)
        x = row.get("lon", lon + 0.05 * (i % 20))
        y = row.get("lat", lat + 0.05 * (i // 20))
        geoms.append(square(x, y, rec["area_m2"]))
    frame = pd.DataFrame(records).drop(columns=["lon", "lat"], errors="ignore")
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
