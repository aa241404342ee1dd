"""People exposed: how many people live within walking distance of each task.

:func:`people_exposed` sums the ``population`` of every settlement (optional
``settlements`` layer) that lies within ``exposure_distance_m`` of a task polygon. A
point settlement counts when the point is within the distance; an outline (polygon)
counts when any part of it is — the shortest distance between the two shapes, 0 when
they touch or overlap. The whole population of a settlement counts: the layer gives one
figure per place, not where in the place people live.

A settlement near several tasks counts for **each** of them: the figure says how many
people live close enough to meet that task's hazard in daily life, not a share of
them. So ``people_exposed`` summed over tasks is not a head count of the area.

Default distance: 2,000 m (:data:`EXPOSURE_DISTANCE_M`). This is an assumption, not an
official figure: about half an hour's walk (≈ 25 minutes at 5 km/h), the range within
which villagers work their fields and gardens, graze animals and collect firewood day to
day — the activities during which farmers, the largest occupational group of victims in
Ukraine, meet explosive ordnance. Change it (``exposure_distance_m``) to local knowledge;
the run record keeps the value used.

Distances are computed in metres: data in a projected CRS with metre units are used as
they are; lon/lat data are projected per task into the UTM zone (WGS84, EPSG:326zz) of
the task's representative point, where the scale error is below 0.1 %. Both frames must
be in the same CRS (:func:`minemap.geometry.assert_same_crs`): a mismatch raises.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from minemap._errors import CRSError
from minemap.geometry import assert_same_crs

__all__ = ["EXPOSURE_DISTANCE_M", "people_exposed"]

EXPOSURE_DISTANCE_M: float = 2_000.0
"""Default exposure distance (metres) between a task and a settlement; see the module."""

_NAME = "people_exposed"


def _population(settlements: gpd.GeoDataFrame) -> np.ndarray:
    """The population column as int64; every missing or negative value named at once."""
    if "population" not in settlements:
        raise ValueError("the settlements frame has no population column")
    pop = pd.to_numeric(settlements["population"], errors="coerce")
    bad = pop.isna() | (pop < 0) | (pop.fillna(0) % 1 != 0)
    if bad.any():
        ids = (
            settlements["settlement_id"].astype(str)
            if "settlement_id" in settlements
            else pd.Series([f"row {i}" for i in range(len(settlements))], index=settlements.index)
        )
        listed = ", ".join(
            f"{i} ({'missing' if pd.isna(v) else v})"
            for i, v in zip(ids[bad], settlements["population"][bad], strict=True)
        )
        raise ValueError(f"settlements with a population that is not a whole number >= 0: {listed}")
    return pop.to_numpy(dtype="float64").astype("int64")


def _pairs_within(
    tasks: np.ndarray, places: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(task position, place position) of every pair within ``distance_m`` (metric CRS)."""
    if not len(tasks) or not len(places):
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    tree = shapely.STRtree(places)
    pairs = tree.query(tasks, predicate="dwithin", distance=distance_m)
    return pairs[0], pairs[1]


def _is_metric(crs: CRS) -> bool:
    if not crs.is_projected:
        return False
    units = {axis.unit_name.lower() for axis in crs.axis_info}
    return units <= {"metre", "meter", "m"}


def people_exposed(
    tasks: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame | None,
    *,
    exposure_distance_m: float = EXPOSURE_DISTANCE_M,
) -> pd.Series:
    """Population living within ``exposure_distance_m`` of each task.

    Parameters
    ----------
    tasks : GeoDataFrame
        Task polygons (any geometry works), in lon/lat or a projected CRS in metres.
    settlements : GeoDataFrame or None
        Canonical ``settlements`` layer: points or polygons with an integer
        ``population`` >= 0, in the same CRS as ``tasks``. None or empty: every task 0.
    exposure_distance_m : float
        Largest distance (metres, inclusive) between a task and a settlement for the
        settlement's people to count (default :data:`EXPOSURE_DISTANCE_M`).

    Returns
    -------
    Series named ``people_exposed`` (int64, no missing values) aligned to ``tasks``.
    A settlement within reach of several tasks counts for each. Empty or missing task
    geometries get 0; settlements without geometry are never within reach.

    Raises
    ------
    CRSError
        The frames are in different CRSs, or in a projected CRS not in metres.
    ValueError
        Negative distance, or populations missing, negative or not whole (all named).

    Examples
    --------
    >>> t = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:3035")
    >>> s = gpd.GeoDataFrame({"population": [5, 7]},
    ...     geometry=[shapely.Point(15, 5), shapely.Point(500, 5)], crs="EPSG:3035")
    >>> people_exposed(t, s, exposure_distance_m=100).tolist()
    [5]
    """
    if not (exposure_distance_m >= 0 and np.isfinite(exposure_distance_m)):
        raise ValueError(f"exposure_distance_m must be a distance >= 0, got {exposure_distance_m}")
    out = np.zeros(len(tasks), dtype="int64")
    if settlements is None or not len(settlements) or not len(tasks):
        return pd.Series(out, index=tasks.index, name=_NAME)
    assert_same_crs(tasks, settlements, names=("tasks", "settlements"))
    pop = _population(settlements)
    tgeom = tasks.geometry
    sgeom = settlements.geometry
    t_ok = (~tgeom.isna() & ~tgeom.is_empty).to_numpy()
    s_ok = (~sgeom.isna() & ~sgeom.is_empty).to_numpy()
    if not t_ok.any() or not s_ok.any():
        return pd.Series(out, index=tasks.index, name=_NAME)
    crs = CRS.from_user_input(tasks.crs)
    s_pos = np.flatnonzero(s_ok)
    if _is_metric(crs):
        t_pos = np.flatnonzero(t_ok)
        ti, si = _pairs_within(
            np.asarray(tgeom.array, dtype=object)[t_pos],
            np.asarray(sgeom.array, dtype=object)[s_pos],
            exposure_distance_m,
        )
        np.add.at(out, t_pos[ti], pop[s_pos[si]])
        return pd.Series(out, index=tasks.index, name=_NAME)
    if crs.is_projected:
        raise CRSError(
            f"people exposed needs distances in metres; {crs.to_string()} is projected in "
            "other units: give lon/lat (EPSG:4326) or a metric CRS"
        )
    # lon/lat: one UTM zone per task (its representative point), settlements projected
    # into each zone; only settlements within a generous lon/lat box are projected
    lon = np.full(len(tasks), np.nan)
    lon[t_ok] = shapely.get_x(tgeom[t_ok].representative_point().array)
    zone = np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60)
    south = np.zeros(len(tasks), dtype=bool)
    south[t_ok] = shapely.get_y(tgeom[t_ok].representative_point().array) < 0
    s_bounds = sgeom[s_ok].bounds.to_numpy()
    zones = {(int(z), bool(s)) for z, s in zip(zone[t_ok], south[t_ok], strict=True)}
    for z, is_south in sorted(zones):
        t_pos = np.flatnonzero(t_ok & (zone == z) & (south == is_south))
        x0, y0, x1, y1 = tgeom.iloc[t_pos].total_bounds
        # metres → degrees, conservatively (1° of latitude ≥ 110.5 km; longitude shrinks
        # with cos(latitude)), plus a 10 % margin
        lat_max = min(max(abs(y0), abs(y1)) + 1.0, 89.0)
        dy = 1.1 * exposure_distance_m / 110_500.0
        dx = dy / np.cos(np.radians(lat_max))
        near = (
            (s_bounds[:, 2] >= x0 - dx)
            & (s_bounds[:, 0] <= x1 + dx)
            & (s_bounds[:, 3] >= y0 - dy)
            & (s_bounds[:, 1] <= y1 + dy)
        )
        if not near.any():
            continue
        zone_crs = f"EPSG:{(32700 if is_south else 32600) + z}"
        local_t = tgeom.iloc[t_pos].to_crs(zone_crs).array
        s_near = s_pos[near]
        local_s = sgeom.iloc[s_near].to_crs(zone_crs).array
        ti, si = _pairs_within(
            np.asarray(local_t, dtype=object),
            np.asarray(local_s, dtype=object),
            exposure_distance_m,
        )
        np.add.at(out, t_pos[ti], pop[s_near[si]])
    return pd.Series(out, index=tasks.index, name=_NAME)
