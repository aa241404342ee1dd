"""people_exposed against hand computations (metric CRS) and geodesic distances (lon/lat)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from minemap._errors import CRSError
from minemap.risk.exposure import EXPOSURE_DISTANCE_M, people_exposed

UTM = "EPSG:32636"
X0, Y0 = 400_000.0, 5_500_000.0  # somewhere in UTM zone 36N (eastern Ukraine)


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


def _settlements(rows, crs=UTM):
    ids, pops, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"settlement_id": list(ids), "population": pd.Series(pops, dtype="Int64")},
        geometry=list(geoms),
        crs=crs,
    )


def test_points_and_a_square_by_hand_in_a_metric_crs():
    # task A: 100 m square at the origin; task B: 100 m square 5 km east
    tasks = gpd.GeoDataFrame(
        geometry=[_box(0, 0, 100, 100), _box(5000, 0, 5100, 100), shapely.Polygon(), None],
        index=["A", "B", "empty", "none"],
        crs=UTM,
    )
    settlements = _settlements(
        [
            ("inside A", 3, _pt(50, 50)),  # distance 0 to A
            ("50 m east of A", 10, _pt(150, 50)),  # 50 m to A, 4,850 m to B
            ("2,000 m from A", 100, _pt(2100, 50)),  # exactly 2,000 m: counts (inclusive)
            ("2,001 m from A", 1000, _pt(2101, 50)),  # 2,001 m to A, 2,899 m to B: nobody
            ("2,000 m from B", 7, _pt(3000, 50)),  # 2,900 m to A, exactly 2,000 m to B
            # a square town: its edge is √(900² + 1100²) = 1,421 m from A (its centre,
            # 2,758 m away, would not count), √(2000² + 1100²) = 2,283 m from B
            ("town", 10_000, _box(1000, 1200, 3000, 3000)),
            ("no geometry", 99_999, None),
        ]
    )
    got = people_exposed(tasks, settlements, exposure_distance_m=2000)
    assert got.name == "people_exposed"
    assert got.dtype == "int64"
    assert got.index.tolist() == ["A", "B", "empty", "none"]
    assert got.tolist() == [3 + 10 + 100 + 10_000, 7, 0, 0]
    # a settlement near both tasks counts for each (at 4,900 m all but "inside A", 4,950 m
    # from B, are within reach of both)
    both = people_exposed(tasks.iloc[:2], settlements, exposure_distance_m=4900)
    assert both.tolist() == [3 + 10 + 100 + 1000 + 7 + 10_000, 10 + 100 + 1000 + 7 + 10_000]
    # the distance is a parameter; 0 keeps only what touches
    assert people_exposed(tasks, settlements, exposure_distance_m=0).tolist() == [3, 0, 0, 0]


def test_default_distance_is_two_km():
    assert EXPOSURE_DISTANCE_M == 2000.0
    tasks = gpd.GeoDataFrame(geometry=[_box(0, 0, 10, 10)], crs=UTM)
    near = _settlements([("s", 5, _pt(2009, 5)), ("t", 6, _pt(2011, 5))])  # 1,999 / 2,001 m
    assert people_exposed(tasks, near).tolist() == [5]


def test_lon_lat_distances_agree_with_geodesic_ones():
    geod = Geod(ellps="WGS84")
    lon, lat = 36.5, 49.5
    task = shapely.box(lon, lat, lon + 0.01, lat + 0.01)
    mid = lat + 0.005
    east = lon + 0.01
    rows = []
    for name, pop, az, dist in (
        ("east 1,990 m", 1, 90, 1990.0),
        ("east 2,010 m", 10, 90, 2010.0),
        ("north 1,990 m", 100, 0, 1990.0),
        ("north 2,010 m", 1000, 0, 2010.0),
    ):
        if az == 90:
            x, y, _ = geod.fwd(east, mid, az, dist)
        else:
            x, y, _ = geod.fwd(lon + 0.005, lat + 0.01, az, dist)
        rows.append((name, pop, shapely.Point(x, y)))
    settlements = _settlements(rows, crs="EPSG:4326")
    tasks = gpd.GeoDataFrame(geometry=[task], crs="EPSG:4326")
    assert people_exposed(tasks, settlements).tolist() == [1 + 100]


def test_a_settlement_across_a_utm_zone_line_is_found():
    # zone 36 ends at 36°E: the task is in zone 36, the village 1.5 km east, in zone 37
    geod = Geod(ellps="WGS84")
    task = shapely.box(35.99, 49.0, 35.999, 49.005)
    x, y, _ = geod.fwd(35.999, 49.0025, 90, 1500.0)
    assert x > 36.0
    tasks = gpd.GeoDataFrame(geometry=[task], crs="EPSG:4326")
    settlements = _settlements([("v", 321, shapely.Point(x, y))], crs="EPSG:4326")
    assert people_exposed(tasks, settlements).tolist() == [321]
    # and the other way round
    swapped = gpd.GeoDataFrame(geometry=[shapely.Point(x, y).buffer(0.001)], crs="EPSG:4326")
    village = _settlements([("w", 5, shapely.Point(35.995, 49.0025))], crs="EPSG:4326")
    assert people_exposed(swapped, village).tolist() == [5]


def test_no_settlements_gives_zeros_aligned_to_the_tasks():
    tasks = gpd.GeoDataFrame(geometry=[_box(0, 0, 1, 1)] * 3, index=[7, 3, 5], crs=UTM)
    for none in (None, _settlements([("a", 1, _pt(0, 0))]).iloc[:0]):
        got = people_exposed(tasks, none)
        assert got.tolist() == [0, 0, 0]
        assert got.index.tolist() == [7, 3, 5]
        assert got.name == "people_exposed"


def test_crs_mismatch_and_non_metric_crs_raise():
    tasks = gpd.GeoDataFrame(geometry=[_box(0, 0, 1, 1)], crs=UTM)
    other = _settlements([("a", 1, _pt(0, 0))], crs="EPSG:3035")
    with pytest.raises(CRSError, match="CRS mismatch"):
        people_exposed(tasks, other)
    feet = "EPSG:2249"  # Massachusetts State Plane, US survey feet
    with pytest.raises(CRSError, match="metres"):
        people_exposed(
            gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=feet),
            _settlements([("a", 1, shapely.Point(0, 0))], crs=feet),
        )


def test_bad_populations_are_all_named():
    tasks = gpd.GeoDataFrame(geometry=[_box(0, 0, 1, 1)], crs=UTM)
    bad = _settlements([("ok", 1, _pt(0, 0)), ("neg", -4, _pt(0, 0)), ("gone", None, _pt(0, 0))])
    with pytest.raises(ValueError, match=r"neg \(-4\).*gone \(missing\)"):
        people_exposed(tasks, bad)
    with pytest.raises(ValueError, match="exposure_distance_m"):
        people_exposed(tasks, bad.iloc[:1], exposure_distance_m=-1)


def test_matches_a_brute_force_count_on_random_data():
    rng = np.random.default_rng(3)
    tasks = gpd.GeoDataFrame(
        geometry=[
            _box(x, y, x + w, y + w)
            for x, y, w in zip(
                rng.uniform(0, 20_000, 60),
                rng.uniform(0, 20_000, 60),
                rng.uniform(50, 800, 60),
                strict=True,
            )
        ],
        crs=UTM,
    )
    xy = rng.uniform(-2000, 22_000, (200, 2))
    pops = rng.integers(0, 5000, 200)
    settlements = _settlements(
        [(f"s{i}", int(p), _pt(x, y)) for i, ((x, y), p) in enumerate(zip(xy, pops, strict=True))]
    )
    got = people_exposed(tasks, settlements, exposure_distance_m=1500)
    # independent: every pair's distance by shapely.distance, no spatial index
    dist = np.array([[t.distance(s) for s in settlements.geometry] for t in tasks.geometry])
    want = ((dist <= 1500) * pops[None, :]).sum(axis=1)
    assert got.tolist() == want.tolist()
