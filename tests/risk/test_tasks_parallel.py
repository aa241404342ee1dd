"""Tasks at scale: the chunked, two-thread paths give exactly what one thread gives, and the
candidate search behind the evidence summary loses no overlapping pair."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap.risk import _spatial, hazard_surface, make_tasks, strike_footprints
from tests.risk._fixtures import canonical, metric_box, metric_point

LON, LAT = 30.5, 48.0


def _strikes(offsets, *, munition="9M27K", cluster=True):
    return canonical(
        "strikes",
        [metric_point(LON, LAT, dx, dy) for dx, dy in offsets],
        strike_id=[f"S{i}" for i in range(len(offsets))],
        date=pd.Timestamp("2024-02-02"),
        munition_type=munition,
        cluster_munition=cluster,
    )


def _farmland(boxes):
    return canonical(
        "farmland",
        [metric_box(LON, LAT, *b) for b in boxes],
        parcel_id=[f"P{i:04d}" for i in range(len(boxes))],
        land_use="arable",
        crop="wheat",
        value_per_ha=1000.0,
    )


def test_two_threads_give_the_one_thread_tasks_exactly():
    # enough strikes and cell × parcel pairs that every chunked path runs with several chunks
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 60_000, size=(4_500, 2))
    strikes = _strikes([tuple(p) for p in xy])
    fp = strike_footprints(strikes)
    # 40 m × 2 km strip parcels over the western half: most circles cut several of them
    farm = _farmland([(x, y, 40.0, 2_000.0) for x in range(0, 30_000, 50) for y in (0, 20_000)])
    surface = hazard_surface(footprints=fp)
    one = make_tasks(surface, farmland=farm, footprints=fp, n_threads=1)
    two = make_tasks(surface, farmland=farm, footprints=fp, n_threads=2)
    assert (one["kind"] == "parcel").sum() > 1_000  # the parcel split really ran at scale
    assert_geodataframe_equal(one, two, check_less_precise=False)
    assert one.attrs == two.attrs
    # nothing lost: every footprint's expected items are apportioned (none released)
    assert one["expected_items_low"].sum() == pytest.approx(fp["expected_items_low"].sum())


def test_a_task_only_just_inside_a_circle_still_counts_the_strike():
    # the footprint polygon's vertex at angle 0 lies r metres east of the strike; a parcel
    # starting 0.5 m short of it cuts a cap of a few m² out of the circle
    strikes = _strikes([(0.0, 0.0)])
    fp = strike_footprints(strikes)
    radius = float(fp["footprint_radius_m"].iloc[0])
    farm = _farmland([(radius - 0.5, -100.0, 200.0, 200.0)])
    surface = hazard_surface(footprints=fp)
    tasks = make_tasks(surface, farmland=farm, footprints=fp)
    cap = tasks[tasks["kind"] == "parcel"]
    assert len(cap) == 1
    assert 1.0 < cap["area_m2"].iloc[0] < 10.0
    assert (tasks["n_strikes"] == 1).all()  # the cap and the rest of the circle
    share = cap["area_m2"].iloc[0] / tasks["area_m2"].sum()
    assert cap["expected_items_high"].iloc[0] == pytest.approx(
        fp["expected_items_high"].iloc[0] * share, rel=1e-3
    )


def test_query_pairs_over_chunks_matches_the_tree():
    rng = np.random.default_rng(3)
    corner = rng.uniform(0, 1_000, size=(3_000, 2))
    boxes = shapely.box(*corner.T, *(corner + rng.uniform(1, 20, size=(3_000, 2))).T)
    pts = shapely.buffer(shapely.points(rng.uniform(0, 1_100, size=(9_000, 2))), 5.0)
    tree = shapely.STRtree(boxes)
    for predicate in (None, "intersects"):
        expected = tree.query(pts, predicate=predicate)
        got = _spatial.query_pairs(tree, pts, predicate=predicate, n_threads=2)
        assert len(expected[0]) > 1_000
        np.testing.assert_array_equal(np.stack(got), expected)


def test_parallel_chunks_keeps_chunk_order_with_more_chunks_than_threads():
    values = np.arange(50_000)
    parts = _spatial.parallel_chunks(lambda v: v * 2, values, n_threads=2, n_chunks=16)
    assert len(parts) == 16
    np.testing.assert_array_equal(np.concatenate(parts), values * 2)
    assert len(_spatial.parallel_chunks(lambda v: v, values, n_threads=2)) == 2  # default


@pytest.mark.parametrize("n_threads", [1, 2])
def test_an_error_in_a_job_beside_the_cut_is_raised_by_make_tasks(n_threads):
    # the casualty buffers are made in the background job; their error must not be lost
    strikes = _strikes([(0.0, 0.0)])
    fp = strike_footprints(strikes)
    casualties = canonical(
        "casualties",
        [metric_point(LON, LAT, 10.0, 10.0)],
        incident_id=["I0"],
        date=pd.Timestamp("2024-01-01"),
        killed=1,
        injured=0,
    )
    surface = hazard_surface(footprints=fp, casualties=casualties)
    before = threading.active_count()
    with pytest.raises(ValueError, match="casualty buffer radii must be positive"):
        make_tasks(
            surface, footprints=fp, casualties=casualties, casualty_buffer_m=-5.0,
            n_threads=n_threads,
        )  # fmt: skip
    assert threading.active_count() == before  # the pool was shut down
