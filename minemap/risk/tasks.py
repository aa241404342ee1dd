"""Tasks: the hazard surface cut into polygons a team can be sent to, with their evidence.

Cutting rule
------------
All cutting happens in the equal-area metric CRS (:func:`minemap.risk._spatial.equal_area_crs_for`:
EPSG:3035 in Europe, a local Lambert azimuthal equal-area CRS elsewhere).

1. **Farmland first.** Within each component, the part over each farmland parcel is its own
   task (``kind = "parcel"``, one parcel per task, carrying ``parcel_id``, ``land_use``, ``crop``,
   ``value_per_ha`` and ``farmland_area_m2``). Candidate parcels come from an STRtree query;
   intersections are computed only for candidate pairs. Pieces smaller than
   ``min_piece_area_m2`` (slivers along shared edges) stay in the remainder. Where parcels
   overlap each other (dirty cadastre), the overlap goes to the parcel whose ``parcel_id`` sorts
   first, so tasks never overlap.
2. **The rest in bounded pieces.** The remainder of each component (off farmland) is cut by a
   grid aligned to the remainder's own bounding box: ``nx = ceil(width / max_task_size_m)``
   columns and ``ny = ceil(height / max_task_size_m)`` rows of equal size, so every cell is at
   most ``max_task_size_m`` on a side and a remainder that fits in one cell is never cut.
   The cut is done by recursive halving (``intersection`` with half-boxes), which costs
   O(vertices × log cells) instead of clipping the whole component once per cell. Every
   non-empty cell is one task (``kind = "grid"``; it may be a MultiPolygon of several
   fragments inside the cell). Fragments below ``min_piece_area_m2`` are dropped (their total is
   in ``.attrs["dropped_sliver_area_m2"]``).

Task ids (stable across runs for the same inputs): ``"<component_id>/p/<parcel_id>"`` for a
parcel task, ``"<component_id>/g/<column>_<row>"`` for a grid cell. Rows are sorted by
``task_id``.

Evidence per task
-----------------
* ``n_cha`` / ``n_sha``: hazard polygons overlapping the task with positive area;
  ``evidence_class``: ``"CHA"`` if any CHA, else ``"SHA"``, else ``"strike"`` (a strike
  footprint overlaps), else ``"casualty"``.
* ``n_strikes`` / ``n_cluster_strikes``: strikes whose footprint overlaps the task.
* ``expected_items_low/high``: each footprint's expected items apportioned by area share,
  ``items × area(footprint ∩ task) / area(footprint)``. The share of a footprint that lies in
  released land is taken as removed, so the task sums never exceed the footprints' totals.
* Casualties are **attributed** to exactly one task (never double counted): the task containing
  the incident point; if the point is not in a task (e.g. it lies in released land) the task
  with the largest overlap with the incident's buffer; else none (see
  :func:`attribute_points`). ``n_casualty_incidents``, ``killed``, ``injured`` and
  ``casualty_recency`` = Σ (killed + injured) × 0.5^(age_days / half_life_days) sum over the
  attributed incidents, with the age counted to ``as_of`` (default: the latest date in the
  inputs, so a rerun gives the same numbers; incidents after ``as_of`` count with age 0).
* ``latest_evidence_date``: latest date of the overlapping hazards and footprints and the
  attributed casualties.
* ``area_m2`` is the planar area in the equal-area CRS (EPSG:3035 in Europe), within 0.5 % of
  the geodesic area (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from minemap.geometry import require_storage_crs
from minemap.risk import _spatial
from minemap.risk.catalogue import MunitionCatalogue
from minemap.risk.surface import _difference, _union, _valid, casualty_buffers
from minemap.settings import STORAGE_CRS

__all__ = ["attribute_points", "make_tasks"]

EVIDENCE_ORDER = ("CHA", "SHA", "strike", "casualty")

_FARM_COLUMNS = ("land_use", "crop", "value_per_ha")


def _dates(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None or "date" not in frame.columns:
        n = 0 if frame is None else len(frame)
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[ns]")


def _halve(
    geom: shapely.Geometry,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    i0: int,
    j0: int,
    ni: int,
    nj: int,
) -> list[tuple[int, int, shapely.Geometry]]:
    """Cut ``geom`` into the grid cells [i0, i0+ni) × [j0, j0+nj) by recursive halving."""
    if geom.is_empty:
        return []
    if ni == 1 and nj == 1:
        return [(i0, j0, geom)]
    minx, miny, maxx, maxy = geom.bounds
    if ni >= nj:
        h = ni // 2
        xm = x0 + (i0 + h) * dx
        low, high = _split(geom, xm, minx, maxx, lambda a, b: (a, miny - 1.0, b, maxy + 1.0))
        return _halve(low, x0, y0, dx, dy, i0, j0, h, nj) + _halve(
            high, x0, y0, dx, dy, i0 + h, j0, ni - h, nj
        )
    h = nj // 2
    ym = y0 + (j0 + h) * dy
    low, high = _split(geom, ym, miny, maxy, lambda a, b: (minx - 1.0, a, maxx + 1.0, b))
    return _halve(low, x0, y0, dx, dy, i0, j0, ni, h) + _halve(
        high, x0, y0, dx, dy, i0, j0 + h, ni, nj - h
    )


def _split(geom, cut, lo, hi, box_of) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Split ``geom`` at coordinate ``cut`` along one axis (``lo``/``hi``: its extent)."""
    if hi <= cut:
        return geom, shapely.Polygon()
    if lo >= cut:
        return shapely.Polygon(), geom
    return (
        _clip(geom, shapely.box(*box_of(lo - 1.0, cut))),
        _clip(geom, shapely.box(*box_of(cut, hi + 1.0))),
    )


def _clip(geom: shapely.Geometry, box: shapely.Geometry) -> shapely.Geometry:
    try:
        out = shapely.intersection(geom, box)
    except shapely.errors.GEOSException:
        out = shapely.intersection(geom, box, grid_size=0.01)
    if out.geom_type not in ("Polygon", "MultiPolygon"):
        parts = shapely.get_parts(out)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return out


def grid_cut(geom: shapely.Geometry, max_size_m: float) -> list[tuple[int, int, shapely.Geometry]]:
    """Cut a metric geometry into cells of its bounding-box grid (see module docstring).

    Returns
    -------
    list of (column, row, piece)
        Non-empty pieces only, in (column, row) order.
    """
    if geom is None or geom.is_empty:
        return []
    minx, miny, maxx, maxy = geom.bounds
    ni = max(1, math.ceil((maxx - minx) / max_size_m - 1e-9))
    nj = max(1, math.ceil((maxy - miny) / max_size_m - 1e-9))
    dx = (maxx - minx) / ni
    dy = (maxy - miny) / nj
    pieces = _halve(geom, minx, miny, dx, dy, 0, 0, ni, nj)
    pieces.sort(key=lambda t: (t[0], t[1]))
    return pieces


def _farm_pieces(
    surface_4326: np.ndarray,
    surface_m: np.ndarray,
    farmland: gpd.GeoDataFrame,
    crs: CRS,
    min_piece_area_m2: float,
    n_threads: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(component position, farmland row position, metric piece) per parcel task."""
    fgeoms = np.asarray(farmland.geometry.array, dtype=object)
    tree = shapely.STRtree(fgeoms)  # lon/lat: only candidates are projected
    comp, parcel = _spatial.query_pairs(
        tree, surface_4326, predicate="intersects", n_threads=n_threads
    )
    if len(comp) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0, dtype=object)
    uniq, inverse = np.unique(parcel, return_inverse=True)
    pm = _valid(_spatial.project(fgeoms[uniq], STORAGE_CRS, crs))
    pieces = np.concatenate(
        _spatial.parallel_chunks(
            lambda a, b: shapely.intersection(a, b), surface_m[comp], pm[inverse], min_chunk=500
        )
    )
    kinds = shapely.get_type_id(pieces)
    odd = ~np.isin(kinds, (3, 6))
    if odd.any():
        pieces[odd] = [
            shapely.union_all(p[np.isin(shapely.get_type_id(p), (3, 6))])
            if len(p := shapely.get_parts(g))
            else shapely.Polygon()
            for g in pieces[odd]
        ]
    keep = shapely.area(pieces) >= min_piece_area_m2
    comp, parcel, pieces = comp[keep], parcel[keep], pieces[keep]
    # overlapping parcels: the parcel whose id sorts first keeps the overlap
    ids = (
        farmland["parcel_id"].astype(str).to_numpy()
        if "parcel_id" in farmland.columns
        else (np.array([f"#{i}" for i in farmland.index]))
    )
    order = np.lexsort((ids[parcel], comp))
    comp, parcel, pieces = comp[order], parcel[order], pieces[order]
    if len(pieces) > 1:
        ptree = shapely.STRtree(pieces)
        a, b = ptree.query(pieces, predicate="overlaps")
        a2, b2 = ptree.query(pieces, predicate="contains")
        a3, b3 = ptree.query(pieces, predicate="within")
        a = np.concatenate([a, a2, a3])
        b = np.concatenate([b, b2, b3])
        sel = (a > b) & (comp[a] == comp[b])  # a later piece loses to earlier pieces b
        if sel.any():
            a, b = a[sel], b[sel]
            for target in np.unique(a):
                earlier = pieces[b[a == target]]
                pieces[target] = _difference(pieces[target], _union(earlier))
            keep = shapely.area(pieces) >= min_piece_area_m2
            comp, parcel, pieces = comp[keep], parcel[keep], pieces[keep]
    return comp, parcel, pieces


def _grid_pieces(
    remainders: np.ndarray, max_size_m: float, n_threads: int
) -> list[list[tuple[int, int, shapely.Geometry]]]:
    weights = shapely.get_num_coordinates(remainders).astype("float64") + 1.0
    results: list[list[tuple[int, int, shapely.Geometry]]] = [[] for _ in range(len(remainders))]

    def work(positions: np.ndarray) -> None:
        for p in positions:
            results[p] = grid_cut(remainders[p], max_size_m)

    from minemap.risk.surface import _balanced_split

    runs = _balanced_split(weights, n_threads if len(remainders) > 16 else 1)
    if len(runs) == 1:
        work(runs[0])
    else:
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            list(pool.map(work, runs))
    return results


def _pair_areas(
    tasks_tree: shapely.STRtree, task_geoms: np.ndarray, geoms: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(evidence position, task position, intersection area) for pairs with positive area."""
    ev, task = _spatial.query_pairs(tasks_tree, geoms, predicate="intersects", n_threads=n_threads)
    if len(ev) == 0:
        return ev, task, np.empty(0)
    areas = np.concatenate(
        _spatial.parallel_chunks(
            lambda a, b: shapely.area(shapely.intersection(a, b)),
            geoms[ev],
            task_geoms[task],
            min_chunk=1000,
        )
    )
    keep = areas > 1e-6
    return ev[keep], task[keep], areas[keep]


def make_tasks(
    surface: gpd.GeoDataFrame,
    *,
    farmland: gpd.GeoDataFrame | None = None,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    max_task_size_m: float = 2000.0,
    as_of: object = None,
    half_life_days: float = 365.0,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
    min_piece_area_m2: float = 1.0,
    n_threads: int = _spatial.N_THREADS,
) -> gpd.GeoDataFrame:
    """Split the hazard surface into tasks and summarise the evidence of each.

    Parameters
    ----------
    surface : GeoDataFrame
        Output of :func:`~minemap.risk.surface.hazard_surface` (``component_id``, EPSG:4326).
    farmland : GeoDataFrame, optional
        Canonical ``farmland`` layer; the surface over each parcel becomes its own task.
    hazards, footprints, casualties : GeoDataFrame, optional
        The evidence the surface was built from (for the per-task evidence summary).
    max_task_size_m : float
        Largest side of an off-farmland task cell (default 2 km).
    as_of : date-like, optional
        Reference date for casualty recency; default the latest date in the inputs.
    half_life_days : float
        Half-life of the casualty recency weight (default 365 days).
    casualty_buffer_m : float or mapping, optional
        As given to :func:`~minemap.risk.surface.hazard_surface`.
    catalogue : MunitionCatalogue, optional
    min_piece_area_m2 : float
        Pieces smaller than this are slivers (see module docstring).
    n_threads : int

    Returns
    -------
    GeoDataFrame
        One row per task, EPSG:4326, sorted by ``task_id``; columns listed in the module
        docstring. ``.attrs`` holds ``area_crs`` (WKT), ``as_of``,
        ``casualties_outside`` (incident ids not attributed to any task) and
        ``dropped_sliver_area_m2``.

    Raises
    ------
    CRSError
        An input is not in EPSG:4326.
    ValueError
        ``max_task_size_m`` or ``half_life_days`` not positive.
    """
    if not max_task_size_m > 0 or not half_life_days > 0:
        raise ValueError("max_task_size_m and half_life_days must be positive")
    inputs = {
        "surface": surface,
        "farmland": farmland,
        "hazards": hazards,
        "footprints": footprints,
        "casualties": casualties,
    }
    for name, frame in inputs.items():
        if frame is not None:
            require_storage_crs(frame, what=f"{name} layer")
    crs = _spatial.equal_area_crs_for(surface.total_bounds if len(surface) else [np.nan] * 4)
    s4326 = np.asarray(surface.geometry.array, dtype=object)
    sm = _valid(_spatial.project(s4326, STORAGE_CRS, crs))
    comp_ids = surface["component_id"].astype(str).to_numpy()

    # 1. parcel pieces
    if farmland is not None and len(farmland) and len(surface):
        f_comp, f_row, f_piece = _farm_pieces(
            s4326, sm, farmland, crs, min_piece_area_m2, n_threads
        )
    else:
        f_comp = f_row = np.empty(0, dtype=np.intp)
        f_piece = np.empty(0, dtype=object)

    # 2. remainder of each component, grid cut
    remainders = sm.copy()
    if len(f_comp):
        order = np.argsort(f_comp, kind="stable")
        comps, starts = np.unique(f_comp[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for c, s, e in zip(comps, starts, ends, strict=True):
            remainders[c] = _difference(sm[c], _union(f_piece[order[s:e]]))
        remainders[comps] = _valid(remainders[comps])  # zero-width spikes would widen the grid
    grid = _grid_pieces(remainders, max_task_size_m, n_threads)

    g_comp, g_i, g_j, g_piece = [], [], [], []
    for c, pieces in enumerate(grid):
        for i, j, piece in pieces:
            g_comp.append(c)
            g_i.append(i)
            g_j.append(j)
            g_piece.append(piece)
    g_piece_arr = np.array(g_piece, dtype=object) if g_piece else np.empty(0, dtype=object)
    g_area = shapely.area(g_piece_arr) if len(g_piece_arr) else np.empty(0)
    g_keep = g_area >= min_piece_area_m2
    dropped = float(g_area[~g_keep].sum()) if len(g_area) else 0.0

    g_comp_arr = np.asarray(g_comp, dtype=np.intp)[g_keep]
    n_f, n_g = len(f_comp), int(g_keep.sum())
    # overlay output is valid, but slivers along edges shared by different sources can leave
    # zero-width spikes after cutting: make such pieces valid (keeping the polygonal part)
    task_m = _valid(np.concatenate([f_piece, g_piece_arr[g_keep]]))
    task_comp = np.concatenate([f_comp, g_comp_arr]).astype(np.intp)
    if farmland is not None and "parcel_id" in farmland.columns:
        parcel_ids = farmland["parcel_id"].astype(str).to_numpy()[f_row]
    else:
        parcel_ids = np.array(
            [f"#{i}" for i in (farmland.index[f_row] if n_f else [])], dtype=object
        )
    gi = np.asarray(g_i)[g_keep] if n_g else np.empty(0, dtype=int)
    gj = np.asarray(g_j)[g_keep] if n_g else np.empty(0, dtype=int)
    task_ids = np.concatenate(
        [
            np.array(
                [f"{comp_ids[c]}/p/{p}" for c, p in zip(f_comp, parcel_ids, strict=True)],
                dtype=object,
            ),
            np.array(
                [f"{comp_ids[c]}/g/{i}_{j}" for c, i, j in zip(g_comp_arr, gi, gj, strict=True)],
                dtype=object,
            ),
        ]
    )
    kind = np.array(["parcel"] * n_f + ["grid"] * n_g, dtype=object)
    area = shapely.area(task_m) if len(task_m) else np.empty(0)

    frame = pd.DataFrame(
        {
            "task_id": task_ids,
            "component_id": comp_ids[task_comp] if len(task_comp) else np.empty(0, dtype=object),
            "kind": kind,
            "area_m2": area,
        }
    )
    frame["parcel_id"] = pd.Series(
        np.concatenate([parcel_ids, np.full(n_g, None, dtype=object)]), dtype="object"
    )
    for col in _FARM_COLUMNS:
        if farmland is not None and col in farmland.columns:
            values = farmland[col].iloc[f_row].reset_index(drop=True)
            frame[col] = values.reindex(pd.RangeIndex(n_f + n_g))
        else:
            missing = np.nan if col == "value_per_ha" else None
            frame[col] = pd.Series(
                [missing] * len(frame), dtype="float64" if col == "value_per_ha" else "object"
            )
    frame["farmland_area_m2"] = np.concatenate([area[:n_f], np.zeros(n_g)])

    # 3. evidence summary
    n_t = len(frame)
    tree = shapely.STRtree(task_m) if n_t else None
    n_cha = np.zeros(n_t, dtype=np.int64)
    n_sha = np.zeros(n_t, dtype=np.int64)
    n_str = np.zeros(n_t, dtype=np.int64)
    n_cls = np.zeros(n_t, dtype=np.int64)
    items_low = np.zeros(n_t)
    items_high = np.zeros(n_t)
    cas_overlap = np.zeros(n_t, dtype=bool)
    latest = np.full(n_t, np.datetime64("NaT"), dtype="datetime64[ns]")
    all_dates: list[np.ndarray] = []

    def _later(pos: np.ndarray, dates: np.ndarray) -> None:
        # NaT is the smallest int64, so a maximum over the int64 view skips missing dates
        ok = ~np.isnat(dates)
        if ok.any():
            np.maximum.at(latest.view("int64"), pos[ok], dates[ok].view("int64"))

    if hazards is not None and len(hazards) and n_t:
        hm = _valid(
            _spatial.project(np.asarray(hazards.geometry.array, dtype=object), STORAGE_CRS, crs)
        )
        ev, task, _ = _pair_areas(tree, task_m, hm, n_threads)
        htype = (
            hazards["hazard_type"].astype(object).to_numpy()
            if "hazard_type" in hazards
            else np.full(len(hazards), "SHA", dtype=object)
        )
        is_cha = htype[ev] == "CHA"
        np.add.at(n_cha, task[is_cha], 1)
        np.add.at(n_sha, task[~is_cha], 1)
        hd = _dates(hazards)
        all_dates.append(hd)
        _later(task, hd[ev])
    if footprints is not None and len(footprints) and n_t:
        from minemap.risk.surface import _footprints_metric

        fm = _footprints_metric(footprints, crs)
        ok = ~shapely.is_missing(fm)
        fpos = np.flatnonzero(ok)
        ev, task, inter = _pair_areas(tree, task_m, fm[ok], n_threads)
        ev = fpos[ev]
        farea = shapely.area(fm)
        share = np.where(farea[ev] > 0, inter / np.where(farea[ev] > 0, farea[ev], 1.0), 0.0)
        low = footprints["expected_items_low"].to_numpy(dtype="float64", na_value=0.0)
        high = footprints["expected_items_high"].to_numpy(dtype="float64", na_value=0.0)
        np.add.at(items_low, task, low[ev] * share)
        np.add.at(items_high, task, high[ev] * share)
        np.add.at(n_str, task, 1)
        if "cluster" in footprints.columns:
            cl = footprints["cluster"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            np.add.at(n_cls, task[cl[ev]], 1)
        fd = _dates(footprints)
        all_dates.append(fd)
        _later(task, fd[ev])

    killed = np.zeros(n_t, dtype=np.int64)
    injured = np.zeros(n_t, dtype=np.int64)
    n_inc = np.zeros(n_t, dtype=np.int64)
    recency = np.zeros(n_t)
    outside: list[str] = []
    cd = _dates(casualties)
    all_dates.append(cd)
    valid_dates = np.concatenate([d[~np.isnat(d)] for d in all_dates]) if all_dates else []
    if as_of is None:
        as_of_ts = (
            pd.Timestamp(valid_dates.max()) if len(valid_dates) else pd.Timestamp("1970-01-01")
        )
    else:
        as_of_ts = pd.Timestamp(as_of)
    if casualties is not None and len(casualties) and n_t:
        pts = np.asarray(casualties.geometry.array, dtype=object)
        present = ~shapely.is_missing(pts)
        pm = np.full(len(pts), None, dtype=object)
        pm[present] = _spatial.project(pts[present], STORAGE_CRS, crs)
        where = _attribute_metric(tree, pm)
        buf = casualty_buffers(casualties, casualty_buffer_m=casualty_buffer_m, catalogue=catalogue)
        xy = np.full((len(pts), 2), np.nan)
        xy[present] = shapely.get_coordinates(pm[present])
        circ = np.full(len(pts), None, dtype=object)
        circ[present] = _spatial.circles(
            xy[present, 0], xy[present, 1], buf["buffer_radius_m"].to_numpy()[present]
        )
        cpos = np.flatnonzero(present)
        ev, task, inter = _pair_areas(tree, task_m, circ[present], n_threads)
        ev = cpos[ev]
        cas_overlap[task] = True
        # largest-overlap fallback for points that are not inside any task
        need = where < 0
        if need.any() and len(ev):
            o = np.lexsort((task, -inter, ev))  # per incident: largest overlap, then first task
            ev_s, task_s = ev[o], task[o]
            first = np.unique(ev_s, return_index=True)
            best = dict(zip(first[0], task_s[first[1]], strict=True))
            for k in np.flatnonzero(need):
                where[k] = best.get(k, -1)
        k_arr = (
            casualties["killed"].to_numpy(dtype="float64", na_value=0.0)
            if "killed" in casualties
            else np.zeros(len(pts))
        )
        i_arr = (
            casualties["injured"].to_numpy(dtype="float64", na_value=0.0)
            if "injured" in casualties
            else np.zeros(len(pts))
        )
        age = (as_of_ts.to_datetime64() - cd).astype("timedelta64[s]").astype("float64") / 86400.0
        age = np.where(np.isnan(age), np.inf, np.clip(age, 0.0, None))
        weight = np.power(0.5, age / half_life_days)
        hit = where >= 0
        np.add.at(n_inc, where[hit], 1)
        np.add.at(killed, where[hit], k_arr[hit].astype(np.int64))
        np.add.at(injured, where[hit], i_arr[hit].astype(np.int64))
        np.add.at(recency, where[hit], ((k_arr + i_arr) * weight)[hit])
        _later(where[hit], cd[hit])
        ids = (
            casualties["incident_id"].astype(str).to_numpy()
            if "incident_id" in casualties
            else np.array([f"#{i}" for i in casualties.index])
        )
        outside = sorted(ids[~hit].tolist())
    elif casualties is not None and len(casualties):
        ids = (
            casualties["incident_id"].astype(str).to_numpy()
            if "incident_id" in casualties
            else np.array([f"#{i}" for i in casualties.index])
        )
        outside = sorted(ids.tolist())

    ev_class = np.where(
        n_cha > 0,
        "CHA",
        np.where(
            n_sha > 0,
            "SHA",
            np.where(n_str > 0, "strike", np.where((n_inc > 0) | cas_overlap, "casualty", "none")),
        ),
    ).astype(object)
    frame["evidence_class"] = ev_class
    frame["n_cha"] = n_cha
    frame["n_sha"] = n_sha
    frame["n_strikes"] = n_str
    frame["n_cluster_strikes"] = n_cls
    frame["expected_items_low"] = items_low
    frame["expected_items_high"] = items_high
    frame["n_casualty_incidents"] = n_inc
    frame["killed"] = killed
    frame["injured"] = injured
    frame["casualty_recency"] = recency
    frame["latest_evidence_date"] = latest

    order = np.argsort(frame["task_id"].to_numpy(dtype=str), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    geoms = _valid(_spatial.to_storage(task_m[order], crs)) if n_t else np.empty(0, dtype=object)
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)
    out.attrs.update(
        {
            "area_crs": crs.to_wkt(),
            "as_of": as_of_ts.isoformat(),
            "casualties_outside": outside,
            "dropped_sliver_area_m2": dropped,
        }
    )
    return out


def _attribute_metric(tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    """Position of the first tree geometry intersecting each point; -1 where none."""
    where = np.full(len(points), -1, dtype=np.intp)
    present = np.flatnonzero(~shapely.is_missing(points))
    if len(present) == 0:
        return where
    p, t = tree.query(points[present], predicate="intersects")
    if len(p):
        o = np.lexsort((t, p))
        p, t = p[o], t[o]
        first_p, first_i = np.unique(p, return_index=True)
        where[present[first_p]] = t[first_i]
    return where


def attribute_points(
    tasks: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *, id_column: str = "task_id"
) -> pd.Series:
    """The task each point (casualty, strike) falls in; NA when outside every task.

    Parameters
    ----------
    tasks : GeoDataFrame
        Output of :func:`make_tasks` (EPSG:4326).
    points : GeoDataFrame
        Points (polygons are represented by a point on their surface), EPSG:4326.
    id_column : str
        Column of ``tasks`` to return (default ``task_id``).

    Returns
    -------
    Series
        Named ``id_column``, aligned to ``points.index``. A point on a boundary shared by two
        tasks goes to the task listed first. NA marks points outside the hazard surface (e.g.
        in released land): report them, they are not lost.
    """
    require_storage_crs(tasks, what="tasks")
    require_storage_crs(points, what="points layer")
    geoms = np.asarray(points.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    pts = np.full(len(geoms), None, dtype=object)
    if present.any():
        g = geoms[present]
        is_point = shapely.get_type_id(g) == 0
        g = np.where(is_point, g, shapely.point_on_surface(g))
        pts[present] = g
    where = _attribute_metric(shapely.STRtree(np.asarray(tasks.geometry.array)), pts)
    ids = tasks[id_column].astype(object).to_numpy()
    values = np.where(where >= 0, ids[np.clip(where, 0, None)] if len(ids) else None, None)
    return pd.Series(values, index=points.index, name=id_column, dtype=object)
