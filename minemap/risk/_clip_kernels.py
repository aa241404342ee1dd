"""Compiled kernels of :mod:`minemap.risk._clip` (numba; imported only when first used).

Kept in a module of their own so that numba's on-disk cache applies (module-level functions)
while ``import minemap`` does not import numba: :mod:`minemap.risk._clip` imports this module
inside the function that needs it. See :mod:`minemap.risk._clip` for the method.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["CLIP", "FALLBACK", "PIECES", "SUBJECT", "convex_cw", "convex_rings", "run"]

FALLBACK = 0  # not computed: left to GEOS
PIECES = 1  # result written as pieces (possibly none: an empty intersection)
SUBJECT = 2  # the subject is wholly inside the convex polygon: the result is the subject
CLIP = 3  # the convex polygon is inside the subject (between its holes): the result is it

_njit = numba.njit(cache=True, nogil=True)


@_njit
def _point_in_ring(sx, sy, s, n, px, py):
    """Whether (px, py) lies inside the ring of n edges starting at coordinate s (even-odd)."""
    inside = False
    for i in range(n):
        ay, by = sy[s + i], sy[s + i + 1]
        if (ay > py) != (by > py):
            xc = sx[s + i] + (py - ay) * (sx[s + i + 1] - sx[s + i]) / (by - ay)
            if xc > px:
                inside = not inside
    return inside


@_njit
def convex_rings(x, y, ring, poly, geom, eps_rel):
    """Each geometry's ring as a strictly convex CCW ring (no closing point), with the unit
    inward normal and length of each edge; no vertices for any other geometry.

    Returns (offsets, x, y, normal x, normal y, length).
    """
    n_g = len(geom) - 1
    off = np.zeros(n_g + 1, dtype=np.int64)
    total = 0
    for g in range(n_g):
        p0, p1 = geom[g], geom[g + 1]
        if p1 - p0 == 1 and poly[p0 + 1] - poly[p0] == 1:
            total += ring[poly[p0] + 1] - ring[poly[p0]] - 1
    qx, qy = np.empty(total), np.empty(total)
    nx, ny, ln = np.empty(total), np.empty(total), np.empty(total)
    pos = 0
    for g in range(n_g):
        off[g] = pos
        p0, p1 = geom[g], geom[g + 1]
        if p1 - p0 != 1 or poly[p0 + 1] - poly[p0] != 1:
            continue
        r = poly[p0]
        s, e = ring[r], ring[r + 1] - 1  # e: the closing point
        n = e - s
        if n < 3:
            continue
        area2 = 0.0
        for i in range(n):
            j = s + (i + 1) % n
            area2 += (x[s + i] - x[s]) * (y[j] - y[s]) - (x[j] - x[s]) * (y[s + i] - y[s])
        if area2 == 0.0:
            continue
        for i in range(n):
            k = s + i if area2 > 0 else s + n - 1 - i
            qx[pos + i], qy[pos + i] = x[k], y[k]
        ok = True
        for i in range(n):
            a, b, c = pos + i, pos + (i + 1) % n, pos + (i + 2) % n
            ux, uy = qx[b] - qx[a], qy[b] - qy[a]
            vx, vy = qx[c] - qx[b], qy[c] - qy[b]
            lu, lv = np.hypot(ux, uy), np.hypot(vx, vy)
            # strictly convex: each turn left by more than the tolerance (collinear vertices,
            # e.g. a neighbour's corner on the edge, and repeated points leave it to GEOS)
            if lu == 0.0 or lv == 0.0 or ux * vy - uy * vx <= eps_rel * lu * lv:
                ok = False
                break
            ln[a] = lu
            nx[a], ny[a] = -uy / lu, ux / lu
        if ok:
            pos += n
    off[n_g] = pos
    return off, qx[:pos], qy[:pos], nx[:pos], ny[:pos], ln[:pos]


@_njit
def _apart(ax, ay, bx, by, box):
    """The segment's box misses ``box``."""
    return (
        max(ax, bx) < box[0] or min(ax, bx) > box[2] or max(ay, by) < box[1] or min(ay, by) > box[3]
    )


@_njit
def clip_pair(sx, sy, s_ring, s_poly, s_geom, sg, qx, qy, nx, ny, ln, box, eps,
              oxy, o_ring, o_poly, counts,
              vi, kind, cx, cy, key, kedge, edge):  # fmt: skip
    """Subject geometry ``sg`` ∩ the convex CCW ring (qx, qy).

    Returns (status, coordinates, rings, pieces written). The coordinates (``oxy``) and the
    ring and piece starts (``o_ring``, ``o_poly``: positions in ``oxy`` and ``o_ring``) are
    written from the positions ``counts`` holds on entry; the buffers must hold
    :func:`_bound` more (see there). Only a PIECES result is to be kept: anything written for
    another status is scratch. ``box`` is the clip's bounding box grown by ``eps``.
    """
    m = len(qx)
    c0, r0, p0 = counts[0], counts[1], counts[2]
    nc, nr, npc = 0, 0, 0
    status = PIECES
    all_inside = True  # every subject ring wholly inside the clip
    clip_in = False  # the clip lies inside one subject part (between its holes)
    for part in range(s_geom[sg], s_geom[sg + 1]):
        r_first, r_last = s_poly[part], s_poly[part + 1]
        if r_last == r_first:
            return FALLBACK, nc, nr, npc
        # a part whose exterior's box misses the clip's (by more than eps) adds nothing
        s, e = s_ring[r_first], s_ring[r_first + 1]
        lo_x, hi_x = sx[s:e].min(), sx[s:e].max()
        lo_y, hi_y = sy[s:e].min(), sy[s:e].max()
        if lo_x > box[2] or hi_x < box[0] or lo_y > box[3] or hi_y < box[1]:
            all_inside = False
            continue
        # per ring: classify; crossings only on the exterior
        n_inner_holes = 0
        ext_inside = False
        ext_cross = 0
        piece_first = npc
        for r in range(r_first, r_last):
            s, e = s_ring[r], s_ring[r + 1] - 1
            n = e - s
            if n < 3:
                return FALLBACK, nc, nr, npc
            n_in = 0
            for i in range(n):
                x, y = sx[s + i], sy[s + i]
                if x < box[0] or x > box[2] or y < box[1] or y > box[3]:
                    continue  # outside the clip's box grown by eps: outside, not near
                g = np.inf
                for k in range(m):
                    d = (x - qx[k]) * nx[k] + (y - qy[k]) * ny[k]
                    if d < g:
                        g = d
                if abs(g) < eps:
                    return FALLBACK, nc, nr, npc
                if g > 0:
                    n_in += 1
            # a clip vertex near a subject edge (or a crossing near a clip vertex)
            for i in range(n):
                ax, ay = sx[s + i], sy[s + i]
                bx, by = sx[s + i + 1], sy[s + i + 1]
                if _apart(ax, ay, bx, by, box):
                    continue
                ux, uy = bx - ax, by - ay
                l2 = ux * ux + uy * uy
                for k in range(m):
                    if (
                        qx[k] < min(ax, bx) - eps
                        or qx[k] > max(ax, bx) + eps
                        or qy[k] < min(ay, by) - eps
                        or qy[k] > max(ay, by) + eps
                    ):
                        continue
                    t = ((qx[k] - ax) * ux + (qy[k] - ay) * uy) / l2 if l2 > 0 else 0.0
                    t = min(1.0, max(0.0, t))
                    if np.hypot(ax + t * ux - qx[k], ay + t * uy - qy[k]) < eps:
                        return FALLBACK, nc, nr, npc
            if r == r_first:
                ext_inside = n_in == n
                if n_in != n:
                    all_inside = False
                continue
            # a hole: wholly inside the clip, or apart from it
            if n_in == n:
                n_inner_holes += 1
                continue
            if n_in != 0:
                return FALLBACK, nc, nr, npc
            all_inside = False
            # all vertices outside: an edge may still cut a corner of the clip
            for i in range(n):
                if _apart(sx[s + i], sy[s + i], sx[s + i + 1], sy[s + i + 1], box):
                    continue
                t0, t1 = 0.0, 1.0
                for k in range(m):
                    dp = (sx[s + i] - qx[k]) * nx[k] + (sy[s + i] - qy[k]) * ny[k]
                    dq = (sx[s + i + 1] - qx[k]) * nx[k] + (sy[s + i + 1] - qy[k]) * ny[k]
                    if dp < 0 and dq < 0:
                        t0, t1 = 1.0, 0.0
                        break
                    if dp < 0:
                        t0 = max(t0, dp / (dp - dq))
                    elif dq < 0:
                        t1 = min(t1, dp / (dp - dq))
                if t0 < t1:
                    return FALLBACK, nc, nr, npc
            # or surround it (then the clip is in the hole: left to GEOS)
            if _point_in_ring(sx, sy, s, n, qx[0], qy[0]):
                return FALLBACK, nc, nr, npc
        if ext_inside:
            # the part is inside the clip: it is its own piece (with all its holes)
            for r in range(r_first, r_last):
                o_ring[r0 + nr] = c0 + nc
                s, e = s_ring[r], s_ring[r + 1]
                area2 = 0.0
                for i in range(s, e - 1):
                    area2 += sx[i] * sy[i + 1] - sx[i + 1] * sy[i]
                cw = area2 < 0
                want_cw = r == r_first
                for i in range(e - s):
                    j = s + i if cw == want_cw else e - 1 - i
                    oxy[c0 + nc + i, 0], oxy[c0 + nc + i, 1] = sx[j], sy[j]
                nc += e - s
                nr += 1
            o_poly[p0 + npc] = r0 + nr - (r_last - r_first)
            npc += 1
            continue
        # exterior ring, traversed CCW
        s, e = s_ring[r_first], s_ring[r_first + 1] - 1
        n = e - s
        area2 = 0.0
        for i in range(n):
            area2 += sx[s + i] * sy[s + i + 1] - sx[s + i + 1] * sy[s + i]
        for i in range(n + 1):
            vi[i] = s + i if area2 > 0 else e - i
        # crossings in ring order: kind (1 entry, -1 exit), point, key along the clip
        k_n = 0
        for i in range(n):
            a, b = vi[i], vi[i + 1]
            if _apart(sx[a], sy[a], sx[b], sy[b], box):
                continue
            t0, t1 = 0.0, 1.0
            e_in, e_out = -1, -1
            for k in range(m):
                dp = (sx[a] - qx[k]) * nx[k] + (sy[a] - qy[k]) * ny[k]
                dq = (sx[b] - qx[k]) * nx[k] + (sy[b] - qy[k]) * ny[k]
                if dp < 0 and dq < 0:
                    t0, t1 = 1.0, 0.0
                    break
                if dp < 0:
                    t = dp / (dp - dq)
                    if t > t0:
                        t0, e_in = t, k
                elif dq < 0:
                    t = dp / (dp - dq)
                    if t < t1:
                        t1, e_out = t, k
            if not t0 < t1:
                continue
            ux, uy = sx[b] - sx[a], sy[b] - sy[a]
            for which in range(2):
                ek = e_in if which == 0 else e_out
                if ek < 0:
                    continue
                t = t0 if which == 0 else t1
                px, py = sx[a] + t * ux, sy[a] + t * uy
                f = (ek + 1) % m
                dx, dy = qx[f] - qx[ek], qy[f] - qy[ek]
                u = ((px - qx[ek]) * dx + (py - qy[ek]) * dy) / (ln[ek] * ln[ek])
                u = max(u, 0.0)
                if u >= 1.0:  # cannot be: no crossing lies near a clip vertex
                    return FALLBACK, nc, nr, npc
                kind[k_n] = 1 if which == 0 else -1
                cx[k_n], cy[k_n] = px, py
                key[k_n] = ek + u
                kedge[k_n] = ek
                edge[k_n] = i
                k_n += 1
        ext_cross = k_n
        if ext_cross == 0:
            # no crossing: the clip is inside the exterior or apart from it
            if _point_in_ring(sx, sy, s, n, qx[0], qy[0]):
                clip_in = True
                if n_inner_holes:
                    return FALLBACK, nc, nr, npc
            continue
        if ext_cross % 2:
            return FALLBACK, nc, nr, npc
        order = np.argsort(key[:k_n])
        rank = np.empty(k_n, dtype=np.int64)
        for i in range(k_n):
            rank[order[i]] = i
        seen = np.zeros(k_n, dtype=np.bool_)
        for start in range(k_n):
            if kind[start] != 1 or seen[start]:
                continue
            ring_start = nc
            cur = start
            while True:
                if kind[cur] != 1 or seen[cur]:
                    return FALLBACK, nc, nr, npc
                seen[cur] = True
                oxy[c0 + nc, 0], oxy[c0 + nc, 1] = cx[cur], cy[cur]
                nc += 1
                nxt = (cur + 1) % k_n  # the exit that follows in ring order
                if kind[nxt] != -1:
                    return FALLBACK, nc, nr, npc
                # subject vertices after the entry's edge up to the exit's edge
                i, j = edge[cur], edge[nxt]
                cnt = (j - i) % n
                for q in range(cnt):
                    v = vi[(i + 1 + q) % n]
                    oxy[c0 + nc, 0], oxy[c0 + nc, 1] = sx[v], sy[v]
                    nc += 1
                oxy[c0 + nc, 0], oxy[c0 + nc, 1] = cx[nxt], cy[nxt]
                nc += 1
                # along the clip (CCW) to the next crossing, which must be an entry
                to = order[(rank[nxt] + 1) % k_n]
                ka, kb = kedge[nxt], kedge[to]
                cnt = (kb - ka) % m
                if cnt == 0 and key[to] < key[nxt]:
                    cnt = m
                for q in range(cnt):
                    v = (ka + 1 + q) % m
                    oxy[c0 + nc, 0], oxy[c0 + nc, 1] = qx[v], qy[v]
                    nc += 1
                cur = to
                if cur == start:
                    break
            # close, then turn the CCW ring clockwise (GEOS's shell orientation)
            oxy[c0 + nc, 0], oxy[c0 + nc, 1] = oxy[c0 + ring_start, 0], oxy[c0 + ring_start, 1]
            lo, hi = c0 + ring_start, c0 + nc
            while lo < hi:
                oxy[lo, 0], oxy[hi, 0] = oxy[hi, 0], oxy[lo, 0]
                oxy[lo, 1], oxy[hi, 1] = oxy[hi, 1], oxy[lo, 1]
                lo += 1
                hi -= 1
            o_ring[r0 + nr] = c0 + ring_start
            o_poly[p0 + npc] = r0 + nr
            nc += 1
            nr += 1
            npc += 1
            if nc - ring_start < 4:
                return FALLBACK, nc, nr, npc
        if n_inner_holes:
            if npc - piece_first != 1:
                return FALLBACK, nc, nr, npc
            # the holes inside the clip belong to the one piece
            for r in range(r_first + 1, r_last):
                hs, he = s_ring[r], s_ring[r + 1]
                g = np.inf
                for k in range(m):
                    d = (sx[hs] - qx[k]) * nx[k] + (sy[hs] - qy[k]) * ny[k]
                    if d < g:
                        g = d
                if g <= 0:
                    continue
                o_ring[r0 + nr] = c0 + nc
                area2 = 0.0
                for i in range(hs, he - 1):
                    area2 += sx[i] * sy[i + 1] - sx[i + 1] * sy[i]
                for i in range(he - hs):
                    j = hs + i if area2 > 0 else he - 1 - i
                    oxy[c0 + nc + i, 0], oxy[c0 + nc + i, 1] = sx[j], sy[j]
                nc += he - hs
                nr += 1
    if clip_in:
        if npc or all_inside:
            return FALLBACK, nc, nr, npc
        status = CLIP
    elif all_inside and npc:
        status = SUBJECT
    return status, nc, nr, npc


# Shewchuk's error bound for orient2d evaluated in floating point, (3 + 16ε)ε with ε = 2^-53,
# rounded up generously: where |det| exceeds it times the sum of the products' magnitudes,
# det has the exact determinant's sign (J. R. Shewchuk, "Adaptive Precision Floating-Point
# Arithmetic and Fast Robust Geometric Predicates", 1997, orient2dfast / ccwerrboundA)
_ORIENT_ERR = 4e-16


@_njit
def convex_cw(oxy, s, e):
    """Whether the closed ring oxy[s:e] (last point = first) is certainly a strictly convex
    clockwise ring, hence a valid polygon shell (simple, at least three corners).

    Every turn must be a strict right turn by the exact sign of its orientation determinant
    (the floating-point determinant beyond Shewchuk's error bound; NaN or infinite
    coordinates fail), and the edge direction must wind once: with every turn right by less
    than π, the direction angle falls by the sum of the turns, which is 2π times the number
    of times it passes from the upper half-plane of directions ([0, π): dy > 0, or dy = 0 and
    dx > 0) to the lower one (exact: the signs of dx, dy of a floating-point difference are
    exact). A closed polygon whose turns all have one sign and add up to one full turn is
    convex, hence simple (its edge directions are monotone through one revolution).
    """
    n = e - s - 1  # corners (the closing point repeats the first)
    if n < 3:
        return False
    passes = 0
    for i in range(n):
        a, b, c = s + i, s + (i + 1) % n, s + (i + 2) % n
        ux, uy = oxy[b, 0] - oxy[a, 0], oxy[b, 1] - oxy[a, 1]
        vx, vy = oxy[c, 0] - oxy[b, 0], oxy[c, 1] - oxy[b, 1]
        left, right = ux * vy, uy * vx
        size = abs(left) + abs(right)
        # (the floor keeps an underflowing product's absolute error inside the margin)
        if not (right - left > _ORIENT_ERR * size and size > 1e-290):
            return False
        up_u = uy > 0 or (uy == 0 and ux > 0)
        up_v = vy > 0 or (vy == 0 and vx > 0)
        if up_u and not up_v:
            passes += 1
    return passes == 1


@_njit
def _bound(s_ring, s_poly, s_geom, sg, m):
    """Upper bounds of the (coordinates, rings) :func:`clip_pair` writes for subject ``sg``.

    Per part with c coordinates (all its rings, closing points included) whose exterior has
    n < c edges: a part inside the clip is copied (c coordinates, its rings). A traced part
    writes each crossing once (at most 2 per exterior edge: 2n), each exterior vertex at most
    once (the subject runs go from an entry to the exit that follows it in ring order, and
    distinct entries give disjoint runs: n), each clip vertex at most once (the clip runs go
    from an exit to the crossing that follows it along the clip, disjoint gaps of the clip's
    boundary: m), one closing point per piece (at most one piece per entry: n), and the holes
    it keeps (< c). Together fewer than 4c + m coordinates per part, and fewer rings than
    pieces plus holes (< c). Early returns (FALLBACK) stop part way through the same writes.
    """
    g0, g1 = s_geom[sg], s_geom[sg + 1]
    c = s_ring[s_poly[g1]] - s_ring[s_poly[g0]]
    parts = g1 - g0
    return 4 * c + m * parts, c + parts


@_njit
def _grow(a, need):
    """``a`` (1-D) if it holds ``need`` items, else a copy at least twice as long."""
    if need <= len(a):
        return a
    b = np.empty(max(need, 2 * len(a)), dtype=a.dtype)
    b[: len(a)] = a
    return b


@_njit
def _grow_xy(a, need):
    """``a`` ((c, 2) coordinates) if it holds ``need`` rows, else a copy at least twice as long."""
    if need <= len(a):
        return a
    b = np.empty((max(need, 2 * len(a)), 2))
    b[: len(a)] = a
    return b


@_njit
def run(sx, sy, s_ring, s_poly, s_geom, si,
        q_off, qx, qy, nx, ny, ln, ci, eps_rel,
        status, n_coords, n_rings, n_pieces, convex, max_n, cap):  # fmt: skip
    """The result of each pair subject[si] ∩ clip[ci], in one pass.

    Fills ``status`` and, for PIECES pairs, ``n_coords``, ``n_rings``, ``n_pieces`` and
    ``convex`` (one piece without holes that :func:`convex_cw` certifies valid); returns
    the pieces of the PIECES pairs in pair order as (coordinates (c, 2), first coordinate of
    each ring, first ring of each piece), without the closing offsets. The coordinate buffer
    starts with ``cap`` rows; the buffers double when a pair's :func:`_bound` would not fit
    (amortised: each coordinate is copied fewer than twice on average).
    """
    n_pairs = len(si)
    counts = np.zeros(3, dtype=np.int64)
    box = np.empty(4)
    oxy = np.empty((cap, 2))
    o_ring = np.empty(2 * n_pairs + 16, dtype=np.int64)
    o_poly = np.empty(2 * n_pairs + 16, dtype=np.int64)
    tc, tr, tp = 0, 0, 0  # coordinates, rings, pieces kept so far
    # scratch for the crossings of one ring (at most two per edge)
    vi = np.empty(max_n + 1, dtype=np.int64)
    kind = np.empty(2 * max_n, dtype=np.int64)
    cx, cy, key = np.empty(2 * max_n), np.empty(2 * max_n), np.empty(2 * max_n)
    kedge = np.empty(2 * max_n, dtype=np.int64)
    edge = np.empty(2 * max_n, dtype=np.int64)
    for k in range(n_pairs):
        a, b = q_off[ci[k]], q_off[ci[k] + 1]
        if b == a:
            status[k] = FALLBACK
            continue
        # tolerance: relative to the clip's extent and to the coordinates' magnitude
        lo_x, hi_x = qx[a:b].min(), qx[a:b].max()
        lo_y, hi_y = qy[a:b].min(), qy[a:b].max()
        ext = max(hi_x - lo_x, hi_y - lo_y)
        mag = max(abs(lo_x), abs(hi_x), abs(lo_y), abs(hi_y))
        eps = eps_rel * ext + 1e-12 * mag
        box[0], box[1], box[2], box[3] = lo_x - eps, lo_y - eps, hi_x + eps, hi_y + eps
        bc, br = _bound(s_ring, s_poly, s_geom, si[k], b - a)
        oxy = _grow_xy(oxy, tc + bc)
        o_ring = _grow(o_ring, tr + br)
        o_poly = _grow(o_poly, tp + br)
        counts[0], counts[1], counts[2] = tc, tr, tp
        st, nc, nr, npc = clip_pair(sx, sy, s_ring, s_poly, s_geom, si[k],
                                    qx[a:b], qy[a:b], nx[a:b], ny[a:b], ln[a:b], box, eps,
                                    oxy, o_ring, o_poly, counts,
                                    vi, kind, cx, cy, key, kedge, edge)  # fmt: skip
        if nc > bc or nr > br:  # cannot be (see _bound): the buffers were overrun
            raise RuntimeError("convex clip: output bound exceeded")
        status[k] = st
        if st == PIECES:
            n_coords[k], n_rings[k], n_pieces[k] = nc, nr, npc
            convex[k] = nr == 1 and npc == 1 and convex_cw(oxy, tc, tc + nc)
            tc, tr, tp = tc + nc, tr + nr, tp + npc
    return oxy[:tc], o_ring[:tr], o_poly[:tp]
