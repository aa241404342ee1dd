"""Data-quality checks on canonical layers (pure functions: frames in, frames out, no I/O).

- :func:`released_overlaps` — pairs of released-land polygons that overlap, with the shared
  area: the same ground released twice (double counting in reports) or two surveys that
  disagree about a boundary.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from minemap.geometry import area_m2, polygonal_parts, require_storage_crs

__all__ = ["OVERLAP_COLUMNS", "released_overlaps"]

OVERLAP_COLUMNS = ("a", "b", "overlap_m2")
"""Columns of :func:`released_overlaps`'s result."""


def released_overlaps(
    frame: gpd.GeoDataFrame, *, id_field: str = "survey_id", min_area_m2: float = 1.0
) -> pd.DataFrame:
    """Pairs of polygons in ``frame`` that overlap, with the overlap area in m².

    Polygons that only touch (a shared edge or corner) do not overlap. Features without
    geometry are left out.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Released-land polygons (the ``cleared`` layer), EPSG:4326.
    id_field : str, default ``"survey_id"``
        Column naming each polygon in the result.
    min_area_m2 : float, default 1.0
        Overlaps smaller than this (slivers from digitising) are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (the two ids, ``a`` the earlier row of ``frame``) and
        ``overlap_m2`` (equal-area EPSG:3035), largest overlap first; index 0..n-1.

    Raises
    ------
    minemap.CRSError
        ``frame`` is not in EPSG:4326.
    KeyError
        ``id_field`` is not a column of ``frame``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> frame = gpd.GeoDataFrame(
    ...     {"survey_id": ["A", "B"]},
    ...     geometry=[box(36.50, 49.90, 36.52, 49.92), box(36.51, 49.90, 36.53, 49.92)],
    ...     crs="EPSG:4326",
    ... )
    >>> released_overlaps(frame)[["a", "b"]].values.tolist()
    [['A', 'B']]
    """
    require_storage_crs(frame, what="released land")
    if id_field not in frame.columns:
        raise KeyError(f"released land has no {id_field!r} column to name the polygons by")
    empty = pd.DataFrame(
        {
            "a": pd.Series([], dtype="str"),
            "b": pd.Series([], dtype="str"),
            "overlap_m2": pd.Series([], dtype="float64"),
        }
    )
    placed = frame[frame.geometry.notna() & ~frame.geometry.is_empty].reset_index(drop=True)
    if len(placed) < 2:
        return empty
    ids = placed[id_field].astype(str).to_numpy()
    left, right = placed.sindex.query(placed.geometry, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return empty
    geoms = placed.geometry.to_numpy()
    shared = gpd.GeoSeries(
        [
            polygonal_parts(a.intersection(b))
            for a, b in zip(geoms[left], geoms[right], strict=True)
        ],
        crs=frame.crs,
    )
    areas = area_m2(shared).fillna(0.0).to_numpy()
    out = pd.DataFrame(
        {
            "a": pd.array(ids[left], dtype="str"),
            "b": pd.array(ids[right], dtype="str"),
            "overlap_m2": areas.astype(np.float64),
        }
    )
    # Touching polygons intersect in a line or point: no area, never an overlap.
    out = out[(out["overlap_m2"] > 0.0) & (out["overlap_m2"] >= min_area_m2)]
    return out.sort_values("overlap_m2", ascending=False, kind="mergesort").reset_index(drop=True)
