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
from minemap.risk.tasks import prepare_tasks
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


def _prepared_case():
    """Strikes, one hazard, a casualty whose buffer alone reaches a parcel, strip parcels."""
    rng = np.random.default_rng(11)
    strikes = _strikes([tuple(p) for p in rng.uniform(0, 6_000, size=(300, 2))])
    fp = strike_footprints(strikes)
    hazards = canonical(
        "hazards",
        [metric_box(LON, LAT, 2_000.0, 2_000.0, 900.0, 700.0)],
        hazard_id=["H0"],
        hazard_type="CHA",
        date=pd.Timestamp("2024-03-01"),
    )
    casualties = canonical(
        "casualties",
        [metric_point(LON, LAT, 20_000.0, 20_000.0), metric_point(LON, LAT, 100.0, 100.0)],
        incident_id=["I0", "I1"],
        date=pd.Timestamp("2024-01-01"),
        killed=1,
        injured=2,
    )
    # strips over the strikes, and one parcel 60 m from the lone casualty (buffer 100 m): its box
    # meets no evidence's, so make_tasks must project it itself
    boxes = [(x, y, 40.0, 1_500.0) for x in range(0, 6_000, 60) for y in (0, 3_000)]
    boxes.append((20_060.0, 19_950.0, 200.0, 100.0))
    farm = _farmland(boxes)
    surface = hazard_surface(hazards=hazards, footprints=fp, casualties=casualties)
    return surface, {"farmland": farm, "hazards": hazards, "footprints": fp,
                     "casualties": casualties}  # fmt: skip


@pytest.mark.parametrize("n_threads", [1, 2])
def test_prepared_inputs_give_exactly_the_tasks_made_without_them(n_threads):
    surface, inputs = _prepared_case()
    plain = make_tasks(surface, **inputs, n_threads=n_threads, attribution=True)
    prepared = prepare_tasks(**inputs)
    late = inputs["farmland"]["parcel_id"].iloc[-1]
    assert prepared.parcels.metric[-1] is None  # not projected ahead...
    assert plain["parcel_id"].eq(late).any()  # ...yet the surface meets it
    made = make_tasks(surface, **inputs, n_threads=n_threads, attribution=True, prepared=prepared)
    assert (plain["kind"] == "parcel").sum() > 100
    assert_geodataframe_equal(plain, made, check_less_precise=False)
    casualty_task = plain.attrs.pop("casualty_task")
    np.testing.assert_array_equal(made.attrs.pop("casualty_task"), casualty_task)
    assert plain.attrs == made.attrs


def test_prepared_inputs_in_another_crs_or_buffer_still_give_the_same_tasks():
    surface, inputs = _prepared_case()
    other = "+proj=laea +lat_0=48 +lon_0=30 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    prepared = prepare_tasks(**inputs, crs=other)  # only ids, order and tree are usable
    assert_geodataframe_equal(
        make_tasks(surface, **inputs), make_tasks(surface, **inputs, prepared=prepared)
    )
    prepared = prepare_tasks(**inputs)  # default buffers: evidence not valid for 500 m ones
    plain = make_tasks(surface, **inputs, casualty_buffer_m=500.0)
    made = make_tasks(surface, **inputs, casualty_buffer_m=500.0, prepared=prepared)
    assert_geodataframe_equal(plain, made)
    assert made["casualty_recency"].sum() > 0


def test_prepared_inputs_refuse_other_or_edited_frames():
    surface, inputs = _prepared_case()
    prepared = prepare_tasks(**inputs)
    with pytest.raises(ValueError, match="another farmland frame"):
        make_tasks(surface, **{**inputs, "farmland": inputs["farmland"].copy()}, prepared=prepared)
    with pytest.raises(ValueError, match="another casualties frame"):
        make_tasks(surface, **{**inputs, "casualties": None}, prepared=prepared)
    inputs["hazards"].loc[0, "geometry"] = metric_box(LON, LAT, 0.0, 0.0, 10.0, 10.0)
    with pytest.raises(ValueError, match="hazards frame was modified"):
        make_tasks(surface, **inputs, prepared=prepared)
