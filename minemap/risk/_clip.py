"""Pairwise intersection with a convex polygon, compiled (numba), for the cell × parcel cut.

GEOS's overlay costs ~30 µs per pair, ~12 µs of it fixed per call, for what is at the cell ×
parcel cut of :func:`minemap.risk.tasks.make_tasks` mostly a small polygon against a convex
quadrilateral. When one side of a pair is a **convex** polygon (one ring, no holes), its
intersection with the other side is computed here by Weiler–Atherton tracing specialised to a
convex clip:

* every edge of the other polygon's rings is clipped against the convex polygon's half-planes
  (Cyrus–Beck), which gives its entry and exit points in ring order;
* each piece of the result is traced from an entry point along the subject ring to the next
  exit, then counter-clockwise along the convex polygon's boundary to the next entry, until it
  closes; a ring without crossings is inside the convex polygon, around it or apart from it.

The result is exact up to the rounding of the crossing points (as GEOS's is), and valid by
construction when the two boundaries cross properly. Anything doubtful is **not** computed
here and is left to GEOS by the caller: a vertex of either polygon within a small tolerance of
the other's boundary (touching, shared or collinear edges), a hole crossing or within the
convex polygon's boundary, a hole inside a result of more than one piece, a hole around the
convex polygon, geometries other than (Multi)Polygons. Results are then checked with
``is_valid`` and any invalid one is left to GEOS too — except a result of one piece without
holes whose ring the kernel certifies strictly convex (exact orientation signs, one turn of
the edge direction: :func:`minemap.risk._clip_kernels.convex_cw`), which is a valid polygon
by construction (about 2/3 of the pieces at the cell × parcel cut). Pieces are written as
GEOS writes overlay results (shells clockwise, holes counter-clockwise); their vertex order and
start point differ from GEOS's, so results are equal to GEOS's in area and point set, not byte
for byte.

The kernels are compiled on first use and cached on disk (``numba.njit(cache=True,
nogil=True)``); numba is imported only then, so ``import minemap`` stays light. The pairs are
cut into chunks run on ``n_threads`` threads (the kernels release the GIL); each chunk writes
its pieces in one pass into buffers of its own that grow by doubling (ahead of each pair, by a
proven bound of what it can write), and the chunks are put together in pair order, so the
output does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
import shapely

from minemap.risk import _spatial

__all__ = ["convex_clip_pairs", "warm_up"]

_EMPTY = shapely.Polygon()


def _ragged(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, ring starts, polygon → first ring, geometry → first polygon) of (Multi)Polygons.

    Each offset array has one more entry than items. A geometry that is not a (Multi)Polygon,
    is empty or has an empty part is given as one polygon without rings: the kernels leave its
    pairs to GEOS. The arrays are those of ``shapely.to_ragged_array`` (rings in GEOS's order,
    closing points included), found at a third of its cost: single-ring polygons (parcels,
    mostly) from their coordinates, others from :func:`minemap.risk._spatial._rings`.
    """
    n = len(geoms)
    type_id = shapely.get_type_id(geoms)
    ok = np.isin(type_id, (3, 6))
    if ok.all() and (type_id == 3).all():
        ok = ~shapely.is_empty(geoms)
        if ok.all() and not shapely.get_num_interior_rings(geoms).any():
            # one ring each: the coordinates are the rings
            xy = shapely.get_coordinates(geoms)
            ring = np.r_[0, np.cumsum(shapely.get_num_coordinates(geoms))].astype(np.int64)
            poly = geom = np.arange(n + 1, dtype=np.int64)
            return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), ring, poly, geom
    geoms = np.where(ok, geoms, _EMPTY)
    n_parts = shapely.get_num_geometries(geoms)
    for _ in range(2):
        xy, ring, hole, geom_ring = _spatial._rings(geoms)
        ext = np.flatnonzero(~hole)  # each part's exterior, in order
        n_ext = np.bincount(np.searchsorted(geom_ring, ext, side="right") - 1, minlength=n)
        bad = (n_ext != n_parts) | (n_ext == 0)  # empty, or a part is
        if not (bad & (np.diff(geom_ring) > 0)).any():
            break
        geoms = np.where(bad, _EMPTY, geoms)  # rare: drop the rings of the bad ones
    # a bad geometry (no rings left) is one part without rings, at its ring position
    per_geom = np.where(bad, 1, n_ext)
    geom = np.r_[0, np.cumsum(per_geom)].astype(np.int64)
    poly = np.empty(geom[-1] + 1, dtype=np.int64)
    poly[:-1][np.repeat(~bad, per_geom)] = ext
    poly[geom[:-1][bad]] = geom_ring[:-1][bad]
    poly[-1] = len(hole)
    ring = np.asarray(ring, dtype=np.int64)
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), ring, poly, geom


def _chunks(n: int, n_threads: int) -> np.ndarray:
    """Bounds of the chunks of ``n`` pairs: 8 per thread, one below 2,000 pairs."""
    k = 1 if n_threads <= 1 or n < 2000 else 8 * n_threads
    return np.unique(np.linspace(0, n, k + 1).astype(np.int64))


def convex_clip_pairs(
    subject: np.ndarray,
    si: np.ndarray,
    clip: np.ndarray,
    ci: np.ndarray,
    *,
    eps_rel: float = 1e-9,
    n_threads: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """``subject[si[k]] ∩ clip[ci[k]]`` per pair, where ``clip[ci[k]]`` is a convex polygon.

    Parameters
    ----------
    subject, clip : ndarray of shapely geometries
        (Multi)Polygons; only pairs whose ``clip`` geometry is a single strictly convex ring
        are computed.
    si, ci : ndarray of int
        Positions of the pairs in ``subject`` and ``clip``.
    eps_rel : float, default 1e-9
        Tolerance relative to the convex polygon's extent (plus 1e-12 of the coordinates'
        magnitude) within which a vertex counts as touching the other boundary: such pairs,
        and the other cases listed in the module docstring, are not computed.
    n_threads : int, default 2
        Threads running the compiled kernel (the output does not depend on it).

    Returns
    -------
    geoms : ndarray of object
        The intersection (a Polygon, MultiPolygon or empty Polygon) where computed, None
        elsewhere.
    done : ndarray of bool
        Pairs computed here; the others are left to GEOS.
    """
    si = np.asarray(si, dtype=np.int64)
    ci = np.asarray(ci, dtype=np.int64)
    n = len(si)
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out, np.zeros(0, dtype=bool)
    from minemap.risk import _clip_kernels as kern  # numba: compiled or loaded on first use

    us, s_pos = np.unique(si, return_inverse=True)
    uc, c_pos = np.unique(ci, return_inverse=True)
    subj = _ragged(np.asarray(subject, dtype=object)[us])
    conv = kern.convex_rings(*_ragged(np.asarray(clip, dtype=object)[uc]), eps_rel)
    max_n = int(np.diff(subj[2]).max()) if len(subj[2]) > 1 else 0
    s_pos = s_pos.astype(np.int64)
    c_pos = c_pos.astype(np.int64)
    status = np.zeros(n, dtype=np.int64)
    n_coords = np.zeros(n, dtype=np.int64)
    n_rings = np.zeros(n, dtype=np.int64)
    n_pieces = np.zeros(n, dtype=np.int64)
    convex = np.zeros(n, dtype=bool)  # certified valid in the kernel: no is_valid needed
    chunks = _chunks(n, n_threads)
    # a first size for each chunk's coordinate buffer: its subjects' coordinates (a piece
    # rarely has many more), so that the buffers seldom grow
    ring, poly, geom = subj[2:]
    pair_c = np.diff(ring[poly[geom]])[s_pos]
    results: dict[int, np.ndarray] = {}

    def run(a: int, b: int) -> None:
        cap = int(pair_c[a:b].sum()) + 8 * (b - a) + 64
        oxy, o_ring, o_poly = kern.run(*subj, s_pos[a:b], *conv, c_pos[a:b], eps_rel,
                                       status[a:b], n_coords[a:b], n_rings[a:b], n_pieces[a:b],
                                       convex[a:b], max_n, cap)  # fmt: skip
        # the chunk's pieces, in pair order (no copy of the coordinates into one array)
        results[a] = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON,
            oxy,
            (np.append(o_ring, len(oxy)), np.append(o_poly, len(o_ring))),
        )

    _spatial.run_spans(run, chunks, n_threads=n_threads)
    parts = [results[int(a)] for a in chunks[:-1]]
    pieces = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if len(pieces):
        p_start = np.r_[0, np.cumsum(n_pieces)[:-1]]
        owner = np.repeat(np.arange(n), n_pieces)
        one = np.flatnonzero(n_pieces == 1)
        out[one] = pieces[p_start[one]]
        several = np.flatnonzero(n_pieces > 1)
        if len(several):
            sel = np.isin(owner, several)
            # owner[sel] is sorted: its rank among the pairs with several pieces
            multi = shapely.multipolygons(pieces[sel], indices=np.searchsorted(several, owner[sel]))
            out[several] = multi
    empty = (status == kern.PIECES) & (n_pieces == 0)
    out[empty] = _EMPTY
    is_subject = status == kern.SUBJECT
    out[is_subject] = np.asarray(subject, dtype=object)[si[is_subject]]
    is_clip = status == kern.CLIP
    out[is_clip] = np.asarray(clip, dtype=object)[ci[is_clip]]
    done = status != kern.FALLBACK
    # safety net: anything invalid (a case the checks above missed) goes to GEOS; the single
    # strictly convex rings the kernel certified (most pieces, ~2/3 at L) need no check
    built = np.flatnonzero(done & (n_pieces > 0) & ~convex)
    if len(built):
        valid = np.concatenate(
            _spatial.parallel_chunks(
                shapely.is_valid, out[built], n_threads=n_threads, min_chunk=1000,
                n_chunks=8 * n_threads,
            )
        )  # fmt: skip
        bad = built[~valid]
        out[bad] = None
        done[bad] = False
    return out, done


def warm_up() -> None:
    """Load the kernels from numba's on-disk cache (or compile them, on a machine's first run)
    with one small pair, so that a later call does not pay for it."""
    convex_clip_pairs(
        np.array([shapely.box(0.0, 0.0, 2.0, 2.0)], dtype=object),
        np.zeros(1, dtype=np.int64),
        np.array([shapely.box(1.0, 1.0, 3.0, 3.0)], dtype=object),
        np.zeros(1, dtype=np.int64),
        n_threads=1,
    )
