"""Tasks: the hazard surface cut into polygons a team can be sent to, with their evidence.

Cutting rule
------------
All cutting happens in the equal-area metric CRS (:func:`minemap.risk._spatial.equal_area_crs_for`:
EPSG:3035 in Europe, a local Lambert azimuthal equal-area CRS elsewhere).

1. **Bounded cells.** Each component is cut by a grid aligned to the component's own bounding
   box: ``nx = ceil(width / max_task_size_m)`` columns and ``ny = ceil(height /
   max_task_size_m)`` rows of equal size, so every cell is at most ``max_task_size_m`` on a side
   and a component that fits in one cell is never cut. The cut is done by recursive halving
   (``intersection`` with half-boxes), which costs O(vertices × log cells) instead of clipping
   the whole component once per cell.
2. **Farmland carved out of the cells.** The part of a cell over each farmland parcel becomes
   a parcel piece (candidate parcels from an STRtree query; an overlay only where the cell does
   not simply cover the parcel). Pieces smaller than ``min_piece_area_m2`` (slivers along
   shared edges) stay in the cell. Where parcels overlap each other (dirty cadastre), the
   overlap goes to the parcel whose ``parcel_id`` sorts first, so tasks never overlap. The
   pieces of one parcel within one component (a parcel crossing a cell line) are united into
   **one task per parcel and component** (``kind = "parcel"``, carrying ``parcel_id``,
   ``land_use``, ``crop``, ``value_per_ha`` and ``farmland_area_m2``); a parcel task can thus
   be larger than a cell — a parcel is a natural unit of work.
3. **The rest of each cell** (off farmland) is one task (``kind = "grid"``; it may be a
   MultiPolygon of several fragments inside the cell). Fragments below ``min_piece_area_m2``
   are dropped (their total is in ``.attrs["dropped_sliver_area_m2"]``).

Task ids (stable across runs for the same inputs): ``"<component_id>/p/<parcel_id>"`` for a
parcel task, ``"<component_id>/g/<column>_<row>"`` for a grid cell. Rows are sorted by
``task_id``.

Evidence per task
-----------------
* ``n_cha`` / ``n_sha``: hazard polygons overlapping the task with positive area;
  ``evidence_class``: ``"CHA"`` if any CHA, else ``"SHA"``, else ``"strike"`` (a strike
  footprint overlaps), else ``"casualty"`` (a casualty buffer overlaps or an incident is
  attributed); ``"none"`` cannot arise from evidence that built the surface but is kept as an
  explicit value rather than a guess if ``make_tasks`` is given a surface and evidence that do
  not match.
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
import operator
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.errors import GEOSException

from minemap.geometry import require_storage_crs
from minemap.risk import _spatial
from minemap.risk._clip import convex_clip_pairs
from minemap.risk.catalogue import MunitionCatalogue
from minemap.risk.surface import _difference, _SideThread, _union, _valid, casualty_buffers
from minemap.settings import STORAGE_CRS

__all__ = [
    "PreparedTasks",
    "attribute_points",
    "casualty_weights",
    "load_kernels",
    "make_tasks",
    "prepare_tasks",
]

EVIDENCE_ORDER = ("CHA", "SHA", "strike", "casualty")

_EMPTY = shapely.Polygon()  # immutable: shared instead of rebuilt (Polygon() parses WKT)

_FARM_COLUMNS = ("land_use", "crop", "value_per_ha")


def _dates(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None or "date" not in frame.columns:
        n = 0 if frame is None else len(frame)
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[ns]")


def _parcel_ids(farmland: gpd.GeoDataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Parcel ids as str (``"#<index>"`` without a ``parcel_id`` column) and their rank."""
    if farmland is not None and "parcel_id" in farmland.columns:
        all_ids = farmland["parcel_id"].astype(str).to_numpy(dtype=object)
    elif farmland is not None:
        all_ids = np.array([f"#{i}" for i in farmland.index], dtype=object)
    else:
        all_ids = np.empty(0, dtype=object)
    rank = np.empty(len(all_ids), dtype=np.intp)
    rank[np.argsort(all_ids, kind="stable")] = np.arange(len(all_ids))
    return all_ids, rank


def load_kernels() -> None:
    """Load the compiled (numba) kernels :func:`make_tasks` uses from numba's on-disk cache.

    On a machine's first run they are compiled (~25 s, once; cached beside the package, else
    in numba's user cache); later processes load them in ~0.5 s. :func:`make_tasks` loads
    them on first use anyway: call this ahead (a server's start, a test run's set-up) to keep
    that time out of the first task split.
    """
    from minemap.risk import _circle_kernels, _clip, _proj_kernels, _query_kernels

    _circle_kernels.warm_up()
    _clip.warm_up()
    _proj_kernels.warm_up()
    _query_kernels.warm_up()


@dataclass(frozen=True, eq=False)
class _Parcels:
    """What the cut needs of the farmland (see :func:`prepare_tasks`)."""

    ids: np.ndarray  # parcel ids as str
    rank: np.ndarray  # position of each parcel in the sort order of ids
    metric: np.ndarray  # per parcel: valid geometry in the prepared CRS, None if not made


@dataclass(frozen=True, eq=False)
class PreparedTasks:
    """The inputs of :func:`make_tasks` made ready before the hazard surface exists.

    Built by :func:`prepare_tasks`; pass it as ``make_tasks(surface, ..., prepared=...)``
    with the same (unmodified) frames and options. Nothing in it depends on the surface, so it
    can be built in a thread while the footprints' surface is computed.
    """

    frames: dict[str, gpd.GeoDataFrame | None]
    """``farmland``, ``hazards``, ``footprints``, ``casualties`` as given (checked by identity)."""
    geoms: dict[str, np.ndarray]
    """Their EPSG:4326 geometry objects (a geometry edit afterwards is detected)."""
    casualty_buffer_m: float | Mapping[str, float] | None
    catalogue: MunitionCatalogue | None
    crs: CRS
    """The equal-area CRS the metric geometries are in."""
    parcels: _Parcels | None
    evidence: _Evidence


_PREPARED_FRAMES = ("farmland", "hazards", "footprints", "casualties")


@_spatial.gc_paused
def prepare_tasks(
    *,
    farmland: gpd.GeoDataFrame | None = None,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
    crs: CRS | str | None = None,
) -> PreparedTasks:
    """Prepare the inputs of :func:`make_tasks` ahead of (or beside) the hazard surface.

    What :func:`make_tasks` needs of the farmland before it can cut the surface (parcel ids
    and their sort order, the metric form of the parcels near
    the evidence), the evidence in the metric CRS (hazards, footprints and their circles,
    casualty points and buffers) and the compiled kernels (loaded from numba's cache) do not
    depend on the surface. Given as
    ``make_tasks(surface, farmland=..., hazards=..., ..., prepared=...)`` with the same
    frames and options, the tasks are exactly those computed without it (same ids, order,
    values, geometries and ``attrs``).

    Parameters
    ----------
    farmland, hazards, footprints, casualties : GeoDataFrame, optional
        As they will be given to :func:`make_tasks` (EPSG:4326); they must not be modified
        afterwards. Parcels whose bounding box meets one of the evidence's are projected now;
        any other parcel the surface meets (e.g. reached only by a casualty buffer) is
        projected by :func:`make_tasks`.
    casualty_buffer_m, catalogue
        As they will be given to :func:`make_tasks`.
    crs : CRS, optional
        The equal-area CRS :func:`make_tasks` will cut in. Default:
        :func:`~minemap.risk._spatial.equal_area_crs_for` the bounds of the evidence (the
        surface lies inside them: make_tasks' own default wherever EPSG:3035 applies). If
        make_tasks cuts in another CRS, only the parcel ids and their order are used.

    Returns
    -------
    PreparedTasks

    Raises
    ------
    CRSError
        An input is not in EPSG:4326.
    """
    frames = {"farmland": farmland, "hazards": hazards, "footprints": footprints,
              "casualties": casualties}  # fmt: skip
    geoms: dict[str, np.ndarray] = {}
    for name, frame in frames.items():
        if frame is not None:
            require_storage_crs(frame, what=f"{name} layer")
            geoms[name] = np.array(frame.geometry.array, dtype=object)  # a copy: edits show
    evidence = [geoms[k] for k in ("hazards", "footprints", "casualties") if k in geoms]
    ev = np.concatenate(evidence) if evidence else np.empty(0, dtype=object)
    ev = ev[~shapely.is_missing(ev) & ~shapely.is_empty(ev)]
    eb = shapely.bounds(ev) if len(ev) else np.empty((0, 4))
    if crs is not None:
        crs = CRS.from_user_input(crs)
    else:
        crs = _spatial.equal_area_crs_for(
            [eb[:, 0].min(), eb[:, 1].min(), eb[:, 2].max(), eb[:, 3].max()]
            if len(eb)
            else [np.nan] * 4
        )
    load_kernels()  # numba: loaded here, beside the surface
    parcels = None
    if farmland is not None:
        ids, rank = _parcel_ids(farmland)
        fg = geoms["farmland"]
        metric = np.full(len(fg), None, dtype=object)
        if len(eb) and len(fg):
            # bounding boxes only: a cheap superset of the parcels the surface can meet. The
            # parcels query a tree of the evidence boxes: building an STRtree holds the GIL
            # (~1 s for a million parcels), querying it does not
            hit, _ = _spatial.query_pairs(shapely.STRtree(shapely.box(*eb.T)), fg, predicate=None)
            hit = np.unique(hit)
            hit = hit[~shapely.is_missing(fg[hit])]
            if len(hit):
                metric[hit] = _valid(_spatial.project(fg[hit], STORAGE_CRS, crs))
        parcels = _Parcels(ids, rank, metric)
    return PreparedTasks(
        frames=frames,
        geoms=geoms,
        casualty_buffer_m=casualty_buffer_m,
        catalogue=catalogue,
        crs=crs,
        parcels=parcels,
        evidence=_metric_evidence(
            hazards, footprints, casualties, crs, casualty_buffer_m, catalogue
        ),
    )


def _check_prepared(prepared: PreparedTasks, frames: dict[str, gpd.GeoDataFrame | None]) -> None:
    """Raise if ``prepared`` was not made from these very frames, or they changed since."""
    for name in _PREPARED_FRAMES:
        frame, made = frames[name], prepared.frames[name]
        if frame is not made:
            raise ValueError(f"prepared inputs were made from another {name} frame")
        if frame is None:
            continue
        current, before = np.asarray(frame.geometry.array, dtype=object), prepared.geoms[name]
        if len(current) != len(before) or not all(map(operator.is_, current, before)):
            raise ValueError(f"the {name} frame was modified after prepare_tasks")


def casualty_weights(
    casualties: gpd.GeoDataFrame, as_of: pd.Timestamp, *, half_life_days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Killed, injured and recency-weighted victims of each casualty record.

    The recency weight is (killed + injured) × 0.5^(age_days / half_life_days), the age
    counted to ``as_of`` (records after it count with age 0, undated ones not at all). One
    implementation for :func:`make_tasks` and the task cache, which re-weights kept
    attributions for a new plan date.

    Returns
    -------
    killed, injured, weighted : ndarray of float64, aligned to ``casualties``
    """
    n = len(casualties)
    killed = (
        casualties["killed"].to_numpy(dtype="float64", na_value=0.0)
        if "killed" in casualties
        else np.zeros(n)
    )
    injured = (
        casualties["injured"].to_numpy(dtype="float64", na_value=0.0)
        if "injured" in casualties
        else np.zeros(n)
    )
    cd = _dates(casualties)
    age = (as_of.to_datetime64() - cd).astype("timedelta64[s]").astype("float64") / 86400.0
    age = np.where(np.isnan(age), np.inf, np.clip(age, 0.0, None))
    return killed, injured, (killed + injured) * np.power(0.5, age / half_life_days)


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
        return geom, _EMPTY
    if lo >= cut:
        return _EMPTY, geom
    return _clip(geom, box_of(lo - 1.0, cut)), _clip(geom, box_of(cut, hi + 1.0))


def _clip(geom: shapely.Geometry, box: tuple[float, float, float, float]) -> shapely.Geometry:
    # GEOS's rectangle clipping is linear in the vertices (no overlay noding): 4x faster than
    # intersection with a box polygon on the L components, same areas (cells are checked for
    # validity afterwards, see _split_surface)
    try:
        out = shapely.clip_by_rect(geom, *box)
    except GEOSException:
        # GEOS's rectangle clipper can build a degenerate ring (3 points) from a valid
        # input whose vertex lies on the box edge: the overlay with the box is exact there
        out = shapely.intersection(geom, shapely.box(*box))
    if out.geom_type not in ("Polygon", "MultiPolygon"):
        parts = shapely.get_parts(out)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out = shapely.union_all(parts) if len(parts) else _EMPTY
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


def _polygonal_array(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each overlay result (drop lines/points)."""
    odd = ~np.isin(shapely.get_type_id(geoms), (3, 6))
    if odd.any():
        geoms = geoms.copy()
        geoms[odd] = [
            shapely.union_all(p[np.isin(shapely.get_type_id(p), (3, 6))])
            if len(p := shapely.get_parts(g))
            else _EMPTY
            for g in geoms[odd]
        ]
    return geoms


def _group_unions(
    geoms: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_threads: int
) -> np.ndarray:
    """``_union(geoms[starts[k]:ends[k]])`` for every k, the same geometries, but by
    vectorised GEOS calls on rows padded with None (``union_all(axis=1)`` skips None), so
    the GIL is not taken per group. Groups of one are their member; a group that GEOS cannot
    unite goes through :func:`_union` (which snaps it to a 1 cm grid)."""
    sizes = ends - starts
    out = np.empty(len(starts), dtype=object)
    one = np.flatnonzero(sizes == 1)
    out[one] = geoms[starts[one]]
    many = np.flatnonzero(sizes > 1)
    if len(many) == 0:
        return out
    many = many[np.argsort(sizes[many], kind="stable")]  # similar widths share a chunk
    bounds = np.unique(np.r_[0 : len(many) : 500, len(many)])

    def rows(s: int, e: int) -> None:
        idx = many[s:e]
        size = sizes[idx]
        grid = np.full((len(idx), int(size.max())), None, dtype=object)
        col = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        grid[np.repeat(np.arange(len(idx)), size), col] = geoms[np.repeat(starts[idx], size) + col]
        try:
            out[idx] = shapely.union_all(grid, axis=1)
        except GEOSException:
            for k, g in enumerate(idx):
                out[g] = _union(grid[k][: size[k]])

    _spatial.run_spans(rows, bounds, n_threads=n_threads)
    return out


def _differences(a: np.ndarray, b: np.ndarray, n_threads: int) -> np.ndarray:
    """``_difference(a[i], b[i])`` for every i, by vectorised GEOS calls (same geometries)."""

    def op(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        try:
            out = shapely.difference(x, y)
        except GEOSException:
            return np.array([_difference(g, c) for g, c in zip(x, y, strict=True)], dtype=object)
        odd = np.flatnonzero(~np.isin(shapely.get_type_id(out), (3, 6)))
        for i in odd:
            out[i] = _difference(x[i], y[i])
        return out

    if len(a) == 0:
        return np.empty(0, dtype=object)
    return np.concatenate(
        _spatial.parallel_chunks(
            op, a, b, n_threads=n_threads, min_chunk=500, n_chunks=8 * n_threads
        )
    )


def _run_balanced(work, weights: np.ndarray, n_threads: int) -> None:
    from minemap.risk.surface import _balanced_split

    # a few runs per thread, handed to whichever thread is free: uneven runs or a core busy
    # with other work then do not leave the other thread idle at the end
    n_runs = 4 * n_threads if n_threads > 1 and len(weights) > 64 else 1
    runs = _balanced_split(weights.astype("float64"), n_runs)
    if len(runs) == 1:
        work(runs[0])
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(work, runs))


@dataclass
class _Cells:
    """The grid cells of all components, in component then (column, row) order."""

    comp: np.ndarray  # component position of each cell
    i: np.ndarray  # grid column
    j: np.ndarray  # grid row
    geom: np.ndarray  # metric geometry
    single: np.ndarray  # per component: it is its one cell (0, 0)


def _grid_pieces(geoms: np.ndarray, max_size_m: float, n_threads: int) -> _Cells:
    n = len(geoms)
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    fits = (
        ~empty
        & (bounds[:, 2] - bounds[:, 0] <= max_size_m)
        & (bounds[:, 3] - bounds[:, 1] <= max_size_m)
    )
    todo = np.flatnonzero(~fits & ~empty)
    results: list[list[tuple[int, int, shapely.Geometry]]] = [[] for _ in range(len(todo))]

    def work(positions: np.ndarray) -> None:
        for k in positions:
            results[k] = grid_cut(geoms[todo[k]], max_size_m)

    if len(todo):
        _run_balanced(work, shapely.get_num_coordinates(geoms[todo]) + 1.0, n_threads)
    # one cell per component that fits (most of them: nothing to cut), filled by array ops;
    # only the cut components' cells go through Python
    sizes = fits.astype(np.intp)
    sizes[todo] = [len(r) for r in results]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
    total = int(start[-1])
    comp = np.repeat(np.arange(n, dtype=np.intp), sizes)
    cell_i = np.zeros(total, dtype=np.intp)
    cell_j = np.zeros(total, dtype=np.intp)
    cell_geom = np.empty(total, dtype=object)
    one = np.flatnonzero(fits)
    cell_geom[start[one]] = geoms[one]
    single = fits.copy()
    for k, p in enumerate(todo):
        cut = results[k]
        if not cut:
            continue
        s = start[p]
        cell_i[s : s + len(cut)] = [t[0] for t in cut]
        cell_j[s : s + len(cut)] = [t[1] for t in cut]
        cell_geom[s : s + len(cut)] = [t[2] for t in cut]
        single[p] = len(cut) == 1 and cut[0][0] == 0 and cut[0][1] == 0
    return _Cells(comp, cell_i, cell_j, cell_geom, single)


def _covers_pairs(
    outer: np.ndarray, oi: np.ndarray, inner: np.ndarray, ii: np.ndarray, n_threads: int
) -> np.ndarray:
    """``covers(outer[oi[k]], inner[ii[k]])`` per pair, evaluated only where the bounding box
    of the outer geometry contains the inner one's (False elsewhere, as covers would be)."""
    ob, ib = shapely.bounds(outer)[oi], shapely.bounds(inner)[ii]
    maybe = np.flatnonzero(
        (ob[:, 0] <= ib[:, 0])
        & (ob[:, 1] <= ib[:, 1])
        & (ob[:, 2] >= ib[:, 2])
        & (ob[:, 3] >= ib[:, 3])
    )
    out = np.zeros(len(oi), dtype=bool)
    if len(maybe):
        out[maybe] = np.concatenate(
            _spatial.parallel_chunks(
                shapely.covers, outer[oi[maybe]], inner[ii[maybe]], n_threads=n_threads
            )
        )
    return out


def _cell_parcel_pairs(
    single: np.ndarray,
    cell_comp: np.ndarray,
    cell_geom: np.ndarray,
    pm: np.ndarray,
    sc: np.ndarray,
    sp: np.ndarray,
    n_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(cell position, parcel position in ``pm``) of the cells and parcels that intersect.

    ``sc``/``sp`` are the component × parcel pairs the lon/lat query found. A component that
    fits in one cell *is* its cell, so its pairs are reused as they are (most components);
    only the cells of larger components are queried again, against their own parcels. The
    lon/lat and the metric ``intersects`` can disagree only on pairs that touch without
    overlapping, whose pieces have no area and are dropped as slivers either way.
    """
    first_cell = np.searchsorted(cell_comp, np.arange(len(single)))
    keep = single[sc]
    ci, pj = [first_cell[sc[keep]]], [sp[keep]]
    multi_cells = np.flatnonzero(~single[cell_comp])
    if len(multi_cells):
        own = np.unique(sp[~keep])  # parcels of the larger components
        tree = shapely.STRtree(pm[own])
        c2, p2 = _spatial.query_pairs(
            tree, cell_geom[multi_cells], predicate="intersects", n_threads=n_threads
        )
        ci.append(multi_cells[c2])
        pj.append(own[p2])
    return np.concatenate(ci).astype(np.intp), np.concatenate(pj).astype(np.intp)


def _parcel_pairs(
    s4326: np.ndarray, fgeoms: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parcel rows that meet the surface, component of each pair, pair → position in the
    parcel rows) of the parcels × components that intersect, found in lon/lat.

    In lon/lat, so that only the parcels the surface meets are projected. The parcels query a
    tree of the components: building an STRtree holds the GIL (~1 s for a million parcels,
    ~0.1 s for the components), querying it does not. The tree gives the box pairs, the
    compiled test decides which intersect (GEOS only where it is unsure): the same pairs as
    GEOS's predicate, at half the cost.
    """
    from minemap.risk import _query_kernels

    cand, sc = _query_kernels.query_pairs(shapely.STRtree(s4326), fgeoms, n_threads=n_threads)
    cand, sp = np.unique(cand, return_inverse=True)
    return cand, sc, sp


@dataclass
class _Split:
    """Task pieces in the metric CRS before attributes are attached."""

    geom: np.ndarray  # metric geometries
    comp: np.ndarray  # component position
    parcel: np.ndarray  # farmland row position, -1 for grid pieces
    cell_i: np.ndarray  # grid column (-1 for parcel tasks)
    cell_j: np.ndarray
    dropped_m2: float
    checked: np.ndarray  # geometry already made valid (see _split_surface)


def _split_surface(
    sm: np.ndarray,
    s4326: np.ndarray,
    farmland: gpd.GeoDataFrame | None,
    parcel_rank: np.ndarray | None,
    crs: CRS,
    max_size_m: float,
    min_area: float,
    n_threads: int,
    parcels: _Parcels | None = None,
    parcels_metric: bool = False,
) -> _Split:
    """Grid-cut every component, then carve the farmland parcels out of the (small) cells.

    ``checked`` in the result marks the pieces whose geometry went through a validity check
    here already (the cells, the metric parcels, the convex clip's pieces): only the others —
    results of GEOS overlays (cell remainders, merged pieces, overlay fallbacks) — need
    :func:`~minemap.risk.surface._valid` before they become tasks, so no piece is checked twice.
    """
    has_farmland = farmland is not None and len(farmland) > 0 and len(s4326) > 0
    fgeoms = np.asarray(farmland.geometry.array, dtype=object) if has_farmland else None
    # the parcel query needs only the lon/lat components: on a thread of its own (its STRtree
    # query and compiled test release the GIL) while this one cuts the grid (Python and short
    # GEOS calls, mostly GIL-bound); same pairs as one after the other
    with _SideThread(has_farmland and n_threads > 1) as side:
        query = side.submit(_parcel_pairs, s4326, fgeoms, n_threads) if has_farmland else None
        cells = _grid_pieces(sm, max_size_m, n_threads)
        cell_comp, cell_i, cell_j = cells.comp, cells.i, cells.j
        cell_geom = _valid(cells.geom)
        pairs = query.result() if query is not None else None

    cell_checked = np.ones(len(cell_geom), dtype=bool)
    p_geom = np.empty(0, dtype=object)
    p_comp = p_row = np.empty(0, dtype=np.intp)
    p_checked = np.empty(0, dtype=bool)
    dropped = 0.0
    if pairs is not None and len(cell_geom):
        cand, sc, sp = pairs
    else:
        cand = sc = sp = np.empty(0, dtype=np.intp)
    if len(cand):
        if parcels is not None and parcels_metric:
            pm = parcels.metric[cand]  # a copy; None where not projected ahead
            late = np.flatnonzero(shapely.is_missing(pm))
            if len(late):
                pm[late] = _valid(_spatial.project(fgeoms[cand[late]], STORAGE_CRS, crs))
        else:
            pm = _valid(_spatial.project(fgeoms[cand], STORAGE_CRS, crs))
        ci, pj = _cell_parcel_pairs(cells.single, cell_comp, cell_geom, pm, sc, sp, n_threads)
        n_p = len(pm)
        # fast paths, tested only on the pairs whose bounding boxes allow them (a few %):
        # parcel inside the cell, or cell wholly inside the parcel (a small component in a
        # large field) — the piece is then the parcel or the cell itself
        inside = _covers_pairs(cell_geom, ci, pm, pj, n_threads)
        covered = _covers_pairs(pm, pj, cell_geom, ci, n_threads) & ~inside
        pieces = np.empty(len(ci), dtype=object)
        checked = np.ones(len(ci), dtype=bool)  # parcels, cells and clip pieces: checked
        pieces[inside] = pm[pj[inside]]  # parcel wholly inside the cell: no overlay needed
        pieces[covered] = cell_geom[ci[covered]]
        cut = np.flatnonzero(~inside & ~covered)
        if len(cut):
            # parcels are mostly convex: the compiled convex clip (exact up to the crossing
            # points' rounding, as GEOS) takes those pairs; touching, shared-edge and other
            # doubtful pairs, and non-convex parcels, go to GEOS's overlay
            clipped, done = convex_clip_pairs(cell_geom, ci[cut], pm, pj[cut], n_threads=n_threads)
            pieces[cut[done]] = clipped[done]
            rest = cut[~done]
            if len(rest):
                pieces[rest] = _polygonal_array(
                    _spatial.intersection(cell_geom[ci[rest]], pm[pj[rest]], n_threads=n_threads)
                )
                checked[rest] = False
        area = shapely.area(pieces)
        keep = area >= min_area  # slivers stay in the grid remainder
        ci, pj, pieces, area, checked = ci[keep], pj[keep], pieces[keep], area[keep], checked[keep]
        rank = parcel_rank[cand][pj]
        order = np.lexsort((rank, ci))
        ci, pj, pieces, area = ci[order], pj[order], pieces[order], area[order]
        checked = checked[order]

        cell_area = shapely.area(cell_geom)
        pm_area = shapely.area(pm)
        cells_with, starts = np.unique(ci, return_index=True)
        ends = np.append(starts[1:], len(ci))
        # most cells (39k of 49k at L) are exactly filled by their pieces: found here at once
        # with half the tolerance of the test below (summation order changes a sum by ~1e-16
        # relative, so each also passes that test); only the others enter the Python loop
        sums = np.add.reduceat(area, starts) if len(starts) else np.empty(0)
        filled = np.abs(sums - cell_area[cells_with]) <= 0.5e-7 * sums
        cell_geom[cells_with[filled]] = _EMPTY
        open_cells = np.flatnonzero(~filled)
        cut_back = np.zeros(len(pieces), dtype=bool)  # pieces that lost an overlap

        # the pieces of the open cells that still fill them (within 1e-7): no remainder and
        # no overlap (overlap would need an equally large gap to cancel out)
        full = (
            np.abs(sums[open_cells] - cell_area[cells_with[open_cells]]) <= 1e-7 * sums[open_cells]
        )
        cell_geom[cells_with[open_cells[full]]] = _EMPTY
        open_cells = open_cells[~full]
        # the remainder is the cell minus the kept parcels themselves: the same set as minus
        # their pieces, but the parcels' few straight edges are cheaper to unite and cut with
        # than the pieces (whose edges follow the cell), and cutting with them leaves no
        # rounding slivers along the cell's own boundary
        o_s, o_e = starts[open_cells], ends[open_cells]
        unions = _group_unions(pm[pj], o_s, o_e, n_threads)
        whole_area = np.add.reduceat(pm_area[pj], starts)[open_cells] if len(pj) else sums[:0]
        tol = np.maximum(1e-6 * whole_area, 0.01)
        overlapping = (o_e - o_s > 1) & (shapely.area(unions) < whole_area - tol)
        for p in open_cells[overlapping]:
            # overlapping parcels (dirty cadastre): the parcel whose id sorts first keeps the
            # overlap, later ones lose it — tasks never overlap
            s, e = starts[p], ends[p]
            taken = pieces[s]
            for k in range(s + 1, e):
                original = pieces[k]
                pieces[k] = _difference(original, taken)
                cut_back[k] = True
                taken = _union(np.array([taken, original], dtype=object))
        cell_geom[cells_with[open_cells]] = _differences(
            cell_geom[cells_with[open_cells]], unions, n_threads
        )
        cell_checked[cells_with[open_cells]] = False
        checked[cut_back] = False
        area[cut_back] = shapely.area(pieces[cut_back])
        keep = area >= min_area
        dropped += float(area[~keep].sum())
        ci, pj, pieces, checked = ci[keep], pj[keep], pieces[keep], checked[keep]

        # one task per parcel and component: merge a parcel's pieces from neighbouring cells
        comp = cell_comp[ci]
        order = np.lexsort((pj, comp))
        comp, pj, pieces, checked = comp[order], pj[order], pieces[order], checked[order]
        key = comp.astype(np.int64) * n_p + pj
        # (every farmland piece may have been dropped as a sliver: then there is none)
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key[:0]
        last = np.r_[first[1:], len(key)] if len(key) else key[:0]
        merged = pieces[first].copy()
        merged_checked = checked[first].copy()
        several = np.flatnonzero(last - first > 1)

        if len(several):
            merged[several] = _group_unions(pieces, first[several], last[several], n_threads)
            merged_checked[several] = False
        p_geom, p_comp, p_row = merged, comp[first], cand[pj[first]]
        p_checked = merged_checked

    g_area = shapely.area(cell_geom) if len(cell_geom) else np.empty(0)
    g_keep = g_area >= min_area
    dropped += float(g_area[~g_keep].sum()) if len(g_area) else 0.0
    n_f = len(p_geom)
    return _Split(
        geom=np.concatenate([p_geom, cell_geom[g_keep]]),
        comp=np.concatenate([p_comp, cell_comp[g_keep]]).astype(np.intp),
        parcel=np.concatenate([p_row, np.full(int(g_keep.sum()), -1)]).astype(np.intp),
        cell_i=np.concatenate([np.full(n_f, -1), cell_i[g_keep]]).astype(np.intp),
        cell_j=np.concatenate([np.full(n_f, -1), cell_j[g_keep]]).astype(np.intp),
        dropped_m2=dropped,
        checked=np.concatenate([p_checked, cell_checked[g_keep]]).astype(bool),
    )


class _Background:
    """Up to two jobs run beside the calling thread (inline when ``n_threads`` is 1).

    Used for steps that need neither the other's results nor shared mutable state: the
    metric evidence while the task frame is assembled, the lon/lat output and the hazard pairs while
    the footprints are measured. Single-threaded stretches of one (STRtree builds, Python
    loops, coordinate copies) then overlap with GEOS or numpy work of another.
    """

    def __init__(self, n_threads: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=2) if n_threads > 1 else None

    def submit(self, fn, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Evidence:
    """The evidence in the metric CRS (what the summary needs, nothing tied to the tasks)."""

    hm: np.ndarray | None = None  # hazards
    fm: np.ndarray | None = None  # footprints
    fcirc: np.ndarray | None = None  # footprint circles (x, y, radius; NaN for polygons)
    cas_present: np.ndarray | None = None  # casualties with a located point
    cas_pm: np.ndarray | None = None  # casualty points (None where not located)
    cas_circ: np.ndarray | None = None  # casualty buffer polygons (None where not located)
    cas_crad: np.ndarray | None = None  # casualty circles (x, y, radius)


def _metric_evidence(
    hazards: gpd.GeoDataFrame | None,
    footprints: gpd.GeoDataFrame | None,
    casualties: gpd.GeoDataFrame | None,
    crs: CRS,
    casualty_buffer_m: float | Mapping[str, float] | None,
    catalogue: MunitionCatalogue | None,
) -> _Evidence:
    out = _Evidence()
    if hazards is not None and len(hazards):
        out.hm = _valid(
            _spatial.project(np.asarray(hazards.geometry.array, dtype=object), STORAGE_CRS, crs)
        )
    if footprints is not None and len(footprints):
        from minemap.risk.surface import _footprints_metric

        out.fm, out.fcirc = _footprints_metric(footprints, crs, with_circles=True)
    if casualties is not None and len(casualties):
        pts = np.asarray(casualties.geometry.array, dtype=object)
        present = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
        pm = np.full(len(pts), None, dtype=object)
        pm[present] = _spatial.project(pts[present], STORAGE_CRS, crs)
        buf = casualty_buffers(casualties, casualty_buffer_m=casualty_buffer_m, catalogue=catalogue)
        xy = np.full((len(pts), 2), np.nan)
        xy[present] = shapely.get_coordinates(pm[present])
        circ = np.full(len(pts), None, dtype=object)
        circ[present] = _spatial.circles(
            xy[present, 0], xy[present, 1], buf["buffer_radius_m"].to_numpy()[present]
        )
        out.cas_present, out.cas_pm, out.cas_circ = present, pm, circ
        out.cas_crad = np.column_stack([xy, buf["buffer_radius_m"].to_numpy()])
    return out


def _output_geometry(task_m: np.ndarray, crs: CRS) -> np.ndarray:
    """The tasks in EPSG:4326 (each geometry projected and checked on its own)."""
    if len(task_m) == 0:
        return np.empty(0, dtype=object)
    return _valid(_spatial.to_storage(task_m, crs))


def _pair_areas(
    tasks_tree: shapely.STRtree,
    task_geoms: np.ndarray,
    geoms: np.ndarray,
    n_threads: int,
    circles: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(evidence position, task position, intersection area) for pairs with positive area.

    Candidate pairs come from the STRtree (tasks within the radius of a circle's centre,
    ``intersects`` for other evidence). Circles (``circles`` rows of centre x, y, radius,
    finite radius) are measured without any overlay: the exact area of a regular polygon of
    :func:`~minemap.risk._spatial.circles` intersected with a task has a closed form per task
    edge (:func:`~minemap.risk._spatial.circle_overlap_areas`, a compiled kernel). Other
    evidence goes through :func:`_polygon_pair_areas`.
    """
    if circles is None or not np.isfinite(circles[:, 2]).any():
        return _polygon_pair_areas(tasks_tree, task_geoms, geoms, n_threads)
    is_c = np.isfinite(circles[:, 2])
    cpos = np.flatnonzero(is_c)
    # bounding-box candidates: the closed form gives 0 to pairs that do not intersect, and an
    # exact "intersects" test per pair would cost more than measuring those (L footprints:
    # 356k box pairs, 292k intersecting; query 1.49 → 0.12 s, areas 4.83 → 5.70 s). A
    # "dwithin" query of the centres (290k pairs) did not pay either: 5.50 vs 5.30 CPU s for
    # query and areas together, the box pairs without overlap being mostly cheap far edges
    ev, task = _spatial.query_pairs(tasks_tree, geoms[cpos], predicate=None, n_threads=n_threads)
    c = circles[cpos]
    # chunks of 200k edges (default 400k): the lon/lat output is made beside this step, and
    # smaller chunks offset part of its memory (L peak ~2.66 → ~2.54 GB, same CPU)
    areas = _spatial.circle_overlap_areas(c[:, :2], c[:, 2], task_geoms, ev, task,
                                          n_threads=n_threads, max_edges=200_000)  # fmt: skip
    keep = areas > 1e-6
    ev, task, areas = cpos[ev[keep]], task[keep], areas[keep]
    if (~is_c).any():
        opos = np.flatnonzero(~is_c)
        e2, t2, a2 = _polygon_pair_areas(tasks_tree, task_geoms, geoms[opos], n_threads)
        ev = np.concatenate([ev, opos[e2]])
        task = np.concatenate([task, t2])
        areas = np.concatenate([areas, a2])
        order = np.lexsort((task, ev))
        ev, task, areas = ev[order], task[order], areas[order]
    return ev, task, areas


def _overlap_pairs(
    tasks_tree: shapely.STRtree, geoms: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """(evidence position, task position) of pairs whose interiors intersect.

    For polygons that is "overlap with positive area": the STRtree's ``intersects`` pairs that
    do not merely ``touch`` (intersects ∧ ¬touches ⇔ DE-9IM ``T********``). GEOS answers
    ``touches`` ~3× faster than the general ``relate_pattern`` (L: 0.40 vs 1.19 CPU s for
    124,612 hazard × task pairs, same result), which was itself ~3× cheaper than measuring
    the intersection (same pairs as ``area(intersection) > 1e-6 m²`` on the M benchmark).
    """
    ev, task = _spatial.query_pairs(tasks_tree, geoms, predicate="intersects", n_threads=n_threads)
    if len(ev) == 0:
        return ev, task
    task_geoms = tasks_tree.geometries
    touch = np.concatenate(
        _spatial.parallel_chunks(
            shapely.touches,
            geoms[ev],
            np.asarray(task_geoms)[task],
            n_threads=n_threads,
            min_chunk=2000,
        )
    )
    hit = ~touch
    return ev[hit], task[hit]


def _polygon_pair_areas(
    tasks_tree: shapely.STRtree,
    task_geoms: np.ndarray,
    geoms: np.ndarray,
    n_threads: int,
    circles: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(evidence position, task position, intersection area) for pairs with positive area.

    Overlays are computed only for candidate pairs from the STRtree, and not even for those
    where one side covers the other (prepared ``covers`` predicates, evaluated by STRtree
    queries): a task covering the evidence overlaps it by the evidence's area, evidence covering
    a task by the task's area.
    """
    ev, task = _spatial.query_pairs(tasks_tree, geoms, predicate="intersects", n_threads=n_threads)
    if len(ev) == 0:
        return ev, task, np.empty(0)
    n_t = len(task_geoms)
    inner, outer = geoms, None
    if circles is not None and np.isfinite(circles[:, 2]).any():
        is_c = np.isfinite(circles[:, 2])
        inner, outer = geoms.copy(), geoms.copy()
        c = circles[is_c]
        inner[is_c] = _spatial.circles(c[:, 0], c[:, 1], c[:, 2] * (1.0 - 1e-7))
        outer[is_c] = _spatial.circles(c[:, 0], c[:, 1], c[:, 2] * (1.0 + 1e-7))
    pair_key = ev.astype(np.int64) * n_t + task
    # task covers evidence → overlap = evidence area
    t_in, e_in = _spatial.query_pairs(
        shapely.STRtree(inner), task_geoms, predicate="covers", n_threads=n_threads
    )
    ev_inside = np.isin(pair_key, e_in.astype(np.int64) * n_t + t_in)
    # evidence covers task → overlap = task area
    e_out, t_out = _spatial.query_pairs(
        tasks_tree, outer if outer is not None else geoms, predicate="covers", n_threads=n_threads
    )
    task_inside = np.isin(pair_key, e_out.astype(np.int64) * n_t + t_out) & ~ev_inside
    areas = np.empty(len(ev))
    areas[ev_inside] = shapely.area(geoms[ev[ev_inside]])
    areas[task_inside] = shapely.area(task_geoms[task[task_inside]])
    cut = np.flatnonzero(~ev_inside & ~task_inside)
    if len(cut):
        areas[cut] = _spatial.intersection_area(
            geoms[ev[cut]], task_geoms[task[cut]], n_threads=n_threads
        )
    keep = areas > 1e-6
    return ev[keep], task[keep], areas[keep]


@_spatial.gc_paused
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
    crs: CRS | str | None = None,
    attribution: bool = False,
    prepared: PreparedTasks | None = None,
) -> gpd.GeoDataFrame:
    """Split the hazard surface into tasks and summarise the evidence of each.

    Parameters
    ----------
    surface : GeoDataFrame
        Output of :func:`~minemap.risk.surface.hazard_surface` (``component_id``, EPSG:4326).
        If it is that function's unchanged output (same frame, geometries not edited), the
        metric geometry it computed is cut directly; any other frame (a copy, a subset, one
        read back from a file) is reprojected, which moves vertices by sub-millimetre
        amounts (areas of small tasks then differ by up to ~1e-3 relative).
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
    crs : CRS, optional
        The equal-area CRS to cut in (default: :func:`~minemap.risk._spatial.equal_area_crs_for`
        the surface's bounds). Given when ``surface`` is part of a larger surface, so its
        tasks are cut exactly as in a run over the whole (:mod:`minemap.risk.task_cache`).
    attribution : bool
        Also return, in ``.attrs["casualty_task"]``, the row (position in the result) of
        the task each casualty is attributed to, aligned to ``casualties`` (-1: none).
    prepared : PreparedTasks, optional
        :func:`prepare_tasks` of these very frames, made beforehand (e.g. in a thread while
        the surface is computed): its parcel ids, order, tree, metric parcels and metric
        evidence are used instead of being computed here. Same result as without it.

    Returns
    -------
    GeoDataFrame
        One row per task, EPSG:4326, sorted by ``task_id``; columns listed in the module
        docstring. ``.attrs`` holds ``area_crs`` (WKT), ``as_of``,
        ``casualties_outside`` (incident ids not attributed to any task) and
        ``dropped_sliver_area_m2`` (and ``casualty_task`` if asked).

    Raises
    ------
    CRSError
        An input is not in EPSG:4326.
    ValueError
        ``max_task_size_m`` or ``half_life_days`` not positive; ``prepared`` made from
        other frames, or their geometries changed since.
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
    if crs is not None:
        crs = CRS.from_user_input(crs)
    else:
        crs = _spatial.equal_area_crs_for(surface.total_bounds if len(surface) else [np.nan] * 4)
    s4326 = np.asarray(surface.geometry.array, dtype=object)
    # the metric geometry hazard_surface computed, when this is its unchanged output (exact;
    # otherwise reprojected, which moves vertices by sub-millimetre amounts)
    sm = _spatial.recall_metric(surface.geometry.array, crs)
    if sm is None:
        sm = _valid(_spatial.project(s4326, STORAGE_CRS, crs))
    comp_ids = surface["component_id"].astype(str).to_numpy()

    if prepared is not None:
        _check_prepared(prepared, inputs)
    if prepared is not None and prepared.parcels is not None:
        all_ids, rank = prepared.parcels.ids, prepared.parcels.rank
    else:
        all_ids, rank = _parcel_ids(farmland)

    background = _Background(n_threads)
    try:
        return _make_tasks(
            background, surface, sm, s4326, comp_ids, all_ids, rank, crs, farmland, hazards,
            footprints, casualties, max_task_size_m, as_of, half_life_days, casualty_buffer_m,
            catalogue, min_piece_area_m2, n_threads, attribution, prepared,
        )  # fmt: skip
    finally:
        background.close()


def _make_tasks(
    background: _Background,
    surface: gpd.GeoDataFrame,
    sm: np.ndarray,
    s4326: np.ndarray,
    comp_ids: np.ndarray,
    all_ids: np.ndarray,
    rank: np.ndarray,
    crs: CRS,
    farmland: gpd.GeoDataFrame | None,
    hazards: gpd.GeoDataFrame | None,
    footprints: gpd.GeoDataFrame | None,
    casualties: gpd.GeoDataFrame | None,
    max_task_size_m: float,
    as_of: object,
    half_life_days: float,
    casualty_buffer_m: float | Mapping[str, float] | None,
    catalogue: MunitionCatalogue | None,
    min_piece_area_m2: float,
    n_threads: int,
    attribution: bool,
    prepared: PreparedTasks | None,
) -> gpd.GeoDataFrame:
    same_crs = prepared is not None and _spatial._crs_key(prepared.crs) == _spatial._crs_key(crs)
    split = _split_surface(
        sm, s4326, farmland, rank, crs, max_task_size_m, min_piece_area_m2, n_threads,
        None if prepared is None else prepared.parcels, same_crs,
    )  # fmt: skip
    if (
        same_crs
        and prepared.catalogue is catalogue
        and prepared.casualty_buffer_m == casualty_buffer_m
    ):
        evidence: Future = Future()
        evidence.set_result(prepared.evidence)
    else:
        # the evidence in metric form does not depend on the tasks: prepared while the task
        # frame is assembled (not during the cut, whose temporaries set the peak memory)
        evidence = background.submit(
            _metric_evidence, hazards, footprints, casualties, crs, casualty_buffer_m, catalogue
        )
    # GEOS overlay output is valid as a rule, but slivers along edges shared by different
    # sources can leave zero-width spikes after cutting: make such pieces valid (keeping the
    # polygonal part). Pieces checked during the cut (cells, parcels, clip pieces) are not
    # checked again (~0.9 CPU-s at L)
    task_m = split.geom.copy()
    redo = np.flatnonzero(~split.checked)
    if len(redo):
        task_m[redo] = _valid(split.geom[redo])
    # the lon/lat output (~3 CPU-s at L, mostly GIL-free) starts now, beside the task ids and
    # the summary; each geometry is projected on its own, so it is put in output order after
    output = background.submit(_output_geometry, task_m, crs)
    task_comp = split.comp
    is_parcel = split.parcel >= 0
    n_f, n_g = int(is_parcel.sum()), int((~is_parcel).sum())
    f_row = split.parcel[is_parcel]
    parcel_ids = all_ids[f_row] if n_f else np.empty(0, dtype=object)
    dropped = split.dropped_m2
    # (Python lists, not numpy scalars, in the string loops: ~2x faster at L, GIL-held)
    task_ids = np.empty(len(task_comp), dtype=object)
    task_ids[:n_f] = [
        c + "/p/" + p
        for c, p in zip(comp_ids[task_comp[:n_f]].tolist(), parcel_ids.tolist(), strict=True)
    ]
    task_ids[n_f:] = [
        f"{c}/g/{i}_{j}"
        for c, i, j in zip(
            comp_ids[task_comp[n_f:]].tolist(),
            split.cell_i[n_f:].tolist(),
            split.cell_j[n_f:].tolist(),
            strict=True,
        )
    ]
    kind = np.array(["parcel"] * n_f + ["grid"] * n_g, dtype=object)
    area = shapely.area(task_m) if len(task_m) else np.empty(0)
    order = np.argsort(task_ids.astype(str), kind="stable")  # output order, by task_id

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
    evidence = evidence.result()
    hazard_pairs = (
        background.submit(_overlap_pairs, tree, evidence.hm, n_threads)
        if evidence.hm is not None and n_t
        else None
    )
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

    if hazard_pairs is not None:
        ev, task = hazard_pairs.result()
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
    if evidence.fm is not None and n_t:
        fm, fcirc = evidence.fm, evidence.fcirc
        ok = ~shapely.is_missing(fm) & ~shapely.is_empty(fm)
        fpos = np.flatnonzero(ok)
        ev, task, inter = _pair_areas(tree, task_m, fm[ok], n_threads, circles=fcirc[ok])
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
    n_cas = 0 if casualties is None else len(casualties)
    attributed = np.full(n_cas, -1, dtype=np.intp)  # pre-sort task position per casualty
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
        present, circ, crad = evidence.cas_present, evidence.cas_circ, evidence.cas_crad
        where = _attribute_metric(tree, evidence.cas_pm)
        attributed = where
        cpos = np.flatnonzero(present)
        ev, task, inter = _pair_areas(tree, task_m, circ[present], n_threads, circles=crad[present])
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
        k_arr, i_arr, weighted = casualty_weights(
            casualties, as_of_ts, half_life_days=half_life_days
        )
        hit = where >= 0
        np.add.at(n_inc, where[hit], 1)
        np.add.at(killed, where[hit], k_arr[hit].astype(np.int64))
        np.add.at(injured, where[hit], i_arr[hit].astype(np.int64))
        np.add.at(recency, where[hit], weighted[hit])
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

    frame = frame.iloc[order].reset_index(drop=True)
    geoms = output.result()[order]
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)
    out.attrs.update(
        {
            "area_crs": crs.to_wkt(),
            "as_of": as_of_ts.isoformat(),
            "casualties_outside": outside,
            "dropped_sliver_area_m2": dropped,
        }
    )
    if attribution:
        position = np.empty(n_t, dtype=np.intp)
        position[order] = np.arange(n_t)
        row = np.full(n_cas, -1, dtype=np.intp)
        hit = attributed >= 0
        row[hit] = position[attributed[hit]]
        out.attrs["casualty_task"] = row
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
