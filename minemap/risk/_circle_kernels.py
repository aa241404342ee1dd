"""Compiled per-edge kernels of the risk core (numba).

numpy pays for every intermediate array and GEOS for every call; the loops here walk the
coordinates once, in compiled code that releases the GIL (``nogil``), so the two worker threads
of :mod:`minemap.risk._spatial` run them side by side. This module imports numba, so its
callers import it only when a kernel is first needed (``import minemap`` stays light);
compiled code is cached on disk (``cache=True``), so only the first run on a machine pays for
compilation (~1–2 s).

Kernels take plain float64/int64 arrays and return arrays; the geometry bookkeeping
(extracting rings, building shapely objects) stays in the callers.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["circle_ring_overlaps", "ring_starts", "warm_up"]

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def _fan_polygon(theta: float, r: float, w: float, half: float, cos_half: float) -> float:
    """∫₀^θ ½ρ² dθ over the regular polygon (circumradius ``r``, vertex 0 at angle 0, angular
    step ``w``; ``half`` = area of one of its triangles): the area swept from angle 0 to
    ``theta`` (any real angle; monotone)."""
    k = math.floor(theta / w)
    s = theta - k * w
    rho = r * cos_half / math.cos(s - 0.5 * w)
    return k * half + 0.5 * r * rho * math.sin(s)


@_jit
def _near_edge(
    ax: float, ay: float, bx: float, by: float, r: float, w: float, nx: np.ndarray, ny: np.ndarray
) -> float:
    """Signed area of (regular polygon of circumradius ``r``, vertex 0 at angle 0, angular
    step ``w``, centred at the origin) ∩ triangle(origin, a, b); the sign is the triangle's
    orientation. ``nx``, ``ny``: the outward unit normals of the polygon's sides.

    The polygon is convex, so the part of the edge a→b inside it is one interval [t0, t1]
    (the edge clipped against the sides' half-planes, no trigonometry). Along the
    triangle's angular range the region is bounded by the edge there and by the polygon's own
    boundary before and after it: area = sector(a → p0) + triangle(O, p0, p1) +
    sector(p1 → b), each sector a closed form (:func:`_fan_polygon`).
    """
    cross = ax * by - ay * bx
    if abs(cross) <= 1e-12 * math.hypot(ax, ay) * math.hypot(bx, by) + 1e-300:
        return 0.0  # the edge lies on a line through the centre: no area
    rc = r * math.cos(0.5 * w)  # apothem: the sides' distance from the centre
    ux = bx - ax
    uy = by - ay
    t0 = 0.0
    t1 = 1.0
    for k in range(len(nx)):
        over = nx[k] * ax + ny[k] * ay - rc  # > 0: a lies beyond this side
        rate = nx[k] * ux + ny[k] * uy
        if rate == 0.0:
            if over > 0.0:
                t0, t1 = 1.0, 0.0
                break
            continue
        t = -over / rate
        if rate < 0.0:
            t0 = max(t0, t)  # entering the side's half-plane
        else:
            t1 = min(t1, t)  # leaving it
        if t0 >= t1:
            break
    if t0 <= 0.0 and t1 >= 1.0:
        return 0.5 * cross  # the whole edge inside the polygon: the whole triangle
    half = 0.5 * r * r * math.sin(w)
    cos_half = math.cos(0.5 * w)
    th_a = math.atan2(ay, ax)
    th_b = th_a + math.atan2(cross, ax * bx + ay * by)  # unwrapped along the edge (< π)
    if t0 >= t1:  # no part of the edge inside: the polygon's own sector
        return _fan_polygon(th_b, r, w, half, cos_half) - _fan_polygon(th_a, r, w, half, cos_half)
    p0x = ax + t0 * ux
    p0y = ay + t0 * uy
    p1x = ax + t1 * ux
    p1y = ay + t1 * uy
    out = 0.5 * (p0x * p1y - p0y * p1x)
    if t0 > 0.0:
        th0 = th_a + math.atan2(ax * p0y - ay * p0x, ax * p0x + ay * p0y)
        out += _fan_polygon(th0, r, w, half, cos_half) - _fan_polygon(th_a, r, w, half, cos_half)
    if t1 < 1.0:
        th1 = th_a + math.atan2(ax * p1y - ay * p1x, ax * p1x + ay * p1y)
        out += _fan_polygon(th_b, r, w, half, cos_half) - _fan_polygon(th1, r, w, half, cos_half)
    return out


@_jit
def _ring_fan(
    xy: np.ndarray,
    s: int,
    e: int,
    cx: float,
    cy: float,
    r: float,
    w: float,
    nx: np.ndarray,
    ny: np.ndarray,
) -> float:
    """Σ over the ring's edges xy[s:e] of :func:`_near_edge` (centre moved to the origin).

    Edges that stay beyond the circumradius only add the polygon's sector between their
    ends' angles, so a run of them adds F(θ_end) − F(θ_start) with the angle unwrapped along
    the run (one ``atan2`` per edge)."""
    r2 = r * r
    half = 0.5 * r2 * math.sin(w)
    cos_half = math.cos(0.5 * w)
    acc = 0.0
    in_run = False
    th0 = 0.0
    th = 0.0
    for i in range(s, e - 1):
        ax = xy[i, 0] - cx
        ay = xy[i, 1] - cy
        bx = xy[i + 1, 0] - cx
        by = xy[i + 1, 1] - cy
        ux = bx - ax
        uy = by - ay
        len2 = ux * ux + uy * uy
        t = -(ax * ux + ay * uy) / len2 if len2 > 0.0 else 0.0
        t = min(max(t, 0.0), 1.0)
        px = ax + t * ux
        py = ay + t * uy
        if px * px + py * py >= r2:
            if not in_run:
                in_run = True
                th0 = math.atan2(ay, ax)
                th = th0
            th += math.atan2(ax * by - ay * bx, ax * bx + ay * by)
            continue
        if in_run:
            acc += _fan_polygon(th, r, w, half, cos_half) - _fan_polygon(th0, r, w, half, cos_half)
            in_run = False
        acc += _near_edge(ax, ay, bx, by, r, w, nx, ny)
    if in_run:
        acc += _fan_polygon(th, r, w, half, cos_half) - _fan_polygon(th0, r, w, half, cos_half)
    return acc


@_jit
def _circle_ring_overlaps(
    xy: np.ndarray,
    ring_start: np.ndarray,
    ring_hole: np.ndarray,
    geom_ring_start: np.ndarray,
    pair_geom: np.ndarray,
    pair_cx: np.ndarray,
    pair_cy: np.ndarray,
    pair_r: np.ndarray,
    segments: int,
) -> np.ndarray:
    n_rings = len(ring_start) - 1
    # per ring: orientation sign (exteriors count counter-clockwise, holes clockwise) and box
    sign = np.empty(n_rings)
    box = np.empty((n_rings, 4))
    for g in range(n_rings):
        s, e = ring_start[g], ring_start[g + 1]
        twice = 0.0
        x0 = x1 = xs = xy[s, 0]
        y0 = y1 = ys = xy[s, 1]
        for i in range(s, e - 1):
            # shoelace relative to the ring's first point (metric coordinates are ~1e6 m)
            twice += (xy[i, 0] - xs) * (xy[i + 1, 1] - ys) - (xy[i + 1, 0] - xs) * (xy[i, 1] - ys)
            x0 = min(x0, xy[i + 1, 0])
            x1 = max(x1, xy[i + 1, 0])
            y0 = min(y0, xy[i + 1, 1])
            y1 = max(y1, xy[i + 1, 1])
        ccw = 1.0 if twice > 0.0 else -1.0
        sign[g] = -ccw if ring_hole[g] else ccw
        box[g, 0], box[g, 1], box[g, 2], box[g, 3] = x0, y0, x1, y1
    w = 2.0 * math.pi / segments
    nx = np.empty(segments)  # outward unit normals of the polygon's sides
    ny = np.empty(segments)
    for k in range(segments):
        nx[k] = math.cos((k + 0.5) * w)
        ny[k] = math.sin((k + 0.5) * w)
    out = np.zeros(len(pair_geom))
    for p in range(len(pair_geom)):
        cx, cy, r = pair_cx[p], pair_cy[p], pair_r[p]
        g = pair_geom[p]
        acc = 0.0
        for ring in range(geom_ring_start[g], geom_ring_start[g + 1]):
            # a ring whose box lies at least r from the centre neither meets nor encloses the
            # circle's polygon: it adds nothing
            dx = max(box[ring, 0] - cx, 0.0, cx - box[ring, 2])
            dy = max(box[ring, 1] - cy, 0.0, cy - box[ring, 3])
            if dx * dx + dy * dy >= r * r:
                continue
            acc += sign[ring] * _ring_fan(
                xy, ring_start[ring], ring_start[ring + 1], cx, cy, r, w, nx, ny
            )
        out[p] = acc
    return out


@_jit
def _ring_starts(xy: np.ndarray, geom_start: np.ndarray, n_rings: int) -> np.ndarray:
    """First coordinate of each ring (plus the end), found by closure: a simple ring ends at
    the first repeat of its first point. Returns an empty array when the count of rings found
    differs from ``n_rings`` (the caller then asks GEOS for the rings)."""
    out = np.empty(n_rings + 1, dtype=np.int64)
    k = 0
    for g in range(len(geom_start) - 1):
        i = geom_start[g]
        end = geom_start[g + 1]
        while i < end:
            if k >= n_rings:
                return np.empty(0, dtype=np.int64)
            out[k] = i
            k += 1
            x, y = xy[i, 0], xy[i, 1]
            j = i + 1
            while j < end and not (xy[j, 0] == x and xy[j, 1] == y):
                j += 1
            if j - i < 3 or j >= end:
                return np.empty(0, dtype=np.int64)  # not a closed ring of ≥ 3 edges
            i = j + 1
    if k != n_rings:
        return np.empty(0, dtype=np.int64)
    out[k] = len(xy)
    return out


def ring_starts(xy: np.ndarray, geom_start: np.ndarray, *, n_rings: int) -> np.ndarray | None:
    """First coordinate of each ring in ``xy`` (rings of each geometry consecutive, each
    closed, geometry ``g``'s coordinates at ``geom_start[g]:geom_start[g + 1]``), plus the end;
    ``None`` if the rings found by closure are not ``n_rings`` well-formed rings."""
    out = _ring_starts(
        np.ascontiguousarray(xy, dtype=np.float64),
        np.ascontiguousarray(geom_start, dtype=np.int64),
        int(n_rings),
    )
    return out if len(out) == n_rings + 1 else None


def circle_ring_overlaps(
    xy: np.ndarray,
    ring_start: np.ndarray,
    ring_hole: np.ndarray,
    geom_ring_start: np.ndarray,
    pair_geom: np.ndarray,
    pair_cx: np.ndarray,
    pair_cy: np.ndarray,
    pair_r: np.ndarray,
    *,
    segments: int,
) -> np.ndarray:
    """Exact area of (regular ``segments``-gon of circumradius ``pair_r``, centred at
    ``(pair_cx, pair_cy)``, vertex 0 at angle 0) ∩ polygon ``pair_geom``, per pair.

    Parameters
    ----------
    xy : (n, 2) float64
        Coordinates of every ring, rings closed (first point repeated).
    ring_start : (n_rings + 1,) int64
        Offset of each ring's first coordinate in ``xy``, plus the end.
    ring_hole : (n_rings,) bool
        True for interior rings (holes), False for exteriors (any orientation).
    geom_ring_start : (n_geoms + 1,) int64
        Offset of each geometry's first ring, plus the end (a multi-part geometry's rings are
        consecutive).
    pair_geom, pair_cx, pair_cy, pair_r : (n_pairs,)
        Geometry position, circle centre and circumradius per pair.
    segments : int
        Vertices of the circle's polygon (as in :func:`minemap.risk._spatial.circles`).

    Returns
    -------
    numpy.ndarray
        float64 areas (may be a tiny negative number for a touching pair).
    """
    return _circle_ring_overlaps(
        np.ascontiguousarray(xy, dtype=np.float64),
        np.ascontiguousarray(ring_start, dtype=np.int64),
        np.ascontiguousarray(ring_hole, dtype=np.bool_),
        np.ascontiguousarray(geom_ring_start, dtype=np.int64),
        np.ascontiguousarray(pair_geom, dtype=np.int64),
        np.ascontiguousarray(pair_cx, dtype=np.float64),
        np.ascontiguousarray(pair_cy, dtype=np.float64),
        np.ascontiguousarray(pair_r, dtype=np.float64),
        int(segments),
    )


def warm_up() -> None:
    """Load (or, on a machine's first run, compile) every kernel here, so that a later call
    does not pay for it: ~0.3 s from numba's on-disk cache, ~3 s to compile."""
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    starts = ring_starts(xy, np.array([0, 4]), n_rings=1)
    circle_ring_overlaps(
        xy, starts, np.zeros(1, dtype=bool), np.array([0, 1]), np.zeros(1, dtype=np.int64),
        np.zeros(1), np.zeros(1), np.ones(1), segments=32,
    )  # fmt: skip
