"""Split the prioritisation inputs into independent spatial partitions.

The hazard surface is built per connected component of the evidence, and every later step
(release, farmland split, grid cut, evidence summary, casualty attribution) only looks at
geometry that touches the component. So the pipeline can run on any set of *whole*
components alone, as long as it receives every record that can touch them — and gives the
same task ids, geometries and numbers as a run on everything.

This module finds groups of evidence that are guaranteed to be unions of whole components,
without building the surface:

1. every evidence record (hazard polygon, strike footprint, casualty point with its buffer
   radius) is taken in lon/lat as stored;
2. two records are linked when an STRtree ``dwithin`` query finds them closer than a
   *conservative* distance: the casualty buffer radii (a second tree holds the casualty
   points, so a radius widens only links to a casualty), plus the bow of long straight edges
   (a straight edge in lon/lat and the straight edge between the same vertices in the
   equal-area CRS differ by at most ``L² / (8 ρ)``, ρ ≥ 500 km in EPSG:3035's area of use),
   plus a pad, all converted to degrees at the data's highest latitude and inflated by 10 %
   for the equal-area CRS's distance distortion;
3. the connected components of that graph are the groups. Any two records that intersect in
   the equal-area CRS are linked (the distance bound holds), so a group is always a union of
   whole hazard-surface components. Over-linking (two nearby components in one group) only
   makes a group bigger; the result is unchanged.

Groups are packed into partitions of about equal weight (number of vertices); released land
and farmland are attached to each partition by the same conservative query, so each
partition carries everything that can touch its components. Row order within each layer is
kept (positions are sorted), which keeps GEOS unions — and so every coordinate — identical.

Exactness needs one more condition: every partition must be processed in the same
equal-area CRS as the whole. That holds whenever the whole input lies in EPSG:3035's area
of use (all of Europe, Ukraine included); elsewhere the risk core centres a local
projection on the data's bounds, so :func:`plan_partitions` returns a single partition.
"""

from __future__ import annotations

import heapq
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from minemap.risk._spatial import equal_area_crs_for
from minemap.risk.surface import casualty_buffers

__all__ = ["Partition", "PartitionPlan", "plan_partitions"]

PAD_M = 10.0
"""Extra distance (m) added to every link: covers re-drawn footprint circles (centimetres
apart) and rounding. Larger pads link more: at national density a 50 m pad plus the largest
casualty radius on every link joined 37 % of the evidence into one group (see
docs/scaling.md), 10 m and per-tree radii keep the largest group at 0.3 %."""

MIN_CURVATURE_RADIUS_M = 500_000.0
"""Lower bound on the radius of curvature of a lon/lat straight line drawn in EPSG:3035."""

DISTANCE_DISTORTION = 1.1
"""Upper bound on true distance / EPSG:3035 distance within its area of use."""

_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator)


@dataclass
class Partition:
    """Row positions (sorted, into each input frame) that one worker processes.

    Attributes
    ----------
    rows : dict of str to ndarray
        ``hazards``, ``footprints``, ``casualties``, ``released``, ``farmland`` → positions.
    weight : float
        Work estimate (vertices of the evidence).
    """

    rows: dict[str, np.ndarray]
    weight: float = 0.0

    def n_records(self) -> dict[str, int]:
        """Number of records of each layer in this partition."""
        return {name: len(pos) for name, pos in self.rows.items()}


@dataclass
class PartitionPlan:
    """How the inputs are split.

    Attributes
    ----------
    partitions : list of Partition
        In a fixed order (heaviest first); never empty partitions.
    n_groups : int
        Independent evidence groups found (each one or more hazard-surface components).
    unshipped_casualties : ndarray
        Positions of casualty rows with no usable geometry: in no partition (they are
        outside every task, as in the single-process run).
    reason : str
        Why the plan has a single partition when it does ("" otherwise).
    """

    partitions: list[Partition]
    n_groups: int
    unshipped_casualties: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    reason: str = ""


def _geoms(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.empty(0, dtype=object)
    return np.asarray(frame.geometry.array, dtype=object)


def _usable(geoms: np.ndarray) -> np.ndarray:
    return ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)


def _max_segment_deg(geoms: np.ndarray) -> np.ndarray:
    """Longest straight segment of each geometry, in degrees (0 for points)."""
    out = np.zeros(len(geoms))
    if len(geoms) == 0:
        return out
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) < 2:
        return out
    step = np.hypot(*np.diff(coords, axis=0).T)
    same = index[1:] == index[:-1]  # ring ends may join the next ring: harmless overestimate
    np.maximum.at(out, index[1:][same], step[same])
    return out


def _bounds(frames: list[gpd.GeoDataFrame | None]) -> np.ndarray:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return np.array([np.nan] * 4)
    b = np.vstack(boxes)
    return np.array(
        [np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])]
    )


def _query_threads(
    tree: shapely.STRtree, geoms: np.ndarray, distance: np.ndarray, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms, "dwithin", distance)`` in chunks over threads (GEOS frees the GIL)."""
    n = len(geoms)
    if n_threads <= 1 or n < 4000:
        res = tree.query(geoms, predicate="dwithin", distance=distance)
        return res[0], res[1]
    cuts = np.linspace(0, n, n_threads + 1).astype(int)

    def one(k: int) -> np.ndarray:
        s, e = cuts[k], cuts[k + 1]
        res = tree.query(geoms[s:e], predicate="dwithin", distance=distance[s:e])
        res[0] += s
        return res

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        parts = list(pool.map(one, range(n_threads)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _pack(weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each group: heaviest first onto the lightest bin (ties: lowest bin number)."""
    order = np.lexsort((np.arange(len(weights)), -weights))
    heap = [(0.0, b) for b in range(n_bins)]
    out = np.empty(len(weights), dtype=np.intp)
    for g in order:
        load, b = heapq.heappop(heap)
        out[g] = b
        heapq.heappush(heap, (load + float(weights[g]), b))
    return out


def plan_partitions(
    *,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    released: gpd.GeoDataFrame | None = None,
    farmland: gpd.GeoDataFrame | None = None,
    n_partitions: int,
    pad_m: float = PAD_M,
    n_threads: int = 2,
) -> PartitionPlan:
    """Group the evidence into independent partitions (see module docstring).

    Parameters
    ----------
    hazards, footprints, casualties, released, farmland : GeoDataFrame, optional
        The frames the single-process pipeline gives to ``hazard_surface`` and
        ``make_tasks`` (EPSG:4326; ``footprints`` from ``strike_footprints``).
    n_partitions : int
        Upper bound on the number of partitions (fewer when there are fewer groups).
    pad_m : float
        Extra link distance in metres.
    n_threads : int
        Threads for the STRtree distance query (default 2).

    Returns
    -------
    PartitionPlan
    """
    if n_partitions < 1:
        raise ValueError("n_partitions must be at least 1")
    layers = {
        "hazards": hazards,
        "footprints": footprints,
        "casualties": casualties,
        "released": released,
        "farmland": farmland,
    }
    sizes = {name: 0 if f is None else len(f) for name, f in layers.items()}
    everything = Partition({name: np.arange(n) for name, n in sizes.items()})

    ev_names = ("hazards", "footprints", "casualties")
    ev_geoms = {name: _geoms(layers[name]) for name in ev_names}
    ok = {name: _usable(g) for name, g in ev_geoms.items()}
    unshipped = np.flatnonzero(~ok["casualties"])
    everything.rows["casualties"] = np.flatnonzero(ok["casualties"])

    bounds = _bounds([hazards, footprints, casualties, released])
    if not np.all(np.isfinite(bounds)):
        return PartitionPlan([everything], 0, unshipped, "no evidence")
    if equal_area_crs_for(bounds).to_epsg() != 3035:
        return PartitionPlan(
            [everything],
            1,
            unshipped,
            "data outside EPSG:3035's area of use: the equal-area CRS depends on the "
            "bounds of the whole input, so it is processed as one partition",
        )

    # evidence arrays: (layer, position, geometry, radius_m)
    names, positions, geoms, radius = [], [], [], []
    for name in ev_names:
        pos = np.flatnonzero(ok[name])
        names.append(np.full(len(pos), ev_names.index(name), dtype=np.int8))
        positions.append(pos)
        geoms.append(ev_geoms[name][pos])
        if name == "casualties" and len(pos):
            r = casualty_buffers(casualties)["buffer_radius_m"].to_numpy()[pos]
        else:
            r = np.zeros(len(pos))
        radius.append(r)
    layer_of = np.concatenate(names)
    pos_of = np.concatenate(positions)
    g = np.concatenate(geoms)
    r = np.concatenate(radius)
    if len(g) == 0:
        return PartitionPlan([everything], 0, unshipped, "no evidence")
    bad = ~shapely.is_valid(g)
    if bad.any():
        g = g.copy()
        g[bad] = shapely.make_valid(g[bad])

    lat_max = min(88.0, max(abs(bounds[1]), abs(bounds[3])))
    deg_per_m = DISTANCE_DISTORTION / (_M_PER_DEG_LAT * math.cos(math.radians(lat_max)))
    seg_m = _max_segment_deg(g) * _M_PER_DEG_LAT  # conservative: a degree is at most ~111.7 km
    seg_m *= 1.02
    bow_m = seg_m**2 / (8.0 * MIN_CURVATURE_RADIUS_M)
    reach_m = r + bow_m  # how far a record's metric shape can reach beyond its lon/lat shape
    # two trees, so the casualty radii only widen links that involve a casualty
    left, right = [], []
    is_point = layer_of == ev_names.index("casualties")
    for members in (np.flatnonzero(~is_point), np.flatnonzero(is_point)):
        if len(members) == 0:
            continue
        dist = (reach_m + reach_m[members].max() + pad_m) * deg_per_m
        a, b = _query_threads(shapely.STRtree(g[members]), g, dist, n_threads)
        left.append(a)
        right.append(members[b])
    left, right = np.concatenate(left), np.concatenate(right)
    n = len(g)
    graph = coo_array((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    n_groups, labels = connected_components(graph, directed=False)

    weight = shapely.get_num_coordinates(g).astype("float64") + 1.0
    group_weight = np.bincount(labels, weights=weight, minlength=n_groups)
    n_bins = max(1, min(int(n_partitions), n_groups))
    group_bin = _pack(group_weight, n_bins)
    bin_of = group_bin[labels]

    rows: list[dict[str, np.ndarray]] = [{} for _ in range(n_bins)]
    for k, name in enumerate(ev_names):
        mine = layer_of == k
        for b in range(n_bins):
            rows[b][name] = np.sort(pos_of[mine & (bin_of == b)])

    # released land and farmland: whatever lies within reach of a partition's evidence
    for name in ("released", "farmland"):
        other = _geoms(layers[name])
        if len(other) == 0:
            for b in range(n_bins):
                rows[b][name] = np.empty(0, dtype=np.intp)
            continue
        usable = np.flatnonzero(_usable(other))
        og = other[usable]
        o_reach = (_max_segment_deg(og) * _M_PER_DEG_LAT * 1.02) ** 2 / (
            8.0 * MIN_CURVATURE_RADIUS_M
        )
        dist = (reach_m + (o_reach.max() if len(og) else 0.0) + pad_m) * deg_per_m
        # bounding boxes grown by the reach: a superset of dwithin, and much cheaper
        b = shapely.bounds(g)
        boxes = shapely.box(b[:, 0] - dist, b[:, 1] - dist, b[:, 2] + dist, b[:, 3] + dist)
        ev, hit = shapely.STRtree(og).query(boxes)
        pairs = np.unique(bin_of[ev].astype(np.int64) * (len(other) + 1) + usable[hit])
        pb, pp = np.divmod(pairs, len(other) + 1)
        for b in range(n_bins):
            rows[b][name] = pp[pb == b].astype(np.intp)  # np.unique sorted them

    bin_weight = np.bincount(group_bin, weights=group_weight, minlength=n_bins)
    parts = [Partition(rows[b], float(bin_weight[b])) for b in range(n_bins)]
    parts.sort(key=lambda p: -p.weight)  # stable: equal weights keep bin order
    return PartitionPlan(parts, int(n_groups), unshipped)
