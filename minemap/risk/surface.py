"""The hazard surface: evidence united per connected component, minus released land.

Evidence is every SHA/CHA hazard polygon, every strike footprint
(:func:`minemap.risk.footprints.strike_footprints`) and a circle around every casualty location.
The surface is built without ever forming one national union:

1. all evidence is projected once to an equal-area metric CRS
   (:func:`minemap.risk._spatial.equal_area_crs_for`, EPSG:3035 in Europe);
2. an STRtree over the evidence gives every pair whose boxes meet; two circles are decided
   from their centres and radii, every other pair by GEOS ``intersects`` (two threads);
3. the pairs form a sparse graph whose connected components (``scipy.sparse.csgraph``) are the
   evidence clusters — touching evidence belongs to the same component;
4. each component is united on its own (``shapely.union_all``, vectorised over components of
   the same size; a single polygon is used as is), so overlapping evidence is counted once;
5. released land (cleared / reduced / cancelled polygons) is subtracted from each component,
   using only the released polygons an STRtree says intersect it (a component covered by one
   of them is dropped without an overlay) — released land never reappears as hazard.

Casualty buffer radius by device type (:data:`CASUALTY_BUFFER_M`, minemap defaults — a
planner's judgement, configurable with ``casualty_buffer_m``):

============  ======  ==========================================================================
class         radius  matched when ``munition_type`` contains
============  ======  ==========================================================================
``AP``        50 m    anti-personnel mine words (PMN, PFM, POM, OZM, MON, "butterfly", ...)
``AT``        100 m   anti-tank mine words (TM-62, TM-57, "anti-tank", ...)
``CMR``       radius  a cluster munition of the catalogue (the munition's footprint radius)
``IED``       50 m    IED, booby trap, tripwire
``UXO``       50 m    shell, grenade, rocket, mortar, UXO, ERW
``unknown``   100 m   anything else, or no device reported
============  ======  ==========================================================================
"""

from __future__ import annotations

import hashlib
import operator
import re
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from minemap.geometry import require_storage_crs
from minemap.risk import _spatial
from minemap.risk.catalogue import MunitionCatalogue, load_catalogue
from minemap.risk.footprints import _metric_xy
from minemap.settings import STORAGE_CRS

__all__ = ["CASUALTY_BUFFER_M", "casualty_buffers", "hazard_surface", "update_surface"]

CASUALTY_BUFFER_M: dict[str, float] = {
    "AP": 50.0,
    "AT": 100.0,
    "IED": 50.0,
    "UXO": 50.0,
    "unknown": 100.0,
}
"""Buffer radius (m) around a casualty location by device class; ``CMR`` uses the catalogue."""

_DEVICE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "AT",
        re.compile(r"anti[- ]?tank|\bat[- ]?mine|\btm[- ]?\d|\bтм[- ]?\d|протитанк|противотанк"),
    ),
    (
        "AP",
        re.compile(
            r"anti[- ]?personnel|\bap[- ]?mine|\bpmn|\bpfm|\bpom[- ]?\d|\bozm|\bmon[- ]?\d|"
            r"butterfly|petal|\bпмн|\bпфм|\bпом|\bозм|\bмон[- ]?\d|пелюстк|лепест|протипіхот|"
            r"противопехот"
        ),
    ),
    ("IED", re.compile(r"\bied\b|booby|trip[- ]?wire|розтяжк|растяжк|свп|сву")),
    (
        "UXO",
        re.compile(
            r"\buxo\b|\berw\b|shell|grenade|rocket|mortar|projectile|bomb|снаряд|гранат|"
            r"ракет|міна|мина|вор|внп"
        ),
    ),
)

SURFACE_COLUMNS = (
    "component_id",
    "area_m2",
    "evidence_area_m2",
    "released_area_m2",
    "n_evidence",
    "n_cha",
    "n_sha",
    "n_strikes",
    "n_casualties",
)


def casualty_buffers(
    casualties: gpd.GeoDataFrame,
    *,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
) -> pd.DataFrame:
    """Device class and buffer radius of each casualty location.

    Parameters
    ----------
    casualties : GeoDataFrame
        Canonical ``casualties`` layer (``munition_type`` optional).
    casualty_buffer_m : float or mapping, optional
        One radius for every incident, or radii by class overriding :data:`CASUALTY_BUFFER_M`
        (a ``"CMR"`` key overrides the catalogue's footprint radius).
    catalogue : MunitionCatalogue, optional

    Returns
    -------
    DataFrame
        Aligned to ``casualties.index``: ``device_class`` and ``buffer_radius_m``.
    """
    cat = catalogue or load_catalogue()
    if "munition_type" in casualties.columns:
        texts = casualties["munition_type"].astype(object)
    else:
        texts = pd.Series(None, index=casualties.index, dtype=object)
    radii = dict(CASUALTY_BUFFER_M)
    uniform: float | None = None
    if isinstance(casualty_buffer_m, Mapping):
        radii.update({k: float(v) for k, v in casualty_buffer_m.items()})
    elif casualty_buffer_m is not None:
        uniform = float(casualty_buffer_m)
    cache: dict[object, tuple[str, float]] = {}
    classes: list[str] = []
    values: list[float] = []
    for text in texts:
        key = None if text is None or (not isinstance(text, str) and pd.isna(text)) else text
        if key not in cache:
            cls, radius = "unknown", radii["unknown"]
            if key is not None:
                entry = cat.match(key)
                low = str(key).lower()
                if entry is not None and entry.cluster:
                    cls, radius = "CMR", radii.get("CMR", entry.footprint_radius_m)
                else:
                    for name, pattern in _DEVICE_PATTERNS:
                        if pattern.search(low):
                            cls, radius = name, radii[name]
                            break
            cache[key] = (cls, radius)
        cls, radius = cache[key]
        classes.append(cls)
        values.append(uniform if uniform is not None else radius)
    radius_arr = np.asarray(values, dtype="float64")
    if (radius_arr <= 0).any() or not np.isfinite(radius_arr).all():
        raise ValueError("casualty buffer radii must be positive numbers of metres")
    return pd.DataFrame(
        {"device_class": classes, "buffer_radius_m": radius_arr}, index=casualties.index
    )


def _ids(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    if column in frame.columns:
        ids = frame[column].astype(object).to_numpy()
        missing = pd.isna(ids)
        if not missing.any():
            return ids.astype(str)
        fallback = np.array([f"#{i}" for i in frame.index], dtype=object)
        return np.where(missing, fallback, ids).astype(str)
    return np.array([f"#{i}" for i in frame.index], dtype=object).astype(str)


def _valid(geoms: np.ndarray, *, n_threads: int = _spatial.N_THREADS) -> np.ndarray:
    """Make invalid polygons valid (keeping their polygonal part).

    Most invalid shapes met here are sub-millimetre self-intersections left by reprojection;
    ``buffer(0)`` repairs those an order of magnitude faster than ``make_valid``. It is only
    accepted when it keeps the area (1e-6 relative); otherwise (e.g. a bow-tie, where
    ``buffer(0)`` would drop a lobe) ``make_valid`` is used.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    # is_valid is a pure GEOS predicate that releases the GIL: check chunks on both threads
    valid = np.concatenate(
        _spatial.parallel_chunks(shapely.is_valid, geoms, n_threads=n_threads, min_chunk=5000)
    )
    bad = ~valid & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        src = geoms[bad]
        fixed = shapely.buffer(src, 0.0)
        before, after = shapely.area(src), shapely.area(fixed)
        ok = np.abs(after - before) <= 1e-6 * np.maximum(before, after) + 1e-12
        ok &= shapely.is_valid(fixed)
        if (~ok).any():
            fixed[~ok] = [
                g if g.geom_type in ("Polygon", "MultiPolygon") else _polygonal(g)
                for g in shapely.make_valid(src[~ok])
            ]
        geoms[bad] = fixed
    return geoms


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polys) if len(polys) else shapely.Polygon()


def _union(geoms: np.ndarray) -> shapely.Geometry:
    if len(geoms) == 1:
        return geoms[0]
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:  # rare robustness failure: snap to a 1 cm grid
        return shapely.union_all(shapely.make_valid(geoms), grid_size=0.01)


def _difference(geom: shapely.Geometry, cut: shapely.Geometry) -> shapely.Geometry:
    try:
        out = shapely.difference(geom, cut)
    except shapely.errors.GEOSException:
        out = shapely.difference(geom, cut, grid_size=0.01)
    if out.geom_type not in ("Polygon", "MultiPolygon"):
        out = _polygonal(out)
    return out


def _balanced_split(weights: np.ndarray, n: int) -> list[np.ndarray]:
    """Split positions 0..len-1 into ``n`` contiguous runs of about equal total weight."""
    if n <= 1 or len(weights) < 2:
        return [np.arange(len(weights))]
    cum = np.cumsum(weights, dtype="float64")
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n) / n)
    return [p for p in np.split(np.arange(len(weights)), cuts) if len(p)]


def _run_pieces(work, pieces: list, n_threads: int) -> None:
    """Run ``work(piece)`` for every piece; over a thread pool when there is more than one
    piece (the pool hands the next piece to whichever thread is free, so uneven pieces and a
    busy core balance themselves)."""
    if n_threads <= 1 or len(pieces) < 2:
        for piece in pieces:
            work(piece)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(work, pieces))


def _pieces_by_size(
    sizes: np.ndarray, weights: np.ndarray, n_threads: int, *, per_thread: int = 8
) -> list[np.ndarray]:
    """Positions with ``sizes >= 2`` cut into pieces of equal size and about equal weight:
    each piece is one vectorised call on a (rows, size) array, ~``per_thread`` per thread."""
    multi = np.flatnonzero(sizes >= 2)
    if len(multi) == 0:
        return []
    multi = multi[np.argsort(sizes[multi], kind="stable")]
    target = max(weights[multi].sum() / max(1, n_threads * per_thread), 1.0)
    pieces: list[np.ndarray] = []
    bounds = np.flatnonzero(np.diff(sizes[multi])) + 1
    for run in np.split(multi, bounds):
        cum = np.cumsum(weights[run], dtype="float64")
        cuts = np.searchsorted(cum, np.arange(target, cum[-1], target), side="right")
        pieces.extend(p for p in np.split(run, np.unique(cuts)) if len(p))
    return pieces


def _union_rows(rows: np.ndarray) -> np.ndarray:
    """``union_all`` of each row of a 2-D object array of geometries (one vectorised GEOS
    call, same result as one ``union_all`` per row); rows that raise a GEOS topology error
    are redone alone through :func:`_union`'s grid-snapping fallback."""
    try:
        return shapely.union_all(rows, axis=1)
    except shapely.errors.GEOSException:
        return np.array([_union(r) for r in rows], dtype=object)


def union_groups(
    geoms: np.ndarray, labels: np.ndarray, *, n_threads: int = _spatial.N_THREADS
) -> np.ndarray:
    """Union of ``geoms`` per label (0..k-1), in label order, over ``n_threads`` threads.

    A group of one geometry is that geometry. Groups of the same size *k* are united together
    by one vectorised ``union_all(axis=1)`` on their (groups, k) member array — identical to
    one ``union_all`` per group, without a Python call per group — in pieces of about equal
    vertex count spread over the threads.
    """
    n_groups = int(labels.max()) + 1 if len(labels) else 0
    order, offsets = _spatial.group_indices(labels)
    sizes = np.diff(offsets)
    out = np.empty(n_groups, dtype=object)
    single = sizes == 1
    out[single] = geoms[order[offsets[:-1][single]]]
    nverts = shapely.get_num_coordinates(geoms)
    cum = np.concatenate([[0], np.cumsum(nverts[order])])
    weights = (cum[offsets[1:]] - cum[offsets[:-1]]).astype("float64")

    def work(groups: np.ndarray) -> None:
        k = int(sizes[groups[0]])
        members = order[offsets[groups][:, None] + np.arange(k)[None, :]]
        out[groups] = _union_rows(geoms[members])

    nt = n_threads if n_groups > 64 else 1  # a thread pool is not worth it for a few groups
    _run_pieces(work, _pieces_by_size(sizes, weights, nt), nt)
    return out


def _difference_many(geoms: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Pairwise :func:`_difference` in one vectorised call (same result), polygonal output."""
    try:
        out = shapely.difference(geoms, cuts)
    except shapely.errors.GEOSException:
        return np.array([_difference(g, c) for g, c in zip(geoms, cuts, strict=True)],
                        dtype=object)  # fmt: skip
    odd = np.flatnonzero(~np.isin(shapely.get_type_id(out), (3, 6)))
    for i in odd:
        out[i] = _polygonal(out[i])
    return out


_KERNEL_QUERY_MIN = 20_000  # components: smaller surfaces keep GEOS's predicate


def subtract_released(
    geoms: np.ndarray,
    released: np.ndarray,
    *,
    n_threads: int = _spatial.N_THREADS,
    finish: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> np.ndarray:
    """``geoms[i]`` minus the union of the released polygons that intersect it.

    Fast path: a geometry covered by one released polygon becomes empty (no union, no
    overlay). The other geometries' released candidates are united per geometry (one
    vectorised ``union_all(axis=1)`` per candidate count; a single candidate is used as is)
    and subtracted by vectorised ``difference`` calls, in pieces over the threads.

    ``finish``, if given, is called as ``finish(pos, out[pos])`` on the calling thread for
    every position of ``geoms`` (in pieces; ``pos`` an increasing array of positions) as
    soon as ``out[pos]`` is final, while the worker threads carry on with the overlays: the
    follow-up work (e.g. back to lon/lat, GIL-bound in part) overlaps them instead of
    waiting for all of them, and runs where the caller's per-thread state (pyproj
    transformers, ~70 ms to create in each new thread) already is.
    """
    out = geoms.copy()
    nt = n_threads if len(geoms) > 64 else 1  # a thread pool is not worth it for a few
    if len(released) == 0 or len(geoms) == 0:
        _finish_pieces(out, finish, np.arange(len(geoms)), [], nt)
        return out
    tree = shapely.STRtree(released)
    if len(geoms) >= _KERNEL_QUERY_MIN:
        # the tree's box pairs decided by the compiled test (the same pairs in the same order
        # as GEOS's predicate; L: 0.49 → 0.37 CPU s); below this size numba is not imported
        from minemap.risk import _query_kernels

        left, right = _query_kernels.query_pairs(tree, geoms, n_threads=n_threads)
    else:
        left, right = _spatial.query_pairs(tree, geoms, predicate="intersects", n_threads=n_threads)
    # a released polygon that covers the whole geometry: nothing of it remains
    covered = np.zeros(len(geoms), dtype=bool)
    if len(left):
        cov = np.concatenate(
            _spatial.parallel_chunks(
                shapely.covers, released[right], geoms[left], n_threads=n_threads,
                min_chunk=5000,
            )
        )  # fmt: skip
        covered[left[cov]] = True
    out[covered] = shapely.Polygon()
    keep = ~covered[left]
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    targets, starts = np.unique(left, return_index=True)
    counts = np.diff(np.append(starts, len(left)))
    nverts = shapely.get_num_coordinates(geoms[targets]).astype("float64")
    rel_verts = shapely.get_num_coordinates(released)[right]
    cum = np.concatenate([[0], np.cumsum(rel_verts)])
    weights = nverts + (cum[starts + counts] - cum[starts])
    # one piece = targets with the same candidate count: unite their candidates (one
    # vectorised union_all(axis=1)) and subtract at once, no barrier between the two steps
    pieces = _pieces_by_size(counts, weights, nt)
    one = np.flatnonzero(counts == 1)
    pieces += [one[p] for p in _balanced_split(weights[one], nt * 8)] if len(one) else []

    def subtract(pos: np.ndarray) -> np.ndarray:
        k = int(counts[pos[0]])
        if k == 1:
            cuts = released[right[starts[pos]]]
        else:
            cuts = _union_rows(released[right[starts[pos][:, None] + np.arange(k)[None, :]]])
        out[targets[pos]] = _difference_many(geoms[targets[pos]], cuts)
        return targets[pos]

    untouched = np.ones(len(geoms), dtype=bool)
    untouched[targets] = False
    _finish_pieces(out, finish, np.flatnonzero(untouched), [(subtract, p) for p in pieces], nt)
    return out


def _finish_pieces(
    out: np.ndarray,
    finish: Callable[[np.ndarray, np.ndarray], None] | None,
    rest: np.ndarray,
    jobs: list[tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]],
    n_threads: int,
) -> None:
    """Run ``jobs`` (``func(arg)`` returning the positions of ``out`` it made final) on the
    worker threads and ``finish`` on the calling thread: first on the positions ``rest``
    (final already), then on each job's positions as it completes."""
    if n_threads <= 1 or len(jobs) < 2 or finish is None:
        _run_pieces(lambda job: job[0](job[1]), jobs, n_threads)
        if finish is not None and len(out):
            finish(np.arange(len(out)), out)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(func, arg) for func, arg in jobs]
        for part in np.array_split(rest, max(1, len(rest) // 4096)):
            if len(part):
                finish(part, out[part])
        for future in as_completed(futures):
            pos = np.sort(future.result())
            finish(pos, out[pos])


_FOOTPRINTS_METRIC: dict[
    int, tuple[weakref.ref, np.ndarray, np.ndarray, str, np.ndarray, np.ndarray]
] = {}
"""Metric footprints computed per footprint GeometryArray (see :func:`_footprints_metric`)."""


def _footprints_metric(
    footprints: gpd.GeoDataFrame, crs: CRS, *, with_circles: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Footprints in the metric CRS. Circles (finite ``footprint_radius_m``) are redrawn from
    their centre (projecting 2 numbers instead of 33 vertices); mapped polygons are projected.

    With ``with_circles`` also returns an (n, 3) array of centre x, y and radius (NaN for
    mapped polygons).

    The result is remembered for the footprints' GeometryArray (until it is freed), so the
    surface and the tasks of one run compute it once; it is reused only for that very array
    with the same geometry objects in the same order, the same radii and the same CRS (the
    same inputs, hence the same numbers) — anything else is computed afresh.
    """
    array = footprints.geometry.array
    geoms = np.asarray(array, dtype=object)
    if "footprint_radius_m" in footprints.columns:
        radius = footprints["footprint_radius_m"].to_numpy(dtype="float64", na_value=np.nan)
    else:
        radius = np.full(len(geoms), np.nan)
    key = _spatial._crs_key(crs)
    entry = _FOOTPRINTS_METRIC.get(id(array))
    if (
        entry is not None
        and entry[0]() is array
        and entry[3] == key
        and len(entry[1]) == len(geoms)
        and all(map(operator.is_, geoms, entry[1]))
        and np.array_equal(entry[2], radius, equal_nan=True)
    ):
        out, circ = entry[4].copy(), entry[5].copy()
        return (out, circ) if with_circles else out
    out = np.empty(len(geoms), dtype=object)
    circ = np.full((len(geoms), 3), np.nan)
    circle = np.isfinite(radius) & ~shapely.is_missing(geoms)
    if circle.any():
        # centroid is GEOS work that releases the GIL: both threads (pure, same points)
        centres = _spatial.parallel_chunks(shapely.centroid, geoms[circle], min_chunk=20_000)
        xy = _metric_xy(np.concatenate(centres), crs)
        out[circle] = _spatial.circles(xy[:, 0], xy[:, 1], radius[circle])
        circ[circle] = np.column_stack([xy, radius[circle]])
    if (~circle).any():
        out[~circle] = _spatial.project(geoms[~circle], STORAGE_CRS, crs)
    try:
        ident = id(array)
        ref = weakref.ref(array, lambda _r, k=ident: _FOOTPRINTS_METRIC.pop(k, None))
    except TypeError:  # not weak-referenceable: nothing remembered
        pass
    else:
        _FOOTPRINTS_METRIC[ident] = (
            ref,
            geoms.copy(),
            radius.copy(),
            key,
            out.copy(),
            circ.copy(),
        )  # copies: a view of the frame's column would follow in-place edits
    return (out, circ) if with_circles else out


def _evidence(
    hazards: gpd.GeoDataFrame | None,
    footprints: gpd.GeoDataFrame | None,
    casualties: gpd.GeoDataFrame | None,
    crs: CRS,
    casualty_buffer_m: float | Mapping[str, float] | None,
    catalogue: MunitionCatalogue | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(metric geometries, kind, key, circle) of all evidence.

    ``circle`` is an (n, 3) array of centre x, y and radius for the circles drawn here
    (footprints of strike points, casualty buffers; NaN for polygons). Those circles are
    valid by construction, so only the projected polygons go through :func:`_valid`.
    """
    geoms, kinds, keys, circs = [], [], [], []
    if hazards is not None and len(hazards):
        g = _spatial.project(np.asarray(hazards.geometry.array, dtype=object), STORAGE_CRS, crs)
        if "hazard_type" in hazards.columns:
            kind = hazards["hazard_type"].astype(object).fillna("SHA").to_numpy()
            kind = np.where(kind == "CHA", "CHA", "SHA")
        else:
            kind = np.full(len(hazards), "SHA", dtype=object)
        geoms.append(g)
        circs.append(np.full((len(g), 3), np.nan))
        kinds.append(kind.astype(object))
        keys.append(np.char.add("hazard:", _ids(hazards, "hazard_id").astype(str)).astype(object))
    if footprints is not None and len(footprints):
        fm, fcirc = _footprints_metric(footprints, crs, with_circles=True)
        geoms.append(fm)
        circs.append(fcirc)
        kinds.append(np.full(len(footprints), "strike", dtype=object))
        keys.append(
            np.char.add("strike:", _ids(footprints, "strike_id").astype(str)).astype(object)
        )
    if casualties is not None and len(casualties):
        buf = casualty_buffers(casualties, casualty_buffer_m=casualty_buffer_m, catalogue=catalogue)
        pts = np.asarray(casualties.geometry.array, dtype=object)
        ok = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
        g = np.full(len(pts), None, dtype=object)
        circ = np.full((len(pts), 3), np.nan)
        if ok.any():
            xy = _metric_xy(pts[ok], crs)
            radius = buf["buffer_radius_m"].to_numpy()[ok]
            g[ok] = _spatial.circles(xy[:, 0], xy[:, 1], radius)
            circ[ok] = np.column_stack([xy, radius])
        geoms.append(g)
        circs.append(circ)
        kinds.append(np.full(len(casualties), "casualty", dtype=object))
        keys.append(
            np.char.add("casualty:", _ids(casualties, "incident_id").astype(str)).astype(object)
        )
    if not geoms:
        empty = np.empty(0, dtype=object)
        return empty, empty, empty, np.empty((0, 3))
    g = np.concatenate(geoms)
    k = np.concatenate(kinds)
    key = np.concatenate(keys)
    circ = np.concatenate(circs)
    keep = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    g, k, key, circ = g[keep], k[keep], key[keep], circ[keep]
    # a circle of (almost) zero radius could be degenerate: validate it like a polygon
    drawn = circ[:, 2] >= _MIN_CIRCLE_RADIUS_M
    circ[~drawn] = np.nan
    if (~drawn).any():
        g = g.copy()
        g[~drawn] = _valid(g[~drawn])
    return g, k, key, circ


_MIN_CIRCLE_RADIUS_M = 1e-3
"""Circles at least this large are drawn valid and take the closed-form overlap tests."""
_SEGMENTS = 32  # vertices of the circles of _spatial.circles (its default)


def _intersecting_pairs(
    geoms: np.ndarray, circ: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pairs ``i < j`` of intersecting evidence (the edges of the evidence graph).

    One STRtree bounding-box query, then: two circles (regular ``_SEGMENTS``-gons) whose
    centres are nearer than the sum of their inscribed radii certainly intersect, and farther
    than the sum of their radii certainly do not (both with a 1e-9 relative margin for
    rounding); every other pair is tested exactly by GEOS ``intersects``, on both threads.
    Gives the same pairs as ``query(predicate="intersects")`` in a third of its time.
    """
    tree = shapely.STRtree(geoms)
    left, right = _spatial.query_pairs(tree, geoms, predicate=None, n_threads=n_threads)
    upper = left < right
    left, right = left[upper], right[upper]
    ca, cb = circ[left], circ[right]
    dist = np.hypot(ca[:, 0] - cb[:, 0], ca[:, 1] - cb[:, 1])
    reach = ca[:, 2] + cb[:, 2]  # NaN unless both are circles: neither shortcut applies
    sure = dist <= reach * (np.cos(np.pi / _SEGMENTS) * (1.0 - 1e-9))
    never = dist >= reach * (1.0 + 1e-9)
    test = np.flatnonzero(~sure & ~never)
    hit = sure
    if len(test):
        hit[test] = np.concatenate(
            _spatial.parallel_chunks(
                shapely.intersects, geoms[left[test]], geoms[right[test]],
                n_threads=n_threads, min_chunk=5000,
            )
        )  # fmt: skip
    return left[hit], right[hit]


def _covered_members(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, n_threads: int
) -> np.ndarray:
    """Evidence covered by another member of its component (it adds nothing to the union).

    Of geometries covering each other (equal), the one with the smallest index is kept, so
    every component keeps at least one member."""
    box = shapely.bounds(geoms)
    bl, br = box[left], box[right]
    l_in_r = (bl[:, :2] >= br[:, :2]).all(axis=1) & (bl[:, 2:] <= br[:, 2:]).all(axis=1)
    r_in_l = (br[:, :2] >= bl[:, :2]).all(axis=1) & (br[:, 2:] <= bl[:, 2:]).all(axis=1)
    out = np.zeros(len(geoms), dtype=bool)
    # candidate (outer, inner) pairs: the inner box lies in the outer box
    outer = np.concatenate([left[r_in_l], right[l_in_r]])
    inner = np.concatenate([right[r_in_l], left[l_in_r]])
    if len(outer) == 0:
        return out
    cov = np.concatenate(
        _spatial.parallel_chunks(
            shapely.covers, geoms[outer], geoms[inner], n_threads=n_threads, min_chunk=5000
        )
    )
    outer, inner = outer[cov], inner[cov]
    mutual = set(zip(inner.tolist(), outer.tolist(), strict=True))
    drop = [i for o, i in zip(outer.tolist(), inner.tolist(), strict=True)
            if o < i or (o, i) not in mutual]  # fmt: skip
    out[drop] = True
    return out


def _component_ids(keys: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Component id of every label: ``"C"`` + the first 12 hex digits of the SHA-1 of the
    label's member keys, sorted (code-point order, one numpy sort for all labels) and joined
    by newlines."""
    text = keys.astype(str)
    by_key = np.argsort(text, kind="stable")
    ordered = text[by_key[np.argsort(labels[by_key], kind="stable")]].tolist()
    counts = np.bincount(labels, minlength=n_groups).tolist()
    sha1 = hashlib.sha1  # an identifier, not security
    out = np.empty(n_groups, dtype=object)
    pos = 0
    for g, c in enumerate(counts):
        joined = ordered[pos] if c == 1 else "\n".join(ordered[pos : pos + c])
        out[g] = "C" + sha1(joined.encode("utf-8")).hexdigest()[:12]
        pos += c
    return out


def _all_bounds(frames: list[gpd.GeoDataFrame | None]) -> np.ndarray:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return np.array([np.nan] * 4)
    b = np.vstack(boxes)
    return np.array(
        [np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])]
    )


@_spatial.gc_paused
def hazard_surface(
    *,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    released: gpd.GeoDataFrame | None = None,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
    n_threads: int = _spatial.N_THREADS,
) -> gpd.GeoDataFrame:
    """Connected components of the evidence, united, minus released land.

    Parameters
    ----------
    hazards : GeoDataFrame, optional
        Canonical ``hazards`` layer (SHA/CHA polygons), EPSG:4326.
    footprints : GeoDataFrame, optional
        Output of :func:`~minemap.risk.footprints.strike_footprints`.
    casualties : GeoDataFrame, optional
        Canonical ``casualties`` layer (points); each becomes a circle (see module docstring).
    released : GeoDataFrame, optional
        Canonical ``cleared`` layer (released land: cleared/reduced/cancelled polygons).
    casualty_buffer_m : float or mapping, optional
        Radius for every casualty, or radii by device class (see :func:`casualty_buffers`).
    catalogue : MunitionCatalogue, optional
        For classifying casualty devices as cluster munitions.
    n_threads : int
        Threads for the vectorised shapely work (default 2).

    Returns
    -------
    GeoDataFrame
        One row per connected component that still has hazard area after release, EPSG:4326,
        sorted by ``component_id``; columns ``component_id`` (``"C"`` + 12 hex digits of the
        SHA-1 of the sorted member keys such as ``"hazard:H1"``: the same evidence gives the same
        id in every run), ``area_m2`` (after release), ``evidence_area_m2`` (before release),
        ``released_area_m2``, ``n_evidence``, ``n_cha``, ``n_sha``, ``n_strikes``,
        ``n_casualties`` and ``geometry`` (Polygon or MultiPolygon). The metric CRS used is in
        ``.attrs["area_crs"]`` (WKT).

    Raises
    ------
    CRSError
        An input is not in EPSG:4326.
    """
    named = {"hazards": hazards, "footprints": footprints, "casualties": casualties}
    for name, frame in {**named, "released": released}.items():
        if frame is not None:
            require_storage_crs(frame, what=f"{name} layer")
    crs = _spatial.equal_area_crs_for(_all_bounds([hazards, footprints, casualties, released]))
    geoms, kinds, keys, circ = _evidence(
        hazards, footprints, casualties, crs, casualty_buffer_m, catalogue
    )
    if len(geoms) == 0:
        return _empty_surface(crs)

    return _components(geoms, kinds, keys, circ, released, crs, n_threads)


def _components(
    geoms: np.ndarray,
    kinds: np.ndarray,
    keys: np.ndarray,
    circ: np.ndarray,
    released: gpd.GeoDataFrame | None,
    crs: CRS,
    n_threads: int,
) -> gpd.GeoDataFrame:
    """Connected components of metric evidence, united, minus released land (4326 frame).

    With more than one thread, the GIL-bound steps that do not need the union (released
    land projected and validated, component ids) run on this thread while the union's GEOS
    work (which releases the GIL) runs on the workers, and each component is brought back
    to lon/lat and validated here as soon as its overlays are done, while the workers go on
    with the others. Same result as one step after the other.
    """
    if len(geoms) == 0:
        return _empty_surface(crs)
    left, right = _intersecting_pairs(geoms, circ, n_threads)
    labels = _spatial.connected_components(len(geoms), left, right)
    n_groups = int(labels.max()) + 1
    inner = _covered_members(geoms, left, right, n_threads)
    key = _spatial._crs_key(crs)
    area = np.zeros(n_groups)
    storage = np.empty(n_groups, dtype=object)

    def finish(pos: np.ndarray, done: np.ndarray) -> None:
        a = shapely.area(done)
        area[pos] = a
        live = a > 0.0
        if live.any():
            lonlat = _project_serial(done[live], key, STORAGE_CRS)
            storage[pos[live]] = _valid(lonlat, n_threads=1)

    with _SideThread(n_threads > 1) as side:
        # the union (GEOS, GIL released) coordinated from a side thread; meanwhile this
        # thread does the GIL-bound steps that do not need it
        union_job = side.submit(union_groups, geoms[~inner], labels[~inner], n_threads=n_threads)
        rel = _released_metric(released, crs)
        comp_ids = _component_ids(keys, labels, n_groups)
        united = union_job.result()
        evidence_job = side.submit(shapely.area, united)
        remaining = subtract_released(united, rel, n_threads=n_threads, finish=finish)
        evidence_area = evidence_job.result()

    n_members = np.bincount(labels, minlength=n_groups)
    counts = {k: np.zeros(n_groups, dtype=np.int64) for k in ("CHA", "SHA", "strike", "casualty")}
    for kind, arr in counts.items():
        np.add.at(arr, labels[kinds == kind], 1)

    keep = area > 0.0
    frame = pd.DataFrame(
        {
            "component_id": comp_ids[keep],
            "area_m2": area[keep],
            "evidence_area_m2": evidence_area[keep],
            "released_area_m2": evidence_area[keep] - area[keep],
            "n_evidence": n_members[keep],
            "n_cha": counts["CHA"][keep],
            "n_sha": counts["SHA"][keep],
            "n_strikes": counts["strike"][keep],
            "n_casualties": counts["casualty"][keep],
        }
    )
    metric = remaining[keep]
    sort = np.argsort(frame["component_id"].to_numpy(dtype=str), kind="stable")
    frame = frame.iloc[sort].reset_index(drop=True)
    metric = metric[sort]
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(storage[keep][sort], crs=STORAGE_CRS))
    out.attrs["area_crs"] = crs.to_wkt()
    # hand the metric geometry over to make_tasks (no lossy reprojection back, see _spatial)
    _spatial.remember_metric(out.geometry.array, metric, crs)
    return out


class _SideThread:
    """One extra thread for GIL-bound side work that overlaps the GEOS work of the pool
    threads; with ``enabled`` False every job runs at once in the calling thread."""

    def __init__(self, enabled: bool) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1) if enabled else None

    def submit(self, func: Callable[..., object], *args: object, **kwargs: object) -> Future:
        if self._pool is not None:
            return self._pool.submit(func, *args, **kwargs)
        job: Future = Future()
        try:
            job.set_result(func(*args, **kwargs))
        except BaseException as exc:  # re-raised by .result(), as from a thread
            job.set_exception(exc)
        return job

    def __enter__(self) -> _SideThread:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _project_serial(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    """:func:`minemap.risk._spatial.project` in the calling thread (the same numbers: each
    vertex is transformed on its own)."""
    if len(geoms) == 0:
        return geoms
    return shapely.transform(geoms, _spatial._transformer(src, dst).transform_xy)


def _released_metric(released: gpd.GeoDataFrame | None, crs: CRS) -> np.ndarray:
    """Released land in the metric ``crs``, valid, without missing or empty geometries."""
    if released is None or len(released) == 0:
        return np.empty(0, dtype=object)
    rel = np.asarray(released.geometry.array, dtype=object)
    rel = rel[~shapely.is_missing(rel) & ~shapely.is_empty(rel)]
    rel = _project_serial(rel, STORAGE_CRS, _spatial._crs_key(crs))
    rel = rel[~shapely.is_missing(rel) & ~shapely.is_empty(rel)]
    return _valid(rel, n_threads=1)


@_spatial.gc_paused
def update_surface(
    previous: gpd.GeoDataFrame,
    *,
    changed: gpd.GeoSeries | gpd.GeoDataFrame,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    released: gpd.GeoDataFrame | None = None,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
    n_threads: int = _spatial.N_THREADS,
) -> gpd.GeoDataFrame:
    """Recompute only the components a change touches (e.g. one day's uploads or an undo).

    Gives the same frame as :func:`hazard_surface` on the current layers, but only the
    evidence connected to a change is united again:

    1. seeds = current evidence intersecting a ``changed`` geometry;
    2. the seeds' connected components are found by growing through the STRtree (only the
       affected part of the evidence graph is visited);
    3. those components are united and released land is subtracted as in
       :func:`hazard_surface`;
    4. which rows of ``previous`` are stale is decided by **membership**, not by geometry:
       a row's ``component_id`` is the hash of its members' keys, so a row is kept only if
       its member set is still a whole component of the unaffected evidence. The rows
       tested are those whose lon/lat box comes near the change (a superset of the stale
       ones: a row lies inside its members' evidence); their possible members are named
       again like :func:`hazard_surface` names them. A component found there without a
       previous row is recomputed too. An exact geometric test of the old rows would miss
       a component cut by released land to a sliver that the lon/lat round trip moved off
       its evidence, and keep it beside its successor (hazard counted twice).

    The record keys (``hazard_id``, ``strike_id``, ``incident_id``; the frame index where
    they are missing) must name the same records in ``previous``'s layers and the current
    ones, and a record whose geometry changed must be in ``changed`` (old and new
    geometry), as for any removed or added record.

    Parameters
    ----------
    previous : GeoDataFrame
        The surface computed before the change (output of :func:`hazard_surface`).
    changed : GeoSeries or GeoDataFrame
        Geometries (EPSG:4326) of every record added or removed since, in any layer —
        evidence (for a strike: its footprint) or released land.
    hazards, footprints, casualties, released : GeoDataFrame, optional
        The **current** layers (after the change).
    casualty_buffer_m, catalogue, n_threads
        As for :func:`hazard_surface` (use the same values as for ``previous``).

    Returns
    -------
    GeoDataFrame
        Same columns and order as :func:`hazard_surface`.
    """
    named = {"hazards": hazards, "footprints": footprints, "casualties": casualties}
    for name, frame in {**named, "released": released, "previous surface": previous,
                        "changed": changed}.items():  # fmt: skip
        if frame is not None:
            require_storage_crs(frame, what=f"{name} layer")
    crs = _spatial.equal_area_crs_for(_all_bounds([hazards, footprints, casualties, released]))
    geoms, kinds, keys, circ = _evidence(
        hazards, footprints, casualties, crs, casualty_buffer_m, catalogue
    )
    changed_m = _spatial.project(np.asarray(changed.geometry.array, dtype=object), STORAGE_CRS, crs)
    changed_m = _valid(changed_m[~shapely.is_missing(changed_m)])
    tree = shapely.STRtree(geoms) if len(geoms) else None
    affected = np.zeros(len(geoms), dtype=bool)
    if tree is not None and len(changed_m):
        affected[np.unique(tree.query(changed_m, predicate="intersects")[1])] = True
        affected = _grow(tree, geoms, affected)
    prev_geoms = np.asarray(previous.geometry.array, dtype=object)
    prev_ids = previous["component_id"].to_numpy(dtype=str)
    stale = np.zeros(len(previous), dtype=bool)
    if len(previous):
        # rows that may be stale: a superset, by lon/lat boxes only
        cand = _rows_near(prev_geoms, np.concatenate([changed_m, geoms[affected]]), crs)
        if len(cand):
            # the unaffected evidence that may be a member of a candidate row, grown to
            # whole components (they stay outside the affected set, which is closed)
            near = np.zeros(len(geoms), dtype=bool)
            if tree is not None:
                near[_evidence_near_rows(tree, prev_geoms[cand], crs)] = True
                near &= ~affected
                near = _grow(tree, geoms, near)
            around = np.flatnonzero(near)
            around_ids = _member_component_ids(geoms[around], keys[around], circ[around], n_threads)
            # a candidate is kept only if its exact member set is still a component
            # (hash-based membership tests: numpy's isin sorts strings, 10x slower here)
            found = set(around_ids.tolist())
            stale[cand] = [i not in found for i in prev_ids[cand].tolist()]
            # a component found there without a previous row (e.g. wholly released
            # before): recomputed, never silently left out
            known = set(prev_ids.tolist())
            affected[around[[i not in known for i in around_ids.tolist()]]] = True
    fresh = _components(
        geoms[affected], kinds[affected], keys[affected], circ[affected], released, crs, n_threads
    )
    kept = previous[~stale]
    frames = [f for f in (kept, fresh) if len(f)]
    if not frames:
        return _empty_surface(crs)
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values("component_id", kind="stable").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)
    out.attrs["area_crs"] = crs.to_wkt()
    # the metric hand-over, when both the kept and the fresh rows have one
    metric = _spatial.recall_metric_by_identity(
        out.geometry.array, crs, [previous.geometry.array, fresh.geometry.array]
    )
    if metric is not None:
        _spatial.remember_metric(out.geometry.array, metric, crs)
    return out


def _grow(tree: shapely.STRtree, geoms: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``seeds`` (a mask over ``geoms``, the geometries of ``tree``) grown to the whole
    connected components of the evidence graph that contain them (a closed set)."""
    out = seeds.copy()
    frontier = np.flatnonzero(out)
    while len(frontier):
        nbrs = np.unique(tree.query(geoms[frontier], predicate="intersects")[1])
        frontier = nbrs[~out[nbrs]]
        out[frontier] = True
    return out


def _member_component_ids(
    geoms: np.ndarray, keys: np.ndarray, circ: np.ndarray, n_threads: int
) -> np.ndarray:
    """Component id of every evidence geometry of a closed set (whole components), as
    :func:`hazard_surface` names the components: the same pairs, the same hash of keys."""
    if len(geoms) == 0:
        return np.empty(0, dtype=str)
    left, right = _intersecting_pairs(geoms, circ, n_threads)
    labels = _spatial.connected_components(len(geoms), left, right)
    n_groups = int(labels.max()) + 1
    return _component_ids(keys, labels, n_groups)[labels].astype(str)


_STALE_MARGIN_DEG = 1e-3
"""Widening (degrees, ~70–110 m) of lon/lat boxes when matching surface rows to metric
evidence: far more than the gap between a straight edge in one CRS and the image of the
other's, or a lon/lat round trip."""


def _widened_boxes(box: np.ndarray) -> np.ndarray:
    m = _STALE_MARGIN_DEG
    return shapely.box(box[:, 0] - m, box[:, 1] - m, box[:, 2] + m, box[:, 3] + m)


def _rows_near(previous: np.ndarray, probe: np.ndarray, crs: CRS) -> np.ndarray:
    """Positions of the ``previous`` (lon/lat) surface rows whose box meets a metric
    ``probe``'s lon/lat box widened by :data:`_STALE_MARGIN_DEG`.

    A superset of the rows that may have changed: a row lies inside the union of its
    component's evidence, so a stale row (a member affected, or a member removed) lies
    inside the affected evidence and the changed geometries. Only boxes are compared: an
    exact geometric test would miss a row that a lon/lat round trip moved off its evidence
    (a sliver left by released land).
    """
    if len(probe) == 0 or len(previous) == 0:
        return np.empty(0, dtype=np.intp)
    boxes = _widened_boxes(shapely.bounds(_spatial.to_storage(probe, crs)))
    return np.unique(shapely.STRtree(previous).query(boxes)[1])


def _evidence_near_rows(tree: shapely.STRtree, rows: np.ndarray, crs: CRS) -> np.ndarray:
    """Positions of the evidence (of the metric ``tree``) meeting the widened lon/lat box
    of a surface row (densified and projected): every member that shares area with the
    row — a superset of the evidence needed to name the row's component."""
    boxes = shapely.segmentize(_widened_boxes(shapely.bounds(rows)), _STALE_MARGIN_DEG)
    boxes_m = _spatial.project(boxes, STORAGE_CRS, crs)
    return np.unique(tree.query(boxes_m, predicate="intersects")[1])


_PART_MARGIN_DEG = 1e-3
"""Widening (degrees) of every evidence box when partitioning (:func:`_independent_parts`):
far more than the gap between a straight metric edge and the straight lon/lat edge between
the same vertices, or the millimetres between a lon/lat footprint and its metric redraw."""


def _independent_parts(
    *,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    catalogue: MunitionCatalogue | None = None,
    n_parts: int = 2,
) -> list[dict[str, np.ndarray]]:
    """Split the evidence into ``n_parts`` spatially independent parts of about equal work.

    No component of :func:`hazard_surface` spans two parts, so the surface (and each
    component's tasks) of the parts, concatenated and sorted by ``component_id``, equal
    those of the whole — the parts can be computed on their own (e.g. in parallel).

    How: every evidence record gets a lon/lat box (a hazard's or footprint's bounds; a
    casualty's point widened by 1.5 × its buffer radius in degrees), widened by
    :data:`_PART_MARGIN_DEG` plus 0.006 × its size² (degrees; twice the bow of a straight
    metric edge against the straight lon/lat edge). Records whose boxes meet are grouped
    (connected components of the box graph): a coarser grouping than the surface's, as
    intersecting evidence has meeting boxes. The groups are ordered by the longitude of
    their box centre and cut into runs of about equal vertex count.

    Returns
    -------
    list of dict
        Per part: boolean masks ``"hazards"``, ``"footprints"``, ``"casualties"`` over the
        given layers' rows (absent layers: empty masks) and ``"bounds"``, the part's lon/lat
        box (minx, miny, maxx, maxy) widened by the margin — land (released, farmland) that
        can touch the part's evidence meets that box.
    """
    m = _PART_MARGIN_DEG
    boxes, verts, sizes = [], [], []
    for frame in (hazards, footprints):
        if frame is None:
            sizes.append(0)
            continue
        g = np.asarray(frame.geometry.array, dtype=object)
        boxes.append(shapely.bounds(g))
        verts.append(shapely.get_num_coordinates(g).astype("float64"))
        sizes.append(len(g))
    if casualties is not None:
        pts = np.asarray(casualties.geometry.array, dtype=object)
        radius = casualty_buffers(
            casualties, casualty_buffer_m=casualty_buffer_m, catalogue=catalogue
        )["buffer_radius_m"].to_numpy()
        b = shapely.bounds(pts)
        dlat = 1.5 * radius / 110_000.0
        dlon = dlat / np.maximum(
            np.cos(np.radians(np.clip((b[:, 1] + b[:, 3]) / 2, -89, 89))), 1e-3
        )
        boxes.append(
            np.column_stack([b[:, 0] - dlon, b[:, 1] - dlat, b[:, 2] + dlon, b[:, 3] + dlat])
        )
        verts.append(np.full(len(pts), float(_SEGMENTS + 1)))
        sizes.append(len(pts))
    else:
        sizes.append(0)
    box = np.vstack(boxes) if boxes else np.empty((0, 4))
    weight = np.concatenate(verts) if verts else np.empty(0)
    # a straight metric edge bows away from the straight lon/lat edge between the same
    # vertices by ~ length² / (8 R) · tan(lat): < 0.003 · size² degrees; twice that is added
    size = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    pad = m + 0.006 * size**2
    box = box + np.column_stack([-pad, -pad, pad, pad])
    ok = np.isfinite(box).all(axis=1)  # missing or empty geometries: no box, any part
    pos = np.flatnonzero(ok)
    b = box[ok]
    ring = b[:, [0, 1, 2, 1, 2, 3, 0, 3, 0, 1]].reshape(-1, 5, 2)  # closed rings, C order
    tree = shapely.STRtree(_spatial._rings_to_polygons(ring))  # boxes, 3x faster than box()
    left, right = tree.query(tree.geometries)
    labels = np.zeros(len(box), dtype=np.intp)
    labels[ok] = _spatial.connected_components(len(pos), left, right)
    n_groups = int(labels[ok].max()) + 1 if len(pos) else 0
    parts_of = np.zeros(max(n_groups, 1), dtype=np.intp)
    if n_groups:
        centre = np.bincount(labels[ok], (box[ok, 0] + box[ok, 2]) / 2.0, n_groups)
        centre /= np.bincount(labels[ok], None, n_groups)
        order = np.argsort(centre, kind="stable")
        cum = np.cumsum(np.bincount(labels[ok], weight[ok], n_groups)[order])
        cuts = cum[-1] * np.arange(1, n_parts) / n_parts
        parts_of[order] = np.searchsorted(cuts, cum - 0.5 * (cum - np.append(0.0, cum[:-1])))
    part = parts_of[labels]
    bounds_of = np.where(ok[:, None], box, np.nan)
    out = []
    for k in range(n_parts):
        mask = part == k
        pb = bounds_of[mask & ok]
        bounds = (
            np.array([pb[:, 0].min(), pb[:, 1].min(), pb[:, 2].max(), pb[:, 3].max()])
            if len(pb)
            else np.full(4, np.nan)
        )
        split = np.split(mask, np.cumsum(sizes)[:-1])
        out.append(
            {"hazards": split[0], "footprints": split[1], "casualties": split[2], "bounds": bounds}
        )
    return out


def _rows_in_box(frame: gpd.GeoDataFrame, bounds: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` whose lon/lat box meets ``bounds``."""
    b = shapely.bounds(np.asarray(frame.geometry.array, dtype=object))
    with np.errstate(invalid="ignore"):
        return (
            (b[:, 2] >= bounds[0])
            & (b[:, 0] <= bounds[2])
            & (b[:, 3] >= bounds[1])
            & (b[:, 1] <= bounds[3])
        )


def _empty_surface(crs: CRS) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in SURFACE_COLUMNS})
    frame["component_id"] = frame["component_id"].astype(object)
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=STORAGE_CRS))
    out.attrs["area_crs"] = crs.to_wkt()
    return out
