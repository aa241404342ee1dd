"""Strike footprints: each strike record becomes a polygon with an expected-items range.

Rules
-----
* ``munition_type`` is matched to the munition catalogue (:mod:`minemap.risk.catalogue`).
  Unmatched text gets the ``default_cluster`` entry when the record is flagged as a cluster
  munition, else ``default``; ``matched`` is False on those rows so they can be reported
  (``footprints[~footprints.matched]``) — no row is dropped.
* Whether the strike was a cluster munition comes from the record's ``cluster_munition`` flag;
  where that is missing, from the catalogue entry (``cluster`` column).
* A **point** becomes a circle of the munition's ``footprint_radius_m``, drawn in an equal-area
  metric CRS (:func:`minemap.risk._spatial.equal_area_crs_for`; EPSG:3035 in Europe), never in
  degrees, as a 32-gon whose area is within 0.7 % of πr² (its vertices are brought back to
  lon/lat by the local linearisation of the projection at the centre, accurate to millimetres:
  :func:`minemap.risk._spatial.circles_to_storage`). A **polygon** (a mapped footprint) is
  used as is (``footprint_radius_m`` NA).
* ``submunitions`` is the record's own count where given, else the catalogue's for a cluster
  munition, else 0.
* ``expected_items_low/high`` = ``submunitions × dud_rate_low/high``, raised to
  ``uxo_reported`` (items actually seen) when that is larger: a range, never one number.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.geometry import require_storage_crs
from minemap.risk import _spatial
from minemap.risk.catalogue import (
    DEFAULT_CLUSTER_KEY,
    DEFAULT_KEY,
    MunitionCatalogue,
    load_catalogue,
    match_munitions,
)
from minemap.settings import STORAGE_CRS

__all__ = ["strike_footprints"]

FOOTPRINT_COLUMNS = (
    "munition_key",
    "matched",
    "cluster",
    "footprint_radius_m",
    "submunitions",
    "dud_rate_low",
    "dud_rate_high",
    "expected_items_low",
    "expected_items_high",
)


def _metric_xy(points: np.ndarray, crs: object) -> np.ndarray:
    """(n, 2) metric coordinates of lon/lat points in ``crs``: one transform of their
    coordinate arrays, no projected point geometries built (the same numbers as
    ``get_coordinates(project(points))``). Points must not be missing or empty."""
    lonlat = shapely.get_coordinates(points)
    transformer = _spatial._transformer(STORAGE_CRS, _spatial._crs_key(crs))
    return transformer.transform_xy(lonlat, n_threads=_spatial.N_THREADS)


def _column(frame: pd.DataFrame, name: str, dtype: str, default: object = pd.NA) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(dtype)
    return pd.Series(default, index=frame.index, dtype=dtype)


def strike_footprints(
    strikes: gpd.GeoDataFrame, *, catalogue: MunitionCatalogue | None = None
) -> gpd.GeoDataFrame:
    """Footprint polygon and expected unexploded items of each strike.

    Parameters
    ----------
    strikes : GeoDataFrame
        Canonical ``strikes`` layer (EPSG:4326): points or polygons with ``munition_type``,
        ``cluster_munition``, optional ``submunitions``, ``uxo_reported``, ``strike_id``,
        ``date``.
    catalogue : MunitionCatalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    GeoDataFrame
        Aligned to ``strikes.index``, EPSG:4326, geometry = footprint, with the strike's
        ``strike_id``, ``date`` and ``munition_type`` (when present) and the columns
        ``munition_key``, ``matched``, ``cluster``, ``footprint_radius_m``, ``submunitions``,
        ``dud_rate_low``, ``dud_rate_high``, ``expected_items_low``, ``expected_items_high``.
        Missing geometries stay missing (None), empty ones empty (radius NA).

    Raises
    ------
    CRSError
        ``strikes`` is not in EPSG:4326.
    """
    require_storage_crs(strikes, what="strikes layer")
    cat = catalogue or load_catalogue()
    index = strikes.index
    texts = _column(strikes, "munition_type", "object", None)
    matches = match_munitions(texts, catalogue=cat)
    matched = matches["matched"].to_numpy(dtype=bool)

    flag = _column(strikes, "cluster_munition", "boolean")
    # unmatched: cluster flag decides between the two defaults
    unmatched_key = np.where(
        flag.fillna(False).to_numpy(dtype=bool), DEFAULT_CLUSTER_KEY, DEFAULT_KEY
    )
    keys = np.where(matched, matches["munition_key"].to_numpy(dtype=object), unmatched_key)
    ukeys, inverse = np.unique(keys.astype(str), return_inverse=True)
    uentries = [cat[k] for k in ukeys]

    def attr(name: str) -> np.ndarray:
        return np.array([getattr(e, name) for e in uentries], dtype="float64")[inverse]

    default_cluster = attr("cluster").astype(bool)
    is_cluster = flag.fillna(pd.Series(default_cluster, index=index)).to_numpy(dtype=bool)

    radius = attr("footprint_radius_m")
    cat_sub = attr("submunitions")
    dud_low = attr("dud_rate_low")
    dud_high = attr("dud_rate_high")
    own_sub = _column(strikes, "submunitions", "Float64").to_numpy(dtype="float64", na_value=np.nan)
    sub = np.where(np.isnan(own_sub), np.where(is_cluster, cat_sub, 0.0), own_sub)
    uxo = _column(strikes, "uxo_reported", "Float64").to_numpy(dtype="float64", na_value=np.nan)
    uxo = np.nan_to_num(uxo, nan=0.0)
    low = np.maximum(sub * dud_low, uxo)
    high = np.maximum(sub * dud_high, uxo)

    geoms = np.asarray(strikes.geometry.array, dtype=object)
    kinds = shapely.get_type_id(geoms)  # -1 missing, 0 point, 3 polygon, 6 multipolygon
    is_point = (kinds == 0) & ~shapely.is_empty(geoms)  # an empty point stays empty
    out_geoms = geoms.copy()
    radius_out = np.where(is_point, radius, np.nan)
    if is_point.any():
        crs = _spatial.equal_area_crs_for(shapely.total_bounds(geoms[is_point]))
        xy = _metric_xy(geoms[is_point], crs)
        out_geoms[is_point] = _spatial.circles_to_storage(xy[:, 0], xy[:, 1], radius[is_point], crs)
    other = (kinds >= 0) & ~is_point & ~np.isin(kinds, (3, 6))
    if other.any():  # lines or collections: not a strike footprint shape; keep polygonal part
        out_geoms[other] = shapely.buffer(geoms[other], 0.0)

    data: dict[str, object] = {}
    for name in ("strike_id", "date", "munition_type"):
        if name in strikes.columns:
            data[name] = strikes[name]
    data.update(
        {
            "munition_key": pd.Series(keys, index=index, dtype="object"),
            "matched": pd.Series(matched, index=index, dtype=bool),
            "cluster": pd.Series(is_cluster, index=index, dtype=bool),
            "footprint_radius_m": pd.Series(radius_out, index=index),
            "submunitions": pd.Series(sub, index=index),
            "dud_rate_low": pd.Series(dud_low, index=index),
            "dud_rate_high": pd.Series(dud_high, index=index),
            "expected_items_low": pd.Series(low, index=index),
            "expected_items_high": pd.Series(high, index=index),
        }
    )
    return gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries(out_geoms, index=index, crs=STORAGE_CRS), crs=STORAGE_CRS
    )
