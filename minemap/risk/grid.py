"""Summary of tasks (and optional points) on H3 hexagons for national and regional views.

Each task is counted in the H3 cell of its representative point (a point guaranteed to
lie inside the polygon), so every task, and all of its area, is in exactly one cell: the
cells' summed ``hazard_area_m2`` equals the total task area. Tasks are small next to
a resolution-6 cell (~36 km²) — parcels and ~2 km hazard pieces — so the placement error
this makes is at most one task's width. Uses the h3 ≥ 4 API.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from minemap.geometry import require_storage_crs

__all__ = ["cell_polygon", "h3_summary", "point_cells"]

_SUMS = (
    ("hazard_area_m2", "area_m2"),
    ("farmland_blocked_m2", "farmland_area_m2"),
    ("farmland_impact", "farmland_impact"),
    ("killed", "killed"),
    ("injured", "injured"),
    ("casualty_incidents", "n_casualty_incidents"),
    ("expected_items_low", "expected_items_low"),
    ("expected_items_high", "expected_items_high"),
)


def point_cells(geoms: gpd.GeoSeries, *, resolution: int = 6) -> pd.Series:
    """H3 cell of each geometry's representative point (None for empty/missing geometry).

    Returns
    -------
    Series named ``h3_cell`` aligned to ``geoms``.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be within 0..15, got {resolution}")
    valid = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    pts = shapely.point_on_surface(geoms.array[valid])
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    cells = np.full(len(geoms), None, dtype=object)
    cells[valid] = [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)]
    return pd.Series(cells, index=geoms.index, name="h3_cell", dtype=object)


def cell_polygon(cell: str) -> shapely.Polygon:
    """The hexagon of an H3 cell as a lon/lat polygon."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def h3_summary(
    tasks: gpd.GeoDataFrame,
    *,
    resolution: int = 6,
    points: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Aggregate tasks (and optionally points) to H3 cells.

    Parameters
    ----------
    tasks : GeoDataFrame
        Task frame (EPSG:4326); uses ``area_m2``, ``farmland_area_m2``, ``farmland_impact``,
        ``killed``, ``injured``, ``n_casualty_incidents``, ``expected_items_low/high``,
        ``priority_score`` and ``priority_rank`` where present.
    resolution : int
        H3 resolution (6 ≈ 36 km² cells; 4 ≈ 1,770 km² for a national view).
    points : GeoDataFrame or GeoSeries, optional
        Points to count per cell as ``n_points`` (e.g. strikes or casualty reports);
        cells holding only points are included.

    Returns
    -------
    GeoDataFrame (EPSG:4326), one row per cell sorted by ``h3_cell``: ``n_tasks``,
    ``hazard_area_m2``, ``farmland_blocked_m2``, ``farmland_impact``, ``killed``,
    ``injured``, ``casualty_incidents``, ``expected_items_low/high``, ``top_score``,
    ``best_rank``, ``n_points`` and the hexagon as geometry.
    """
    require_storage_crs(tasks, what="task frame")
    cells = point_cells(tasks.geometry, resolution=resolution)
    data = pd.DataFrame({"h3_cell": cells.to_numpy()}, index=tasks.index)
    for out_col, in_col in _SUMS:
        values = tasks[in_col] if in_col in tasks else pd.Series(0.0, index=tasks.index)
        data[out_col] = pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0)
    data["top_score"] = (
        pd.to_numeric(tasks["priority_score"], errors="coerce").astype("float64")
        if "priority_score" in tasks
        else np.nan
    )
    data["best_rank"] = (
        pd.to_numeric(tasks["priority_rank"], errors="coerce").astype("float64")
        if "priority_rank" in tasks
        else np.nan
    )
    data = data[data["h3_cell"].notna()]
    grouped = data.groupby("h3_cell", sort=True)
    out = grouped[[c for c, _ in _SUMS]].sum()
    out.insert(0, "n_tasks", grouped.size().astype("int64"))
    out["top_score"] = grouped["top_score"].max()
    out["best_rank"] = grouped["best_rank"].min().astype("Int64")
    if points is not None:
        pseries = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        require_storage_crs(pseries, what="points")
        pcells = point_cells(pseries, resolution=resolution).dropna()
        counts = pcells.value_counts().rename("n_points")
        out = out.join(counts, how="outer")
        out["n_points"] = out["n_points"].fillna(0).astype("int64")
        for col in [c for c, _ in _SUMS]:
            out[col] = out[col].fillna(0.0)
        out["n_tasks"] = out["n_tasks"].fillna(0).astype("int64")
        out = out.sort_index()
    out.index.name = "h3_cell"
    out = out.reset_index()
    geometry = [cell_polygon(c) for c in out["h3_cell"]]
    return gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326")
