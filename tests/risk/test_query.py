"""The compiled polygon-intersects test (minemap.risk._query_kernels) against GEOS."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from minemap.risk import _query_kernels as qk

# EPSG:3035-like magnitudes (the error bound must hold where coordinates are large) and
# lon/lat ones (make_tasks queries the parcels in EPSG:4326)
ORIGINS = [(4_300_000.0, 3_100_000.0, 1.0), (30.5, 49.2, 1e-5)]


def _random_polygons(rng: np.random.Generator, n: int, x0: float, y0: float, unit: float):
    """Stars, boxes, polygons with holes and multi-polygons, some on an integer grid (shared
    edges, touching corners, vertices on edges)."""
    out = []
    for _ in range(n):
        cx, cy = rng.uniform(0, 60, 2)
        kind = rng.integers(0, 5)
        if kind == 0:  # star-shaped, many vertices
            k = int(rng.integers(5, 40))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = rng.uniform(1, 8, k)
            g = shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
        elif kind == 1:  # grid box: touches others along edges and corners
            x, y = np.floor([cx, cy])
            w, h = rng.integers(1, 6, 2)
            g = shapely.box(x, y, x + w, y + h)
        elif kind == 2:  # with a hole
            g = (
                shapely.Point(cx, cy)
                .buffer(rng.uniform(3, 9), 8)
                .difference(shapely.Point(cx, cy).buffer(rng.uniform(0.5, 2.5), 8))
            )
        elif kind == 3:  # multi-polygon of grid boxes, one with a hole
            x, y = np.floor([cx, cy])
            g = shapely.MultiPolygon(
                [
                    shapely.box(x, y, x + 4, y + 4).difference(
                        shapely.box(x + 1, y + 1, x + 3, y + 3)
                    ),
                    shapely.box(x + 5, y, x + 6, y + 2),
                ]
            )
        else:  # a large ring of thousands of vertices (a surface component)
            g = shapely.Point(cx, cy).buffer(rng.uniform(10, 25), 500)
        g = shapely.make_valid(g)
        if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty:
            out.append(g)
    geoms = np.array(out, dtype=object)
    return shapely.transform(geoms, lambda xy: np.c_[x0 + xy[:, 0] * unit, y0 + xy[:, 1] * unit])


def _box_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ib, ia = shapely.STRtree(a).query(b, predicate=None)
    return ia, ib


@pytest.mark.parametrize(("x0", "y0", "unit"), ORIGINS)
def test_status_never_contradicts_geos(x0, y0, unit):
    rng = np.random.default_rng(7)
    a = _random_polygons(rng, 150, x0, y0, unit)
    b = _random_polygons(rng, 150, x0, y0, unit)
    ia, ib = _box_pairs(a, b)
    status = qk.pair_status(qk.rings_of(a), qk.rings_of(b), ia, ib)
    inter = shapely.intersects(a[ia], b[ib])
    interiors = shapely.relate_pattern(a[ia], b[ib], "T********")
    hit, miss = status == qk.HIT, status == qk.MISS
    assert interiors[hit].all()  # HIT: the interiors meet
    assert not inter[miss].any()  # MISS: disjoint
    # the test decides nearly everything itself; all three answers occur
    assert (status == qk.UNSURE).sum() < 0.2 * len(status)
    assert hit.sum() > 100
    assert miss.sum() > 100
    assert (status == qk.UNSURE).any()


@pytest.mark.parametrize(("x0", "y0", "unit"), ORIGINS)
def test_query_pairs_equals_geos_query(x0, y0, unit):
    rng = np.random.default_rng(11)
    a = _random_polygons(rng, 200, x0, y0, unit)
    b = _random_polygons(rng, 300, x0, y0, unit)
    tree = shapely.STRtree(a)
    for n_threads in (1, 2):
        got = qk.query_pairs(tree, b, n_threads=n_threads)
        ref = tree.query(b, predicate="intersects")
        np.testing.assert_array_equal(got[0], ref[0])  # same pairs, same order
        np.testing.assert_array_equal(got[1], ref[1])
        got = qk.query_pairs(tree, b, interiors=True, n_threads=n_threads)
        ref_i = shapely.relate_pattern(b[ref[0]], a[ref[1]], "T********")
        np.testing.assert_array_equal(got[0], ref[0][ref_i])
        np.testing.assert_array_equal(got[1], ref[1][ref_i])


def _status(a: shapely.Geometry, b: shapely.Geometry) -> int:
    one = np.zeros(1, dtype=np.int64)
    return int(qk.pair_status(qk.rings_of([a]), qk.rings_of([b]), one, one)[0])


BIG = shapely.box(0, 0, 10, 10)
HOLED = shapely.box(0, 0, 10, 10).difference(shapely.box(3, 3, 7, 7))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (BIG, shapely.box(2, 2, 3, 3), qk.HIT),  # inside, boundaries apart
        (shapely.box(2, 2, 3, 3), BIG, qk.HIT),  # the other way round
        (BIG, shapely.box(5, 5, 15, 15), qk.HIT),  # proper crossing
        (BIG, shapely.box(11, 0, 12, 1), qk.MISS),  # apart, boxes apart
        (HOLED, shapely.box(4, 4, 6, 6), qk.MISS),  # in the hole
        (HOLED, shapely.box(1, 1, 2, 2), qk.HIT),  # in the ring between shell and hole
        (HOLED, shapely.box(3, 3, 7, 7), qk.UNSURE),  # fills the hole: touches only
        (BIG, shapely.box(10, 0, 11, 1), qk.UNSURE),  # shared edge
        (BIG, shapely.box(10, 10, 11, 11), qk.UNSURE),  # shared corner
        (BIG, shapely.box(0, 0, 5, 5), qk.UNSURE),  # inside, sharing two edges
        (
            shapely.Polygon([(0, 0), (4, 0), (2, 3)]),  # a triangle with a vertex on the
            shapely.box(1, 3, 3, 5),  # other's edge
            qk.UNSURE,
        ),
        (
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)]),
            shapely.box(4, 4, 4.5, 4.5),  # between the parts, inside the multi's box
            qk.MISS,
        ),
        (
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)]),
            shapely.box(5.2, 5.2, 5.4, 5.4),  # in the second part
            qk.HIT,
        ),
    ],
)
def test_cases(a, b, expected):
    assert _status(a, b) == expected
    tree = shapely.STRtree([a])
    for interiors in (False, True):
        got, _ = qk.query_pairs(tree, np.array([b], dtype=object), interiors=interiors, n_threads=1)
        ref = shapely.relate_pattern(b, a, "T********") if interiors else shapely.intersects(b, a)
        assert len(got) == int(ref)


def test_tiny_separation_is_not_a_touch():
    """Boxes a hair apart (1e-9 of their size): decided MISS or UNSURE, never HIT, and the
    query still matches GEOS."""
    a = shapely.box(4_300_000.0, 3_100_000.0, 4_300_010.0, 3_100_010.0)
    for gap in (1e-6, 1e-9, 0.0):
        b = shapely.box(4_300_010.0 + gap, 3_100_002.0, 4_300_020.0, 3_100_008.0)
        assert _status(a, b) != qk.HIT
        got, _ = qk.query_pairs(shapely.STRtree([a]), np.array([b]), n_threads=1)
        assert len(got) == int(shapely.intersects(a, b))


def test_non_polygonal_and_empty_inputs_go_to_geos():
    tree = shapely.STRtree([BIG, shapely.box(20, 20, 30, 30)])
    geoms = np.array(
        [
            shapely.Point(5, 5),
            shapely.LineString([(-1, 5), (11, 5)]),
            shapely.Polygon(),
            None,
            shapely.box(1, 1, 2, 2),
            shapely.box(12, 12, 13, 13),
        ],
        dtype=object,
    )
    got = qk.query_pairs(tree, geoms, n_threads=1)
    ref = tree.query(geoms, predicate="intersects")
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_many_pairs_deterministic_across_threads():
    """Enough pairs to be split over threads: the same answers with one and two threads."""
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1000, (2, 30_000))
    small = shapely.box(x, y, x + rng.uniform(1, 5, len(x)), y + rng.uniform(1, 5, len(x)))
    big = (
        shapely.Point(500, 500).buffer(400, 256).difference(shapely.Point(500, 500).buffer(100, 64))
    )
    tree = shapely.STRtree([big])
    one = qk.query_pairs(tree, small, n_threads=1)
    two = qk.query_pairs(tree, small, n_threads=2)
    ref = tree.query(small, predicate="intersects")
    for got in (one, two):
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def test_rings_of_rejects_non_polygons():
    with pytest.raises(ValueError, match="non-empty"):
        qk.rings_of(np.array([shapely.Point(0, 0)], dtype=object))
    with pytest.raises(ValueError, match="non-empty"):
        qk.rings_of(np.array([shapely.Polygon()], dtype=object))


def test_overlapping_parts_of_an_invalid_multipolygon():
    """Raw cadastres can hold multi-polygons whose parts overlap: a point in the overlap is
    inside for GEOS (inside a part), not outside as an even-odd count over all rings says."""
    multi = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)])
    small = shapely.box(6, 2, 8, 4)  # in both parts: its boundary meets no ring of the multi
    assert shapely.intersects(multi, small)
    assert _status(multi, small) == qk.HIT
    assert _status(small, multi) == qk.HIT
    got, _ = qk.query_pairs(shapely.STRtree([multi]), np.array([small]), n_threads=1)
    assert len(got) == 1


def test_stray_hole_of_an_invalid_polygon():
    """A hole outside its shell (invalid): GEOS locates a point there outside the polygon
    (not in the shell), where an even-odd count over both rings would say inside."""
    stray = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(20, 0), (30, 0), (30, 10), (20, 10)]]
    )
    small = shapely.box(24, 4, 26, 6)  # in the stray hole
    assert not shapely.intersects(stray, small)
    assert _status(stray, small) == qk.MISS
    assert _status(small, stray) == qk.MISS
    inner = shapely.box(4, 4, 6, 6)
    assert _status(stray, inner) == qk.HIT
