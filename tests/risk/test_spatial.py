"""Array helpers of the risk core checked against GEOS overlays."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import affinity

from minemap.risk import _spatial


def test_circle_overlap_areas_equal_geos_intersection_areas():
    rng = np.random.default_rng(7)
    n = 400
    cx, cy = rng.uniform(-100, 100, n), rng.uniform(-100, 100, n)
    r = rng.uniform(20, 200, n)
    shapes = []
    for i in range(n):
        x0, y0 = rng.uniform(-150, 150, 2)
        kind = i % 5
        if kind == 0:  # box, possibly inside or around the circle
            g = shapely.box(x0, y0, x0 + rng.uniform(1, 300), y0 + rng.uniform(1, 300))
        elif kind == 1:  # thin rotated strip (farmland parcel)
            g = affinity.rotate(shapely.box(x0, y0, x0 + 30, y0 + 400), rng.uniform(0, 180))
        elif kind == 2:  # polygon with a hole (clockwise or not: orientation is handled)
            g = shapely.Point(x0, y0).buffer(rng.uniform(60, 200), 5)
            g = g.difference(shapely.Point(x0 + 5, y0).buffer(rng.uniform(1, 50)))
        elif kind == 3:  # multipolygon
            g = shapely.MultiPolygon(
                [shapely.Point(x0, y0).buffer(40, 3), shapely.box(x0 + 100, y0, x0 + 180, y0 + 60)]
            )
        else:  # another circle polygon sharing vertices with this one, or nested
            g = _spatial.circles(cx[i : i + 1], cy[i : i + 1], r[i : i + 1] * (i % 3 + 1) / 2)[0]
        shapes.append(g)
    shapes = np.array(shapes, dtype=object)
    shapes[::9] = shapely.reverse(shapes[::9])  # clockwise exteriors too
    circles = _spatial.circles(cx, cy, r)
    idx = np.arange(n)
    expected = shapely.area(shapely.intersection(circles, shapes))
    got = _spatial.circle_overlap_areas(np.column_stack([cx, cy]), r, shapes, idx, idx)
    assert (expected > 0).sum() > n / 3  # overlaps and misses both occur
    assert (expected == 0).sum() > 10
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6)
    # pairs in any order, one geometry against several circles, threads
    perm = rng.permutation(n)
    got2 = _spatial.circle_overlap_areas(
        np.column_stack([cx, cy]), r, shapes, perm, idx, max_edges=50, n_threads=2
    )
    np.testing.assert_allclose(
        got2, shapely.area(shapely.intersection(circles[perm], shapes)), rtol=1e-9, atol=1e-6
    )
