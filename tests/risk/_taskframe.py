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


def _gdf(records: list[dict], geoms: list) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(records)
    # canonical dtypes, as validate_layer / store.read_layer give them
    for col in frame.columns:
        if col == "date":
            frame[col] = pd.to_datetime(frame[col])
        elif col in ("submunitions", "uxo_reported", "killed", "injured", "devices_found"):
            frame[col] = frame[col].astype("Int64")
        elif col in ("area_m2", "value_per_ha"):
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        elif col in ("cluster_munition", "civilian"):
            frame[col] = frame[col].astype("boolean")
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def synthetic_layers(lon: float = 36.5, lat: float = 49.5) -> dict[str, gpd.GeoDataFrame]:
    """Canonical layers (as ``store.read_layer`` returns them) for a small area.

    A CHA and an SHA polygon (2024), a later SHA (2025-06-01) for look-ahead tests, three
    cluster strikes, two casualty incidents (one inside the CHA, one inside cleared land),
    one cleared polygon over part of the SHA, and two farmland parcels.
    """
    d = 0.01  # ~1.1 km north-south, ~0.72 km east-west
    cha = shapely.box(lon, lat, lon + d, lat + d)
    sha = shapely.box(lon + 2 * d, lat, lon + 4 * d, lat + 2 * d)
    late = shapely.box(lon + 6 * d, lat, lon + 7 * d, lat + d)
    hazards = _gdf(
        [
            {
                "hazard_id": "H1",
                "date": "2024-03-01",
                "hazard_type": "CHA",
                "contamination": "AP",
                "status": "active",
                "batch_id": "b-haz",
            },
            {
                "hazard_id": "H2",
                "date": "2024-05-01",
                "hazard_type": "SHA",
                "contamination": "unknown",
                "status": "active",
                "batch_id": "b-haz",
            },
            {
                "hazard_id": "H3",
                "date": "2025-06-01",
                "hazard_type": "SHA",
                "contamination": "unknown",
                "status": "active",
                "batch_id": "b-haz2",
            },
        ],
        [cha, sha, late],
    )
    strikes = _gdf(
        [
            {
                "strike_id": f"S{i}",
                "date": "2024-04-10",
                "munition_type": "9M55K Smerch",
                "cluster_munition": True,
                "submunitions": pd.NA,
                "uxo_reported": pd.NA,
                "status": pd.NA,
                "source": "test",
                "batch_id": "b-str",
            }
            for i in range(3)
        ],
        [shapely.Point(lon + 0.1, lat + 0.05 + 0.01 * i) for i in range(3)],
    )
    casualties = _gdf(
        [
            {
                "incident_id": "C1",
                "date": "2024-06-01",
                "killed": 1,
                "injured": 2,
                "civilian": True,
                "munition_type": "PMN-2",
                "batch_id": "b-cas",
            },
            {
                "incident_id": "C2",
                "date": "2024-06-02",
                "killed": 0,
                "injured": 1,
                "civilian": True,
                "munition_type": "unknown",
                "batch_id": "b-cas",
            },
        ],
        [shapely.Point(lon + d / 2, lat + d / 2), shapely.Point(lon + 3.5 * d, lat + 1.5 * d)],
    )
    cleared = _gdf(
        [
            {
                "survey_id": "R1",
                "date": "2024-05-20",
                "team": "t1",
                "operator": "op",
                "hazard_type": "SHA",
                "status": "completed",
                "method": "cleared",
                "area_m2": pd.NA,
                "devices_found": 0,
                "batch_id": "b-clr",
            }
        ],
        [shapely.box(lon + 3 * d, lat + d, lon + 4.5 * d, lat + 2.5 * d)],
    )
    farmland = _gdf(
        [
            {
                "parcel_id": "P1",
                "land_use": "arable",
                "crop": "wheat",
                "value_per_ha": pd.NA,
                "batch_id": "b-farm",
            },
            {
                "parcel_id": "P2",
                "land_use": "arable",
                "crop": None,
                "value_per_ha": 50_000.0,
                "batch_id": "b-farm",
            },
        ],
        [
            shapely.box(lon - d, lat - d, lon + d / 2, lat + d / 2),
            shapely.box(lon + 2 * d, lat, lon + 3 * d, lat + d),
        ],
    )
    return {
        "hazards": hazards,
        "strikes": strikes,
        "casualties": casualties,
        "cleared": cleared,
        "farmland": farmland,
    }
