"""Array helpers of the risk core checked against GEOS overlays."""

from __future__ import annotations

import gc

import geopandas as gpd
import numpy as np
import pytest
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


def test_circle_overlap_areas_of_pieces_cut_from_the_circle_itself():
    # tasks cut from a footprint follow the circle polygon's own edges (and share its
    # vertices): every such edge is on the boundary of the region being measured
    circle = _spatial.circles(np.array([10.0]), np.array([-5.0]), np.array([150.0]))[0]
    cutters = [
        shapely.box(-200, -300, 10, 300),  # half the circle
        shapely.box(-50, -60, 40, 70),  # a hole punched into it
        shapely.Point(160, -5).buffer(40),  # a bite across its edge
        _spatial.circles(np.array([200.0]), np.array([-5.0]), np.array([150.0]))[0],
    ]
    pieces = []
    for cut in cutters:
        pieces += [circle.intersection(cut), circle.difference(cut), circle.union(cut)]
    pieces += [circle, shapely.box(-1000, -1000, 1000, 1000).difference(circle)]
    pieces = np.array(pieces, dtype=object)
    idx = np.zeros(len(pieces), dtype=np.intp)
    got = _spatial.circle_overlap_areas(
        np.array([[10.0, -5.0]]), np.array([150.0]), pieces, idx, np.arange(len(pieces))
    )
    expected = shapely.area(shapely.intersection(circle, pieces))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6)
    assert got[-1] < 1e-6  # the plane outside the circle: nothing


def test_circle_overlap_areas_do_not_depend_on_threads_or_chunks():
    rng = np.random.default_rng(11)
    n = 300
    centres = rng.uniform(0, 2000, (n, 2))
    r = rng.uniform(50, 400, n)
    blobs = shapely.buffer(shapely.points(rng.uniform(0, 2000, (60, 2))), 150, quad_segs=4)
    geoms = np.array(list(shapely.get_parts(shapely.union_all(blobs))), dtype=object)
    tree = shapely.STRtree(geoms)
    ci, gi = tree.query(shapely.buffer(shapely.points(centres), r))
    runs = [
        _spatial.circle_overlap_areas(centres, r, geoms, ci, gi, n_threads=t, max_edges=m)
        for t, m in ((1, 1_000_000), (2, 1_000_000), (2, 37), (1, 500))
    ]
    assert len(ci) > 100
    for other in runs[1:]:
        assert other.tobytes() == runs[0].tobytes()  # bit for bit


def test_rings_match_geos_rings():
    box_with_holes = shapely.box(0, 0, 100, 100).difference(
        shapely.union_all([shapely.box(10, 10, 20, 20), shapely.box(50, 50, 60, 70)])
    )
    multi = shapely.MultiPolygon([box_with_holes, shapely.box(200, 0, 210, 10)])
    geoms = np.array(
        [
            shapely.box(0, 0, 1, 1),
            shapely.Polygon(),
            multi,
            shapely.reverse(box_with_holes),
            shapely.from_wkt("MULTIPOLYGON EMPTY"),
            shapely.box(5, 5, 6, 6),
        ],
        dtype=object,
    )
    # an (invalid) ring passing twice through its first point: closure would see two rings,
    # so the rings GEOS reports are used
    bow_tie = shapely.Polygon([(0, 0), (1, 2), (-1, 2), (0, 0), (1, -2), (-1, -2), (0, 0)])
    _check_rings(geoms)
    _check_rings(np.append(geoms, bow_tie))


def _check_rings(geoms: np.ndarray) -> None:
    xy, ring_start, hole, geom_ring_start = _spatial._rings(geoms)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    assert list(geom_ring_start) == list(
        np.concatenate([[0], np.cumsum(np.bincount(part_of[ring_of], minlength=len(geoms)))])
    )
    assert len(ring_start) == len(rings) + 1 == len(hole) + 1
    for k, ring in enumerate(rings):
        np.testing.assert_array_equal(
            xy[ring_start[k] : ring_start[k + 1]], shapely.get_coordinates(ring)
        )
    expected_hole = np.r_[False, ring_of[1:] == ring_of[:-1]]  # not a part's first ring
    np.testing.assert_array_equal(hole, expected_hole)


def test_hazard_inside_one_parcel_is_one_parcel_task_of_its_own_area():
    # a 300 m hazard square inside a 1 km field: the cell lies wholly in the parcel (fast path,
    # no overlay), so the task is the whole hazard, on farmland, with no grid remainder
    import pandas as pd

    from minemap.geometry import area_m2
    from minemap.risk import hazard_surface, make_tasks
    from tests.risk._fixtures import canonical, metric_box

    lon, lat = 36.0, 49.5
    hazards = canonical(
        "hazards",
        [metric_box(lon, lat, 100, 100, 300, 300), metric_box(lon, lat, 900, 0, 300, 300)],
        hazard_id=["H0", "H1"],
        date=pd.Timestamp("2023-03-01"),
        hazard_type="SHA",
        contamination="UXO",
    )
    farmland = canonical(
        "farmland", [metric_box(lon, lat, 0, 0, 1000, 1000)], parcel_id=["P1"], land_use="arable"
    )
    surface = hazard_surface(hazards=hazards)
    tasks = make_tasks(surface, farmland=farmland, hazards=hazards)
    assert len(surface) == 2
    h0_comp = surface.loc[surface.intersects(hazards.geometry.iloc[0]), "component_id"].iloc[0]
    inner = tasks[tasks["component_id"] == h0_comp]
    assert list(inner["kind"]) == ["parcel"]
    expected = float(area_m2(hazards.iloc[[0]]).iloc[0])
    assert abs(inner["area_m2"].iloc[0] - expected) <= 1e-6 * expected
    assert abs(inner["farmland_area_m2"].iloc[0] - expected) <= 1e-6 * expected
    # the hazard crossing the field's edge is cut: a parcel piece and a grid remainder
    crossing = tasks[tasks["component_id"] != h0_comp].sort_values("kind")
    assert list(crossing["kind"]) == ["grid", "parcel"]
    np.testing.assert_allclose(crossing["area_m2"].to_numpy(), [60_000.0, 30_000.0], rtol=1e-3)


def test_valid_checks_in_chunks_repair_the_same_geometries():
    from minemap.risk.surface import _valid

    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    square = shapely.box(0, 0, 1, 1)
    geoms = np.array([square] * 6000 + [bowtie] + [square] * 6000 + [None], dtype=object)
    fixed = _valid(geoms)
    assert shapely.is_valid(fixed[:-1]).all()
    assert fixed[-1] is None
    assert fixed[0] is square  # valid geometries are kept as they are
    assert abs(shapely.area(fixed[6000]) - 0.5) < 1e-12  # both lobes kept (make_valid)


def test_metric_handover_only_for_the_unchanged_array():
    metric = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)], dtype=object)
    lonlat = gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], crs="EPSG:4326")
    array = lonlat.array
    _spatial.remember_metric(array, metric, "EPSG:3035")
    got = _spatial.recall_metric(array, "EPSG:3035")
    assert got is not None
    assert all(a is b for a, b in zip(got, metric, strict=True))
    assert _spatial.recall_metric(array, "EPSG:3857") is None  # another CRS
    assert _spatial.recall_metric(lonlat.copy().array, "EPSG:3035") is None  # a copy
    # rows taken from the remembered array (reordered) are found by identity
    subset = lonlat.iloc[[1, 0]].array
    by_id = _spatial.recall_metric_by_identity(subset, "EPSG:3035", [array])
    assert by_id is not None
    assert by_id[0] is metric[1]
    assert by_id[1] is metric[0]
    array[0] = shapely.box(5, 5, 6, 6)  # edited in place: the remembered form is stale
    assert _spatial.recall_metric(array, "EPSG:3035") is None
    key = id(array)
    del lonlat, array, subset
    gc.collect()
    assert key not in _spatial._HANDOVER  # forgotten with the array


def test_gc_paused_pauses_the_collector_and_restores_it():
    seen = []

    @_spatial.gc_paused
    def inner():
        seen.append(("inner", gc.isenabled()))

    @_spatial.gc_paused
    def outer(fail=False):
        seen.append(("outer", gc.isenabled()))
        inner()
        seen.append(("after inner", gc.isenabled()))  # still paused: outer has not ended
        if fail:
            raise RuntimeError("boom")
        return 42

    assert gc.isenabled()
    assert outer() == 42
    assert seen == [("outer", False), ("inner", False), ("after inner", False)]
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        outer(fail=True)
    assert gc.isenabled()  # an error does not leave the collector off
    gc.disable()
    try:
        outer()
        assert not gc.isenabled()  # off before → off after (never switched on by us)
    finally:
        gc.enable()


def test_gc_paused_comes_back_after_the_last_of_overlapping_threads():
    import threading

    first_in, second_in, first_may_end = threading.Event(), threading.Event(), threading.Event()
    states = {}

    @_spatial.gc_paused
    def first():
        first_in.set()
        first_may_end.wait(5)

    @_spatial.gc_paused
    def second():
        second_in.set()
        states["second started"] = gc.isenabled()
        first_may_end.set()
        t1.join(5)
        states["first ended, second running"] = gc.isenabled()

    t1 = threading.Thread(target=first)
    t1.start()
    assert first_in.wait(5)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(10)
    assert states == {"second started": False, "first ended, second running": False}
    assert gc.isenabled()
