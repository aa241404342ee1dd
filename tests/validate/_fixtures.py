"""Small valid layers built in code (a few features near Kyiv), to be broken by tests."""

from __future__ import annotations

import geopandas as gpd
import shapely

LON, LAT = 30.52, 50.45
STEP = 0.01  # ~700 m x 1.1 km between features


def square(k: int = 0, *, size: float = 0.002) -> shapely.Polygon:
    """A counter-clockwise square of ``size`` degrees, the k-th along a row near Kyiv."""
    x, y = LON + k * STEP, LAT
    return shapely.Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def point(k: int = 0) -> shapely.Point:
    return shapely.Point(LON + k * STEP, LAT)


def frame(data: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def hazards(n: int = 3) -> gpd.GeoDataFrame:
    return frame(
        {
            "hazard_id": [f"H-{i:04d}" for i in range(n)],
            "date": ["2024-05-0" + str(1 + i % 9) for i in range(n)],
            "hazard_type": ["SHA", "CHA", "SHA"][:n] + ["SHA"] * max(0, n - 3),
            "contamination": ["AP"] * n,
        },
        [square(i) for i in range(n)],
    )


def cleared(n: int = 3) -> gpd.GeoDataFrame:
    return frame(
        {
            "survey_id": [f"C-{i}" for i in range(n)],
            "date": ["2024-06-01"] * n,
            "team": ["Team A"] * n,
            "operator": ["HALO"] * n,
            "status": ["cleared"] * n,
            "method": ["manual"] * n,
        },
        [square(i) for i in range(n)],
    )


def casualties(n: int = 3) -> gpd.GeoDataFrame:
    return frame(
        {
            "incident_id": [f"I-{i}" for i in range(n)],
            "date": ["2023-07-14"] * n,
            "killed": ["0"] * n,
            "injured": ["1"] * n,
            "civilian": ["true"] * n,
        },
        [point(i) for i in range(n)],
    )


def strikes(n: int = 3) -> gpd.GeoDataFrame:
    return frame(
        {
            "strike_id": [f"S-{i}" for i in range(n)],
            "date": ["2022-03-01"] * n,
            "munition_type": ["9M55K"] * n,
            "cluster_munition": [True] * n,
        },
        [point(i) if i % 2 == 0 else square(i) for i in range(n)],
    )


def farmland(n: int = 3) -> gpd.GeoDataFrame:
    return frame(
        {"parcel_id": [f"P-{i}" for i in range(n)], "land_use": ["arable"] * n},
        [square(i) for i in range(n)],
    )


BUILDERS = {
    "hazards": hazards,
    "cleared": cleared,
    "casualties": casualties,
    "strikes": strikes,
    "farmland": farmland,
}
