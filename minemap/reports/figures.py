"""Every figure of the funder report, as pure functions on canonical layer frames.

No I/O, no rendering. Areas are computed in the equal-area CRS (EPSG:3035) from the
**union** of polygons, so overlapping re-surveys never inflate a figure. Land released by
several methods is attributed to the strongest one (cleared > reduced > cancelled), and
each piece of land to the month it was first released, so months and methods both add
up to the union total.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from minemap.geometry import require_storage_crs, to_area_crs
from minemap.reports.privacy import TOTAL

__all__ = [
    "METHODS",
    "casualty_tables",
    "clip_to_area",
    "devices_found",
    "farmland_returned",
    "filter_period",
    "month_range",
    "people_exposed_total",
    "plan_completion",
    "release_partition",
    "released_by_method",
    "released_by_month",
    "remaining_hazard",
    "top_tasks",
]

METHODS: tuple[str, ...] = ("cleared", "reduced", "cancelled")
"""Release methods, strongest first."""

_EMPTY = shapely.Polygon()


def _ts(value: dt.date | str | pd.Timestamp | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).normalize()


def filter_period(
    frame: gpd.GeoDataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> gpd.GeoDataFrame:
    """Rows whose ``date`` is within ``[start, end]`` (both inclusive, either open).

    Rows without a date are outside every bounded period.
    """
    dates = pd.to_datetime(frame["date"])
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= dates >= _ts(start)
    if end is not None:
        mask &= dates <= _ts(end)
    return frame[mask.fillna(False).astype(bool)]


def clip_to_area(frame: gpd.GeoDataFrame, area: BaseGeometry | None) -> gpd.GeoDataFrame:
    """Restrict a layer to an area (EPSG:4326 geometry): polygons are clipped to it,
    points kept if inside. ``area=None`` returns the frame unchanged."""
    if area is None or frame.empty:
        return frame
    require_storage_crs(frame)
    geoms = frame.geometry
    valid = geoms.notna() & ~geoms.is_empty
    inside = valid & geoms.intersects(area)
    out = frame[inside].copy()
    polygonal = out.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if polygonal.any():
        clipped = out.geometry[polygonal].intersection(area)
        out.loc[polygonal, out.geometry.name] = clipped
        keep = ~(out.geometry.is_empty | (polygonal & (to_area_crs(out.geometry).area <= 0)))
        out = out[keep]
    return out


def _union_3035(frame: gpd.GeoDataFrame) -> BaseGeometry:
    if frame.empty:
        return _EMPTY
    geoms = to_area_crs(frame.geometry).array
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return _EMPTY
    return shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)))


def _ha(geom: BaseGeometry) -> float:
    return float(geom.area) / 10_000.0


def month_range(start: pd.Timestamp, end: pd.Timestamp) -> pd.PeriodIndex:
    """Calendar months from ``start`` to ``end`` inclusive."""
    return pd.period_range(start.to_period("M"), end.to_period("M"), freq="M")


def release_partition(cleared: gpd.GeoDataFrame) -> dict[str, BaseGeometry]:
    """Released land split by strongest method (EPSG:3035 geometries, disjoint)."""
    taken = _EMPTY
    parts: dict[str, BaseGeometry] = {}
    for method in METHODS:
        union = _union_3035(cleared[cleared["status"] == method])
        piece = union.difference(taken) if not taken.is_empty else union
        parts[method] = piece
        taken = shapely.union(taken, union) if not union.is_empty else taken
    return parts


def released_by_method(cleared: gpd.GeoDataFrame) -> pd.DataFrame:
    """Land released by method: union area (ha), attributed to the strongest method.

    Returns a frame indexed ``cleared, reduced, cancelled, total`` with columns
    ``area_ha`` (union, no double counting) and ``releases`` (number of records).
    """
    parts = release_partition(cleared)
    rows = {
        m: {"area_ha": _ha(parts[m]), "releases": int((cleared["status"] == m).sum())}
        for m in METHODS
    }
    total = shapely.union_all(list(parts.values()))
    rows[TOTAL] = {"area_ha": _ha(total), "releases": len(cleared)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["releases"] = out["releases"].astype("int64")
    return out


def released_by_month(cleared: gpd.GeoDataFrame, months: pd.PeriodIndex) -> pd.DataFrame:
    """Hectares first released in each month, by (strongest) method.

    Index: ``months``; columns: :data:`METHODS`. Sums equal :func:`released_by_method`.
    """
    parts = release_partition(cleared)
    periods = pd.to_datetime(cleared["date"]).dt.to_period("M")
    before = _EMPTY
    rows = []
    for month in months:
        union = _union_3035(cleared[periods == month])
        new = union.difference(before) if not before.is_empty else union
        rows.append(
            {m: _ha(new.intersection(parts[m])) if not new.is_empty else 0.0 for m in METHODS}
        )
        if not union.is_empty:
            before = shapely.union(before, union)
    return pd.DataFrame(rows, index=months, columns=list(METHODS), dtype="float64")


def farmland_returned(
    cleared: gpd.GeoDataFrame, farmland: gpd.GeoDataFrame, months: pd.PeriodIndex
) -> tuple[dict[str, float], pd.Series]:
    """Farmland inside land released (ha), its annual value (UAH) and the monthly
    cumulative hectares.

    Returns
    -------
    (dict, Series)
        ``{"area_ha", "value_uah", "parcels", "valued_area_ha"}`` and a Series of cumulative
        hectares indexed by ``months``.
    """
    released = _union_3035(cleared)
    summary = {"area_ha": 0.0, "value_uah": 0.0, "parcels": 0, "valued_area_ha": 0.0}
    cumulative = pd.Series(0.0, index=months, name="farmland_cumulative_ha")
    if released.is_empty or farmland.empty:
        return summary, cumulative
    farm = to_area_crs(farmland.geometry)
    farm_union = shapely.union_all(shapely.make_valid(np.asarray(farm.array, dtype=object)))
    returned = farm_union.intersection(released)
    summary["area_ha"] = _ha(returned)
    values = pd.to_numeric(farmland.get("value_per_ha"), errors="coerce")
    for geom, value in zip(farm.array, values if values is not None else [], strict=False):
        part = _ha(shapely.make_valid(geom).intersection(released))
        if part > 0:
            summary["parcels"] += 1
            if pd.notna(value):
                summary["value_uah"] += part * float(value)
                summary["valued_area_ha"] += part
    periods = pd.to_datetime(cleared["date"]).dt.to_period("M")
    acc = 0.0
    for month in months:
        union = _union_3035(cleared[periods <= month])
        acc = _ha(farm_union.intersection(union)) if not union.is_empty else 0.0
        cumulative[month] = acc
    return summary, cumulative


def devices_found(cleared: gpd.GeoDataFrame) -> pd.DataFrame:
    """Explosive items found and destroyed, by type as recorded and in total.

    Index: type labels (``"unknown"`` where not recorded) then ``"total"``; column
    ``devices`` (int).
    """
    if "devices_found" not in cleared.columns or cleared.empty:
        return pd.DataFrame({"devices": [0]}, index=[TOTAL])
    counts = pd.to_numeric(cleared["devices_found"], errors="coerce").fillna(0).astype("int64")
    kinds = cleared.get("munition_type")
    labels = (
        kinds.astype("string").str.strip().replace("", pd.NA).fillna("unknown")
        if kinds is not None
        else pd.Series("unknown", index=cleared.index)
    )
    by = counts.groupby(labels.to_numpy()).sum()
    by = by[by > 0].sort_values(ascending=False)
    out = pd.DataFrame({"devices": by.astype("int64")})
    out.loc[TOTAL] = int(counts.sum())
    return out


def remaining_hazard(
    hazards: gpd.GeoDataFrame, cleared: gpd.GeoDataFrame, *, at: pd.Timestamp
) -> pd.Series:
    """Hazardous area still unreleased at date ``at`` (ha), by hazard type and total.

    Open hazards (status not ``closed``) recorded on or before ``at``, minus every
    release dated on or before ``at``; a CHA overlapping an SHA counts as CHA.
    """
    h = hazards[pd.to_datetime(hazards["date"]) <= at]
    if "status" in h.columns:
        h = h[h["status"].astype("string").fillna("") != "closed"]
    released = _union_3035(cleared[pd.to_datetime(cleared["date"]) <= at])
    cha = _union_3035(h[h["hazard_type"] == "CHA"])
    sha = _union_3035(h[h["hazard_type"] == "SHA"])
    if not released.is_empty:
        cha = cha.difference(released)
        sha = sha.difference(released)
    sha = sha.difference(cha) if not cha.is_empty else sha
    return pd.Series({"CHA": _ha(cha), "SHA": _ha(sha), TOTAL: _ha(cha) + _ha(sha)}, name="area_ha")


def _count_table(cas: pd.DataFrame, by: pd.Series, rows: list) -> pd.DataFrame:
    killed = pd.to_numeric(cas["killed"], errors="coerce").fillna(0).astype("int64")
    injured = pd.to_numeric(cas["injured"], errors="coerce").fillna(0).astype("int64")
    frame = pd.DataFrame({"killed": killed, "injured": injured})
    grouped = frame.groupby(by.to_numpy()).sum() if len(frame) else frame
    table = grouped.reindex(rows, fill_value=0).astype("int64")
    table[TOTAL] = table["killed"] + table["injured"]
    table.loc[TOTAL] = table.sum(axis=0)
    return table.astype("int64")


def casualty_tables(casualties: pd.DataFrame, months: pd.PeriodIndex) -> dict[str, pd.DataFrame]:
    """Casualty counts (killed, injured, total) by month, activity, device, civilian
    status and oblast — the raw, *unsuppressed* tables (pass them through
    :func:`minemap.reports.privacy.protect_counts` before publishing anything).

    ``casualties`` must be the funder view (activity/device already categorised).
    """
    cas = casualties
    month = pd.to_datetime(cas["date"]).dt.to_period("M")
    tables = {"by_month": _count_table(cas, month, list(months))}

    def cats(column: str, order: list[str]) -> None:
        values = (
            cas[column].astype("string").fillna("unknown")
            if column in cas.columns
            else pd.Series("unknown", index=cas.index, dtype="string")
        )
        present = [c for c in order if (values == c).any()]
        extra = sorted(set(values.dropna()) - set(order))
        tables[f"by_{column}"] = _count_table(cas, values, present + extra or ["unknown"])

    cats(
        "activity",
        ["agriculture", "travel", "household", "demining", "military", "other", "unknown"],
    )
    cats("munition_type", ["ap_mine", "at_mine", "cluster", "ied", "uxo", "other", "unknown"])
    civ = cas["civilian"] if "civilian" in cas.columns else pd.Series(pd.NA, index=cas.index)
    status = civ.astype("boolean").map({True: "civilian", False: "non_civilian"})
    status = status.astype(object).where(status.notna(), "non_civilian")
    tables["by_civilian"] = _count_table(
        cas, pd.Series(status, index=cas.index), ["civilian", "non_civilian"]
    )
    if "oblast" in cas.columns:
        oblast = cas["oblast"].astype("string").str.strip().replace("", pd.NA).fillna("unknown")
        order = sorted(set(oblast) - {"unknown"}) + (
            ["unknown"] if (oblast == "unknown").any() else []
        )
        tables["by_oblast"] = _count_table(cas, oblast, order or ["unknown"])
    return tables


def top_tasks(tasks: pd.DataFrame | None, *, n: int = 10) -> pd.DataFrame:
    """The ``n`` highest-priority tasks with anonymised ids and no geometry.

    Returns columns ``task`` (``T-01`` …, in rank order), ``rank``, ``area_ha``,
    ``priority_score``. Real task ids and locations are dropped.
    """
    columns = ["task", "rank", "area_ha", "priority_score"]
    if tasks is None or len(tasks) == 0:
        return pd.DataFrame(columns=columns)
    ranked = pd.DataFrame(
        {
            "rank": pd.to_numeric(tasks["priority_rank"], errors="coerce"),
            "area_ha": pd.to_numeric(tasks["area_m2"], errors="coerce") / 10_000.0,
            "priority_score": pd.to_numeric(tasks["priority_score"], errors="coerce"),
        }
    ).sort_values("rank", kind="stable")
    head = ranked.head(n).reset_index(drop=True)
    width = max(2, len(str(len(head))))
    head.insert(0, "task", [f"T-{i + 1:0{width}d}" for i in range(len(head))])
    head["rank"] = head["rank"].astype("int64")
    return head[columns]


def plan_completion(
    plan: gpd.GeoDataFrame,
    released: gpd.GeoDataFrame,
    *,
    threshold: float = 0.9,
) -> pd.DataFrame:
    """How much of each planned task was released, and whether it counts as completed.

    Parameters
    ----------
    plan : GeoDataFrame
        The planned tasks (EPSG:4326) with ``priority_rank`` and, when the ranking had a
        settlements layer, ``people_exposed``; any other column is ignored.
    released : GeoDataFrame
        Released polygons dated within the period (any method), EPSG:4326.
    threshold : float
        A task is completed when the union of ``released`` covers at least this share of
        its area (EPSG:3035).

    Returns
    -------
    DataFrame
        In rank order: ``task`` (``T-01`` …), ``rank``, ``area_ha``, ``released_ha``,
        ``released_share`` and ``completed``, then ``people_exposed`` (int) when ``plan``
        has it. Real ids and geometries are dropped.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the completion threshold must be in (0, 1]; got {threshold!r}")
    columns = ["task", "rank", "area_ha", "released_ha", "released_share", "completed"]
    if plan is None or len(plan) == 0:
        return pd.DataFrame(columns=columns)
    require_storage_crs(plan, what="planned tasks")
    ordered = plan.assign(_rank=pd.to_numeric(plan["priority_rank"], errors="coerce"))
    ordered = ordered.sort_values("_rank", kind="stable")
    geoms = np.asarray(to_area_crs(ordered.geometry).array, dtype=object)
    geoms = shapely.make_valid(geoms)
    done = _union_3035(released) if released is not None and len(released) else _EMPTY
    areas = shapely.area(geoms)
    covered = shapely.area(shapely.intersection(geoms, done)) if not done.is_empty else 0.0 * areas
    share = np.divide(covered, areas, out=np.zeros_like(areas), where=areas > 0)
    width = max(2, len(str(len(ordered))))
    out = pd.DataFrame(
        {
            "task": [f"T-{i + 1:0{width}d}" for i in range(len(ordered))],
            "rank": ordered["_rank"].astype("int64").to_numpy(),
            "area_ha": areas / 10_000.0,
            "released_ha": covered / 10_000.0,
            "released_share": share,
            "completed": share >= threshold - 1e-9,
        }
    )[columns]
    if "people_exposed" in ordered.columns:
        exposed = pd.to_numeric(ordered["people_exposed"], errors="coerce").fillna(0)
        out["people_exposed"] = exposed.astype("int64").to_numpy()
    return out


def people_exposed_total(
    tasks: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
    *,
    exposure_distance_m: float,
) -> int:
    """People living within ``exposure_distance_m`` of **any** of ``tasks``, each once.

    The per-task ``people_exposed`` of the risk core counts a settlement for every task
    within reach, so summing it over tasks counts people several times. Here each
    settlement counts once when at least one task is within reach. The distance test is
    the risk core's own (:func:`minemap.risk.exposure.people_exposed`, run with the roles
    swapped: how many tasks are within reach of each settlement), so the rule (inclusive
    distance, shortest distance between the shapes, metres) is the same by construction.

    Parameters
    ----------
    tasks : GeoDataFrame
        Task polygons, same CRS as ``settlements``.
    settlements : GeoDataFrame
        The settlements layer with ``population``.
    exposure_distance_m : float
        As used for the tasks' ``people_exposed``.

    Returns
    -------
    int
        0 when either frame is empty.
    """
    from minemap.risk.exposure import people_exposed

    if tasks is None or settlements is None or not len(tasks) or not len(settlements):
        return 0
    reach = gpd.GeoDataFrame(
        {"population": np.ones(len(tasks), dtype="int64")},
        geometry=tasks.geometry.to_numpy(),
        crs=tasks.crs,
    )
    places = settlements[["population", settlements.geometry.name]].reset_index(drop=True)
    tasks_near = people_exposed(places, reach, exposure_distance_m=exposure_distance_m)
    population = pd.to_numeric(places["population"]).to_numpy(dtype="int64")
    return int(population[tasks_near.to_numpy() > 0].sum())
