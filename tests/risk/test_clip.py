"""The compiled convex clip (minemap.risk._clip) against GEOS's overlay."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from minemap.risk._clip import _ragged, convex_clip_pairs
from tests.conftest import real_data

ROOT = Path(__file__).resolve().parents[2]
# EPSG:3035-like magnitudes: the tolerance must hold where the coordinates are large
X0, Y0 = 4_300_000.0, 3_100_000.0


def _at(coords, dx: float = 0.0, dy: float = 0.0) -> list[tuple[float, float]]:
    return [(X0 + x + dx, Y0 + y + dy) for x, y in coords]


def _poly(shell, *holes) -> shapely.Polygon:
    return shapely.Polygon(_at(shell), [_at(h) for h in holes])


def _clip_one(subject, clip) -> tuple[shapely.Geometry | None, bool]:
    out, done = convex_clip_pairs(
        np.array([subject], dtype=object), np.array([0]), np.array([clip], dtype=object), [0]
    )
    return out[0], bool(done[0])


def _assert_matches_geos(result, subject, clip) -> None:
    ref = shapely.intersection(subject, clip)
    assert shapely.is_valid(result)
    assert result.geom_type in ("Polygon", "MultiPolygon")
    assert result.area == pytest.approx(ref.area, rel=1e-9, abs=1e-9)
    assert shapely.symmetric_difference(result, ref).area <= 1e-9 * max(ref.area, 1.0)
    assert len(shapely.get_parts(result)) == len(shapely.get_parts(ref))


# a convex parcel: a rotated rectangle
PARCEL = shapely.Polygon(_at([(0, 0), (100, 20), (80, 120), (-20, 100)]))


def test_convex_cell_by_convex_parcel():
    cell = _poly([(50, 50), (200, 50), (200, 200), (50, 200)])
    out, done = _clip_one(cell, PARCEL)
    assert done
    _assert_matches_geos(out, cell, PARCEL)
    # GEOS's overlay orientation: shell clockwise
    assert not shapely.is_ccw(out.exterior)


def test_non_convex_cell_with_two_crossings():
    # an L-shaped cell whose reflex corner lies inside the parcel
    cell = _poly([(40, 40), (300, 40), (300, 70), (70, 70), (70, 300), (40, 300)])
    out, done = _clip_one(cell, PARCEL)
    assert done
    assert out.geom_type == "Polygon"
    _assert_matches_geos(out, cell, PARCEL)


def test_cell_crossing_the_parcel_four_times_gives_two_pieces():
    # a U opening downwards whose two legs reach into the parcel: two separate pieces
    cell = _poly([(0, 60), (0, 300), (60, 300), (60, 60), (45, 60), (45, 280), (15, 280), (15, 60)])
    out, done = _clip_one(cell, PARCEL)
    assert done
    assert out.geom_type == "MultiPolygon"
    _assert_matches_geos(out, cell, PARCEL)


def test_cell_clockwise_or_not_gives_the_same_area():
    shell = [(40, 40), (300, 40), (300, 70), (70, 70), (70, 300), (40, 300)]
    ccw, cw = _poly(shell), _poly(shell[::-1])
    a, done_a = _clip_one(ccw, PARCEL)
    b, done_b = _clip_one(cw, PARCEL)
    assert done_a
    assert done_b
    assert a.area == pytest.approx(b.area, rel=1e-12)


@pytest.mark.parametrize(
    "cell",
    [
        # a cell vertex exactly on the parcel's edge (0,0)-(100,20)
        _poly([(50, 10), (150, -50), (150, 100)]),
        # a parcel vertex on the cell's edge
        _poly([(-50, 0), (100, 0), (100, -50), (-50, -50)]),
        # a shared (collinear, overlapping) edge
        _poly([(0, 0), (100, 20), (110, -40)]),
        # the parcel's corner exactly at the cell's corner
        _poly([(0, 0), (-30, -5), (-30, -40), (10, -40)]),
    ],
    ids=["vertex-on-edge", "parcel-vertex-on-cell-edge", "shared-edge", "shared-corner"],
)
def test_touching_pairs_are_left_to_geos(cell):
    out, done = _clip_one(cell, PARCEL)
    assert not done
    assert out is None


def test_holes():
    shell = [(-100, -100), (300, -100), (300, 300), (-100, 300)]
    # a hole inside the parcel: kept in the piece (here the parcel is inside the cell's shell)
    inner = _poly([(40, 40), (300, 40), (300, 300), (40, 300)], [(50, 50), (60, 50), (60, 60)])
    out, done = _clip_one(inner, PARCEL)
    assert done
    assert len(out.interiors) == 1
    _assert_matches_geos(out, inner, PARCEL)
    assert shapely.is_ccw(out.interiors[0])  # GEOS's hole orientation
    # a hole far from the parcel: the result is the parcel
    far = _poly(shell, [(250, 250), (280, 250), (280, 280)])
    out, done = _clip_one(far, PARCEL)
    assert done
    _assert_matches_geos(out, far, PARCEL)
    # a hole crossing the parcel's boundary, or around the parcel: GEOS
    crossing = _poly(shell, [(-50, -50), (10, -50), (10, 10), (-50, 10)])
    around = _poly(shell, [(-60, -60), (200, -60), (200, 200), (-60, 200)])
    assert not _clip_one(crossing, PARCEL)[1]
    assert not _clip_one(around, PARCEL)[1]


def test_multipart_cell():
    cell = shapely.MultiPolygon(
        [
            _poly([(40, 40), (300, 40), (300, 70), (70, 70), (70, 300), (40, 300)]),
            _poly([(-60, -60), (-40, -60), (-40, -40)]),  # apart from the parcel
            _poly([(5, 5), (30, 10), (20, 30)]),  # inside the parcel
        ]
    )
    out, done = _clip_one(cell, PARCEL)
    assert done
    assert out.geom_type == "MultiPolygon"
    _assert_matches_geos(out, cell, PARCEL)


def test_containment_and_disjoint():
    big = _poly([(-100, -100), (300, -100), (300, 300), (-100, 300)])
    small = _poly([(10, 20), (40, 25), (30, 50)])
    apart = _poly([(500, 500), (600, 500), (600, 600)])
    out, done = _clip_one(big, PARCEL)
    assert done
    assert out.equals(PARCEL)
    out, done = _clip_one(small, PARCEL)
    assert done
    assert out.equals(small)
    out, done = _clip_one(apart, PARCEL)
    assert done
    assert out.is_empty


@pytest.mark.parametrize(
    "clip",
    [
        _poly([(0, 0), (100, 0), (50, 30), (100, 100), (0, 100)]),  # non-convex
        _poly([(0, 0), (50, 0), (100, 0), (100, 100), (0, 100)]),  # a collinear vertex
        _poly([(0, 0), (100, 0), (100, 100), (0, 100)], [(10, 10), (20, 10), (20, 20)]),  # hole
        shapely.MultiPolygon(
            [_poly([(0, 0), (10, 0), (10, 10)]), _poly([(20, 20), (30, 20), (30, 30)])]
        ),
        shapely.LineString(_at([(0, 0), (100, 100)])),
        shapely.Polygon(),
    ],
    ids=["non-convex", "collinear", "hole", "multi", "line", "empty"],
)
def test_only_convex_clips_are_computed(clip):
    cell = _poly([(40, 40), (300, 40), (300, 70), (70, 70), (70, 300), (40, 300)])
    assert not _clip_one(cell, clip)[1]


def _random_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random non-convex (star-shaped) subjects, some with holes or two parts, some snapped to
    a 10 m grid (vertices on edges, shared edges), against random convex polygons."""
    rng = np.random.default_rng(seed)

    def star(cx, cy, r, k):
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.3, 1.0, k)
        return np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]

    subs, clips = [], []
    for _ in range(n):
        snap = rng.random() < 0.2
        pts = rng.uniform(-80, 80, (rng.integers(3, 9), 2)) + np.array([X0, Y0])
        ring = star(X0 + rng.uniform(-50, 50), Y0 + rng.uniform(-50, 50), 100, rng.integers(3, 40))
        if snap:
            pts, ring = np.round(pts / 10) * 10, np.round(ring / 10) * 10
        kind = rng.integers(0, 3)
        if kind == 1:
            subject = shapely.Polygon(ring, [star(X0, Y0, 8, 6)])
        elif kind == 2:
            other = star(X0 + 250, Y0 + rng.uniform(-100, 100), 90, rng.integers(3, 20))
            subject = shapely.MultiPolygon([shapely.Polygon(ring), shapely.Polygon(other)])
        else:
            subject = shapely.Polygon(ring)
        subs.append(subject)
        clips.append(shapely.convex_hull(shapely.multipoints(pts)))
    subs = shapely.make_valid(np.array(subs, dtype=object))
    clips = np.array(clips, dtype=object)
    keep = np.isin(shapely.get_type_id(subs), (3, 6)) & (shapely.get_type_id(clips) == 3)
    keep &= shapely.intersects(subs, clips)
    return subs[keep], clips[keep]


def _check_against_geos(out, done, subs, clips, si, ci) -> None:
    ref = shapely.intersection(subs[si[done]], clips[ci[done]])
    got = out[done]
    area, ref_area = shapely.area(got), shapely.area(ref)
    np.testing.assert_allclose(area, ref_area, rtol=1e-9, atol=1e-9)
    assert shapely.is_valid(got).all()
    sym = shapely.area(shapely.symmetric_difference(got, ref))
    assert (sym <= 1e-9 * np.maximum(ref_area, 1.0)).all()
    assert (out[~done] == None).all()  # noqa: E711 (elementwise)


def test_random_pairs_match_geos_and_do_not_depend_on_threads():
    subs, clips = _random_pairs(3000, seed=7)
    n = len(subs)
    assert n > 2000  # enough pairs for several chunks on two threads
    idx = np.arange(n)
    out2, done2 = convex_clip_pairs(subs, idx, clips, idx, n_threads=2)
    out1, done1 = convex_clip_pairs(subs, idx, clips, idx, n_threads=1)
    assert 0.5 < done2.mean() < 1.0  # most computed, the snapped (touching) ones left to GEOS
    _check_against_geos(out2, done2, subs, clips, idx, idx)
    np.testing.assert_array_equal(done1, done2)
    assert (shapely.to_wkb(out1[done1]) == shapely.to_wkb(out2[done2])).all()


def test_pairs_reuse_geometries_by_position():
    subs, clips = _random_pairs(200, seed=3)
    rng = np.random.default_rng(0)
    si = rng.integers(0, len(subs), 500)
    ci = rng.integers(0, len(clips), 500)
    out, done = convex_clip_pairs(subs, si, clips, ci)
    assert done.any()
    _check_against_geos(out, done, subs, clips, si, ci)


def test_real_cadastral_parcels_against_geos():
    path = real_data("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson")
    parcels = gpd.read_file(path).to_crs(3035)
    geoms = shapely.make_valid(parcels.geometry.to_numpy())
    geoms = geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]
    rng = np.random.default_rng(11)
    # random rotated rectangles of 50–800 m over the parcels (grid cells, as make_tasks cuts)
    centre = shapely.get_coordinates(shapely.point_on_surface(geoms))
    k = rng.integers(0, len(geoms), 4000)
    w, h = rng.uniform(50, 800, (2, len(k)))
    th = rng.uniform(0, np.pi, len(k))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) / 2
    rot = np.stack([np.c_[np.cos(th), -np.sin(th)], np.c_[np.sin(th), np.cos(th)]], axis=1)
    pts = np.einsum("nij,kj->nki", rot, corners) * np.c_[w, h][:, None, :]
    pts += (centre[k] + rng.uniform(-200, 200, (len(k), 2)))[:, None, :]
    cells = shapely.polygons(pts)
    # parcels (subject: real shapes, holes, multi-parts) clipped by the convex cells
    tree = shapely.STRtree(geoms)
    ci, si = tree.query(cells, predicate="intersects")
    out, done = convex_clip_pairs(geoms, si, cells, ci)
    assert done.mean() > 0.5
    _check_against_geos(out, done, geoms, cells, si, ci)
    # and the other way round (parcels as the clip): only the convex parcels are computed
    out, done = convex_clip_pairs(cells, ci, geoms, si)
    _check_against_geos(out, done, cells, geoms, ci, si)


def test_ragged_arrays_are_shapelys():
    # the flat arrays the kernels read, against shapely's own to_ragged_array
    holed = _poly([(0, 0), (100, 0), (100, 100), (0, 100)], [(10, 10), (20, 10), (20, 20)])
    multi = shapely.MultiPolygon([holed, _poly([(200, 0), (300, 0), (300, 50)])])
    tri = _poly([(0, 0), (10, 0), (0, 10)])
    geoms = np.array([tri, multi, holed, tri], dtype=object)
    x, y, ring, poly, geom = _ragged(geoms)
    _, coords, (r_ref, p_ref, g_ref) = shapely.to_ragged_array(geoms)
    np.testing.assert_array_equal(np.c_[x, y], coords)
    np.testing.assert_array_equal(ring, r_ref)
    np.testing.assert_array_equal(poly, p_ref)
    np.testing.assert_array_equal(geom, g_ref)
    # single-ring polygons only (the parcels' path)
    x, y, ring, poly, geom = _ragged(np.array([tri, holed.exterior], dtype=object)[:1])
    np.testing.assert_array_equal(np.c_[x, y], shapely.get_coordinates(tri))
    np.testing.assert_array_equal(ring, [0, 4])
    # anything else is one polygon without rings, where it stands
    odd = [
        shapely.Polygon(),
        shapely.MultiPolygon(),
        shapely.from_wkt(
            f"MULTIPOLYGON (EMPTY, (({X0} {Y0}, {X0 + 1} {Y0}, {X0} {Y0 + 1}, {X0} {Y0})))"
        ),
        shapely.LineString(_at([(0, 0), (1, 1)])),
        shapely.GeometryCollection([tri]),
    ]
    geoms = np.array([tri, *odd, holed], dtype=object)
    x, y, ring, poly, geom = _ragged(geoms)
    np.testing.assert_array_equal(geom, np.arange(len(geoms) + 1))
    rings_per_part = np.diff(poly)
    np.testing.assert_array_equal(rings_per_part, [1, 0, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(np.diff(ring), [4, 5, 4])
    np.testing.assert_array_equal(np.c_[x, y][-9:], shapely.get_coordinates(holed))


def _circle(cx: float, cy: float, r: float, k: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return np.c_[X0 + cx + r * np.cos(t), Y0 + cy + r * np.sin(t)]


def test_many_vertex_pieces_grow_the_buffers_across_chunks():
    # outputs far larger than the buffers' first size (16 coordinates per pair): subjects of
    # up to 3,000 vertices inside, across or around convex clips, one and several pieces,
    # spread over the chunks of two threads; equal for 1 and 2 threads and to GEOS
    rng = np.random.default_rng(5)
    subs, clips = [], []
    for i in range(2500):
        k = int(rng.choice([8, 200, 3000], p=[0.6, 0.3, 0.1]))
        case = i % 4
        if case == 0:  # a many-vertex circle inside the clip: copied whole
            subject = shapely.Polygon(_circle(0, 0, 40, k))
        elif case == 1:  # crossing the clip's boundary: one traced piece
            subject = shapely.Polygon(_circle(60, 10, 45, k))
        elif case == 2:  # a comb whose teeth reach into the clip: one piece per tooth
            teeth = max(k // 20, 2)
            xs = np.linspace(-90, 90, 2 * teeth)
            boxes = [shapely.box(*_at([(-95, 150), (95, 200)])[0], *_at([(95, 200)])[0])]
            boxes += [
                shapely.box(*_at([(xs[j], 0)])[0], *_at([(xs[j + 1], 150)])[0])
                for j in range(0, 2 * teeth, 2)
            ]
            subject = shapely.union_all(boxes)
        else:  # crossing the clip, with a hole inside it: one piece with the hole
            subject = shapely.Polygon(_circle(60, 10, 80, k), [_circle(20, 0, 10, k)])
        subs.append(subject)
        a = rng.uniform(0, np.pi / 2)
        clips.append(shapely.Polygon(_circle(0, 0, 100 + 5 * rng.random(), 7)[::-1]).buffer(0))
        clips[-1] = shapely.affinity.rotate(clips[-1], a, origin=(X0, Y0), use_radians=True)
    subs = np.array(subs, dtype=object)
    clips = np.array(clips, dtype=object)
    assert shapely.is_valid(subs).all()
    idx = np.arange(len(subs))
    out2, done2 = convex_clip_pairs(subs, idx, clips, idx, n_threads=2)
    out1, done1 = convex_clip_pairs(subs, idx, clips, idx, n_threads=1)
    assert done2.mean() > 0.95
    n_coords = shapely.get_num_coordinates(out2[done2])
    assert n_coords.max() > 2000
    assert n_coords.sum() > 16 * len(subs)
    assert (shapely.get_num_geometries(out2[done2]) > 5).any()  # many pieces
    assert (shapely.get_num_interior_rings(out2[done2]) > 0).any()
    _check_against_geos(out2, done2, subs, clips, idx, idx)
    np.testing.assert_array_equal(done1, done2)
    assert (shapely.to_wkb(out1[done1]) == shapely.to_wkb(out2[done2])).all()
    # the kernel itself: buffers starting at one coordinate (grown 19 times) or large enough
    from minemap.risk import _clip_kernels as kern

    subj = _ragged(subs)
    conv = kern.convex_rings(*_ragged(clips), 1e-9)
    max_n = int(np.diff(subj[2]).max())
    runs = []
    for cap in (1, 10_000_000):
        flags = [np.zeros(len(idx), dtype=t) for t in (np.int64,) * 4 + (bool,)]
        arrays = kern.run(*subj, idx, *conv, idx, 1e-9, *flags, max_n, cap)
        runs.append((flags, arrays))
    (flags_a, arrays_a), (flags_b, arrays_b) = runs
    assert len(arrays_a[0]) > 2**19  # more than half a million coordinates written
    for a, b in zip(flags_a + list(arrays_a), flags_b + list(arrays_b), strict=True):
        np.testing.assert_array_equal(a, b)


def _exactly_convex_cw(ring: np.ndarray) -> bool:
    """Every turn of the closed ring strictly right, in exact rational arithmetic."""
    pts = [(Fraction(x), Fraction(y)) for x, y in ring[:-1]]
    n = len(pts)
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) >= 0:
            return False
    return True


def _certified(ring: np.ndarray) -> bool:
    from minemap.risk._clip_kernels import convex_cw

    xy = np.ascontiguousarray(ring, dtype=float)
    return bool(convex_cw(xy, 0, len(xy)))


def test_convex_certificate_cases():
    square = np.array(_at([(0, 0), (0, 10), (10, 10), (10, 0), (0, 0)]))  # clockwise
    assert _certified(square)
    assert not _certified(square[::-1])  # counter-clockwise
    tri = np.array(_at([(0, 0), (0, 10), (10, 0), (0, 0)]))
    assert _certified(tri)
    assert not _certified(tri[[0, 1, 0]])  # too few corners
    # a collinear corner, a repeated point
    assert not _certified(np.array(_at([(0, 0), (0, 5), (0, 10), (10, 10), (10, 0), (0, 0)])))
    assert not _certified(np.array(_at([(0, 0), (0, 10), (0, 10), (10, 10), (10, 0), (0, 0)])))
    # a pentagram: every turn right, but it winds twice (self-intersecting)
    t = -np.arange(6) * 4 * np.pi / 5
    star = np.c_[X0 + 10 * np.cos(t), Y0 + 10 * np.sin(t)]
    assert not shapely.is_valid(shapely.Polygon(star))
    assert not _certified(star)
    for bad in (np.nan, np.inf):
        ring = square.copy()
        ring[2, 0] = bad
        assert not _certified(ring)


def test_convex_certificate_is_exact_near_degenerate_rings():
    # rings at EPSG:3035 magnitudes whose corners are moved by a few ulps, with extra corners
    # nearly on an edge, tiny rings and star polygons: whatever the kernel certifies is, in
    # exact arithmetic, strictly convex, and valid by GEOS
    rng = np.random.default_rng(17)
    certified = refused = 0
    for _ in range(4000):
        k = int(rng.integers(3, 12))
        r = 10.0 ** rng.uniform(-7, 2)
        step = -1 if rng.random() < 0.8 else -int(rng.integers(2, max(k // 2, 2) + 1))
        t = np.sort(rng.uniform(0, 2 * np.pi, k))[::step] if step == -1 else None
        if t is None:  # a star {k/step}, traversed clockwise
            t = step * np.arange(k) * 2 * np.pi / k
        pts = np.c_[X0 + r * np.cos(t), Y0 + r * np.sin(t)]
        if rng.random() < 0.5:  # a corner nearly on the edge between its neighbours
            i = int(rng.integers(0, k))
            mid = (pts[i] + pts[(i + 1) % k]) / 2
            pts = np.insert(pts, i + 1, mid, axis=0)
        ulps = rng.integers(-3, 4, pts.shape) * np.spacing(pts)
        pts = pts + ulps * (rng.random(pts.shape) < 0.5)
        ring = np.vstack([pts, pts[:1]])
        if _certified(ring):
            certified += 1
            assert _exactly_convex_cw(ring)
            assert shapely.is_valid(shapely.Polygon(ring))
        else:
            refused += 1
    assert certified > 1000
    assert refused > 1000


def test_convex_certificate_is_exact_where_floating_point_turns_are_wrong():
    # rings a, b, c, far whose corner b is nearly flat (c extrapolated along a→b, moved by a
    # few ulps) and whose other corners turn clearly right: for some, the floating-point turn
    # at b is right while the exact one is flat or left; none of those may be certified
    rng = np.random.default_rng(1)
    n = 20_000
    a = rng.uniform(-1, 1, (n, 2)) * X0
    b = a + rng.uniform(-1, 1, (n, 2)) * X0 * rng.uniform(0.01, 1, (n, 1))
    c = a + rng.uniform(1.1, 3, (n, 1)) * (b - a)
    c += rng.integers(-2, 3, c.shape) * np.spacing(c)
    far = (a + c) / 2 + 0.5 * np.c_[c[:, 1] - a[:, 1], a[:, 0] - c[:, 0]]  # right of a→c
    rings = np.stack([a, b, c, far, a], axis=1)
    u, v = b - a, c - b
    naive = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0] < 0
    fooled = 0
    for k in np.flatnonzero(naive):
        exact = _exactly_convex_cw(rings[k])
        fooled += not exact
        if _certified(rings[k]):
            assert exact
    assert fooled > 10
