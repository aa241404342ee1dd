"""Compiled polygon × polygon ``intersects`` test for candidate pairs (numba).

An STRtree query with ``predicate="intersects"`` runs GEOS's predicate on every bounding-box
pair; for a million small parcels against the hazard surface's components that is most of the
query's cost (L: 0.2 s for the box pairs, ~1.7 CPU s with the predicate). The kernel here
answers the same question for the box pairs by walking the two geometries' edges in compiled
code, skipping runs of edges whose bounding box is away from the other geometry (so a
component of thousands of vertices is not scanned edge by edge for each of its parcels).

Every answer is **certain or marked unsure**, never guessed: orientation signs are taken only
when they exceed a bound on their floating-point error (Shewchuk's ``ccwerrboundA`` with a
30× margin), and pairs that depend on a sign within the bound (touching, shared or collinear
edges, a vertex on the other's boundary) come back as :data:`UNSURE`; the caller asks GEOS
about those. :data:`HIT` means the interiors of the two polygons meet (a proper crossing of
two edges, or with boundaries certainly apart, a vertex strictly inside the other), hence
also ``intersects``; :data:`MISS` means the two are disjoint. Points are located as GEOS locates
them (inside a part's shell and in none of its holes), so the overlapping parts or stray holes
of an invalid multi-polygon (raw cadastres) count as they do for GEOS.

This module imports numba, so its callers import it only when a kernel is first needed
(``import minemap`` stays light); compiled code is cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np
import shapely

__all__ = ["HIT", "MISS", "UNSURE", "Rings", "pair_status", "query_pairs", "rings_of", "warm_up"]

MISS, HIT, UNSURE = 0, 1, 2

_RUN = 8  # edges per run: a run's bounding box is tested before its edges

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Sign of the orientation of (a, b, c): +1 left turn, -1 right turn, 0 within the
    rounding-error bound (not certain)."""
    left = (bx - ax) * (cy - ay)
    right = (by - ay) * (cx - ax)
    det = left - right
    bound = 1e-14 * (abs(left) + abs(right))
    if det > bound:
        return 1
    if det < -bound:
        return -1
    return 0


@_jit
def _segments(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, dx: float, dy: float
) -> int:
    """Segments a–b and c–d: MISS (apart), HIT (a proper crossing) or UNSURE."""
    if max(ax, bx) < min(cx, dx) or max(cx, dx) < min(ax, bx):
        return MISS
    if max(ay, by) < min(cy, dy) or max(cy, dy) < min(ay, by):
        return MISS
    o1 = _orient(ax, ay, bx, by, cx, cy)
    o2 = _orient(ax, ay, bx, by, dx, dy)
    if o1 != 0 and o1 == o2:
        return MISS
    o3 = _orient(cx, cy, dx, dy, ax, ay)
    o4 = _orient(cx, cy, dx, dy, bx, by)
    if o3 != 0 and o3 == o4:
        return MISS
    if o1 != 0 and o2 != 0 and o3 != 0 and o4 != 0:
        return HIT  # signs certain and opposite on both segments
    return UNSURE


@_jit
def _build(xy: np.ndarray, ring_start: np.ndarray, geom_ring: np.ndarray):
    """Runs of ``_RUN`` edges per ring with their bounding boxes, each ring's and each
    geometry's box."""
    n_rings = len(ring_start) - 1
    ring_run = np.empty(n_rings + 1, dtype=np.int64)
    k = 0
    for r in range(n_rings):
        ring_run[r] = k
        edges = max(ring_start[r + 1] - ring_start[r] - 1, 0)
        k += (edges + _RUN - 1) // _RUN
    ring_run[n_rings] = k
    run_box = np.empty((k, 4))
    ring_box = np.empty((n_rings, 4))
    for r in range(n_rings):
        ring_box[r, 0] = ring_box[r, 1] = np.inf
        ring_box[r, 2] = ring_box[r, 3] = -np.inf
        for q in range(ring_run[r], ring_run[r + 1]):
            lo = ring_start[r] + (q - ring_run[r]) * _RUN
            hi = _run_end(ring_start, ring_run, q, r)  # edges lo..hi-1: coordinates lo..hi
            x0 = x1 = xy[lo, 0]
            y0 = y1 = xy[lo, 1]
            for i in range(lo + 1, hi + 1):
                x0 = min(x0, xy[i, 0])
                x1 = max(x1, xy[i, 0])
                y0 = min(y0, xy[i, 1])
                y1 = max(y1, xy[i, 1])
            run_box[q, 0] = x0
            run_box[q, 1] = y0
            run_box[q, 2] = x1
            run_box[q, 3] = y1
            ring_box[r, 0] = min(ring_box[r, 0], x0)
            ring_box[r, 1] = min(ring_box[r, 1], y0)
            ring_box[r, 2] = max(ring_box[r, 2], x1)
            ring_box[r, 3] = max(ring_box[r, 3], y1)
    n_geoms = len(geom_ring) - 1
    geom_box = np.empty((n_geoms, 4))
    for g in range(n_geoms):
        geom_box[g, 0] = geom_box[g, 1] = np.inf
        geom_box[g, 2] = geom_box[g, 3] = -np.inf
        for r in range(geom_ring[g], geom_ring[g + 1]):
            geom_box[g, 0] = min(geom_box[g, 0], ring_box[r, 0])
            geom_box[g, 1] = min(geom_box[g, 1], ring_box[r, 1])
            geom_box[g, 2] = max(geom_box[g, 2], ring_box[r, 2])
            geom_box[g, 3] = max(geom_box[g, 3], ring_box[r, 3])
    return ring_run, run_box, ring_box, geom_box


@_jit
def _apart(b: np.ndarray, i: int, c: np.ndarray, j: int) -> bool:
    """Boxes ``b[i]`` and ``c[j]`` (minx, miny, maxx, maxy) do not meet."""
    return b[i, 2] < c[j, 0] or c[j, 2] < b[i, 0] or b[i, 3] < c[j, 1] or c[j, 3] < b[i, 1]


@_jit
def _run_end(ring_start, ring_run, q: int, r: int) -> int:
    """One past the last edge of run ``q`` of ring ``r`` (edge i joins coordinates i, i+1)."""
    return min(ring_start[r] + (q - ring_run[r] + 1) * _RUN, ring_start[r + 1] - 1)


@_jit
def _inside(px: float, py: float, g, r0: int, r1: int) -> int:
    """Point in the (multi-)polygon of rings r0..r1-1 of ``g``: HIT inside a part (inside its
    shell and in none of its holes, each ring by its own crossing count: GEOS's rule, which
    also holds for the overlapping parts or stray holes of invalid input), MISS outside,
    UNSURE where an edge that decides it passes within rounding."""
    xy, ring_start, _, ring_run, run_box, _, _, shell = g
    in_part = False
    for r in range(r0, r1):
        if shell[r] and in_part:  # a new part: the previous one holds the point
            return HIT
        crossings = 0
        for q in range(ring_run[r], ring_run[r + 1]):
            if run_box[q, 3] <= py or run_box[q, 1] > py or run_box[q, 2] < px:
                continue  # no edge here crosses the ray from p towards +x
            for i in range(
                ring_start[r] + (q - ring_run[r]) * _RUN, _run_end(ring_start, ring_run, q, r)
            ):
                ax, ay, bx, by = xy[i, 0], xy[i, 1], xy[i + 1, 0], xy[i + 1, 1]
                if (ay > py) == (by > py):
                    continue
                if min(ax, bx) > px:
                    crossings += 1
                    continue
                if max(ax, bx) < px:
                    continue
                o = _orient(ax, ay, bx, by, px, py)
                if o == 0:
                    return UNSURE
                if (o > 0) == (by > ay):  # the edge crosses the ray right of p
                    crossings += 1
        if shell[r]:
            in_part = crossings % 2 == 1
        elif crossings % 2 == 1:
            in_part = False  # in a hole of this part
    return HIT if in_part else MISS


@_jit
def _pair(a, b, ga: int, gb: int) -> int:
    """Status of geometry ``ga`` of ``a`` against geometry ``gb`` of ``b``."""
    a_xy, a_rs, a_gr, a_rr, a_qb, a_rb, a_gb, _ = a
    b_xy, b_rs, b_gr, b_rr, b_qb, b_rb, b_gb, _ = b
    unsure = False
    ar0, ar1 = a_gr[ga], a_gr[ga + 1]
    br0, br1 = b_gr[gb], b_gr[gb + 1]
    for ra in range(ar0, ar1):
        if _apart(a_rb, ra, b_gb, gb):
            continue
        for qa in range(a_rr[ra], a_rr[ra + 1]):
            if _apart(a_qb, qa, b_gb, gb):
                continue
            i0 = a_rs[ra] + (qa - a_rr[ra]) * _RUN
            i1 = _run_end(a_rs, a_rr, qa, ra)
            for rb in range(br0, br1):
                if _apart(b_rb, rb, a_qb, qa):
                    continue
                for qb in range(b_rr[rb], b_rr[rb + 1]):
                    if _apart(b_qb, qb, a_qb, qa):
                        continue
                    j0 = b_rs[rb] + (qb - b_rr[rb]) * _RUN
                    j1 = _run_end(b_rs, b_rr, qb, rb)
                    for i in range(i0, i1):
                        ax, ay = a_xy[i, 0], a_xy[i, 1]
                        bx, by = a_xy[i + 1, 0], a_xy[i + 1, 1]
                        if (
                            max(ax, bx) < b_qb[qb, 0]
                            or min(ax, bx) > b_qb[qb, 2]
                            or max(ay, by) < b_qb[qb, 1]
                            or min(ay, by) > b_qb[qb, 3]
                        ):
                            continue
                        for j in range(j0, j1):
                            s = _segments(
                                ax, ay, bx, by,
                                b_xy[j, 0], b_xy[j, 1], b_xy[j + 1, 0], b_xy[j + 1, 1],
                            )  # fmt: skip
                            if s == HIT:
                                return HIT
                            if s == UNSURE:
                                unsure = True
    if unsure:
        return UNSURE
    # the boundaries are certainly apart: the two are disjoint unless a ring of either lies
    # inside the other, and then so does its first vertex (tested for rings near the other)
    for ra in range(ar0, ar1):
        if not _apart(a_rb, ra, b_gb, gb):
            i = a_rs[ra]
            v = _inside(a_xy[i, 0], a_xy[i, 1], b, br0, br1)
            if v != MISS:
                return v
    for rb in range(br0, br1):
        if not _apart(b_rb, rb, a_gb, ga):
            j = b_rs[rb]
            v = _inside(b_xy[j, 0], b_xy[j, 1], a, ar0, ar1)
            if v != MISS:
                return v
    return MISS


@_jit
def _pairs(a, b, ia: np.ndarray, ib: np.ndarray, out: np.ndarray) -> None:
    for k in range(len(ia)):
        out[k] = _pair(a, b, ia[k], ib[k])


@_jit
def _structure(xy: np.ndarray, ring_start: np.ndarray, geom_ring: np.ndarray, shell: np.ndarray):
    ring_run, run_box, ring_box, geom_box = _build(xy, ring_start, geom_ring)
    return (xy, ring_start, geom_ring, ring_run, run_box, ring_box, geom_box, shell)


class Rings:
    """Polygons (or multi-polygons) as flat rings with per-run boxes, ready for the kernel."""

    def __init__(self, geoms: np.ndarray, types: np.ndarray) -> None:
        # geoms: non-empty, types: their GEOS type ids (3 or 6), both checked by the caller
        self.n = len(geoms)
        xy = shapely.get_coordinates(geoms)
        # one ring per polygon without holes (most): its coordinates are the geometry's; GEOS
        # is asked for the rings of the others (holes, multi-polygons) only
        n_coords = shapely.get_num_coordinates(geoms)
        rings_per_geom = np.ones(self.n, dtype=np.int64)
        poly = np.flatnonzero(types == 3)
        other = np.union1d(
            np.flatnonzero(types != 3), poly[shapely.get_num_interior_rings(geoms[poly]) > 0]
        )
        ring_len = n_coords.astype(np.int64)
        if len(other):
            parts, part_geom = shapely.get_parts(geoms[other], return_index=True)
            rings, ring_part = shapely.get_rings(parts, return_index=True)
            rings_per_geom[other] = np.bincount(part_geom[ring_part], minlength=len(other))
            geom_ring = np.concatenate([[0], np.cumsum(rings_per_geom)])
            ring_len = np.ones(int(geom_ring[-1]), dtype=np.int64)
            simple = np.ones(self.n, dtype=bool)
            simple[other] = False
            ring_len[geom_ring[:-1][simple]] = n_coords[simple]
            mask = np.repeat(~simple, rings_per_geom)
            ring_len[mask] = shapely.get_num_coordinates(rings)
            shell = np.ones(len(ring_len), dtype=np.bool_)  # the first ring of each part
            shell[mask] = np.r_[True, ring_part[1:] != ring_part[:-1]]
        else:
            geom_ring = np.arange(self.n + 1, dtype=np.int64)
            shell = np.ones(self.n, dtype=np.bool_)
        ring_start = np.concatenate([[0], np.cumsum(ring_len)])
        self.data = _structure(
            np.ascontiguousarray(xy, dtype=np.float64),
            np.ascontiguousarray(ring_start, dtype=np.int64),
            np.ascontiguousarray(geom_ring, dtype=np.int64),
            shell,
        )


def rings_of(geoms: np.ndarray) -> Rings:
    """The kernel's form of ``geoms`` (non-empty Polygons / MultiPolygons)."""
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    if (shapely.is_empty(geoms) | ~np.isin(types, (3, 6))).any():
        raise ValueError("rings_of: every geometry must be a non-empty (multi)polygon")
    return Rings(geoms, types)


def pair_status(a: Rings, b: Rings, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Per pair ``(a[ia[k]], b[ib[k]])``: :data:`HIT` (their interiors meet), :data:`MISS`
    (disjoint) or :data:`UNSURE` (touching or within rounding of it: ask GEOS), as int8.

    Releases the GIL: callers split long pair lists over threads.
    """
    out = np.empty(len(ia), dtype=np.int8)
    if len(ia):
        _pairs(
            a.data, b.data,
            np.ascontiguousarray(ia, dtype=np.int64), np.ascontiguousarray(ib, dtype=np.int64),
            out,
        )  # fmt: skip
    return out


def warm_up() -> None:
    """Load (or, on a machine's first run, compile) the kernel with one small pair."""
    a = rings_of(np.array([shapely.box(0.0, 0.0, 2.0, 2.0)], dtype=object))
    b = rings_of(np.array([shapely.box(1.0, 1.0, 3.0, 3.0)], dtype=object))
    pair_status(a, b, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))


def query_pairs(
    tree: shapely.STRtree,
    geoms: np.ndarray,
    *,
    interiors: bool = False,
    n_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms, predicate="intersects")`` as (input index, tree index), the same
    pairs in the same order, for polygonal geometries: the tree's bounding-box pairs are
    tested by the kernel, GEOS only decides the pairs the kernel is unsure of (and those
    with a non-polygonal side). With ``interiors`` only pairs whose interiors meet are kept
    (``intersects`` and not ``touches``, DE-9IM ``T********``).
    """
    from minemap.risk import _spatial

    geoms = np.asarray(geoms, dtype=object)
    left, right = _spatial.query_pairs(tree, geoms, predicate=None, n_threads=n_threads)
    if len(left) == 0:
        return left, right
    tree_geoms = np.asarray(tree.geometries, dtype=object)
    ul, il = np.unique(left, return_inverse=True)
    ur, ir = np.unique(right, return_inverse=True)
    gl, gr = geoms[ul], tree_geoms[ur]
    tl, tr = shapely.get_type_id(gl), shapely.get_type_id(gr)
    ok_l = np.isin(tl, (3, 6)) & ~shapely.is_empty(gl)
    ok_r = np.isin(tr, (3, 6)) & ~shapely.is_empty(gr)
    status = np.full(len(left), UNSURE, dtype=np.int8)
    both = np.flatnonzero(ok_l[il] & ok_r[ir])
    if len(both):
        a = Rings(gr[ok_r], tr[ok_r])
        b = Rings(gl[ok_l], tl[ok_l])
        pos_r = np.cumsum(ok_r) - 1  # position among the polygonal ones
        pos_l = np.cumsum(ok_l) - 1
        ia, ib = pos_r[ir[both]], pos_l[il[both]]
        bounds = np.linspace(0, len(both), 4 * max(n_threads, 1) + 1).astype(np.int64)
        done = np.empty(len(both), dtype=np.int8)

        def work(s: int, e: int) -> None:
            done[s:e] = pair_status(a, b, ia[s:e], ib[s:e])

        _spatial.run_spans(work, bounds, n_threads=n_threads if len(both) > 20_000 else 1)
        status[both] = done
    keep = status == HIT
    ask = np.flatnonzero(status == UNSURE)
    if len(ask):
        g, t = geoms[left[ask]], tree_geoms[right[ask]]
        hit = shapely.intersects(g, t)
        if interiors:
            hit &= ~shapely.touches(g, t)
        keep[ask] = hit
    return left[keep], right[keep]
