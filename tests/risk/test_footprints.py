"""Strike footprints: circles in metres, polygons kept, expected-items ranges, no row lost."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from minemap._errors import CRSError
from minemap.geometry import geodesic_area_m2
from minemap.risk import hazard_surface, strike_footprints
from tests.risk._fixtures import bellingcat_cluster_strikes, canonical, metric_box

GEOD = Geod(ellps="WGS84")
LON, LAT = 36.0, 49.5


def _strikes(**overrides):
    base = {
        "strike_id": ["S1", "S2", "S3", "S4"],
        "date": pd.Timestamp("2023-05-01"),
        "munition_type": ["Смерч", "M26", "unheard-of rocket", "unheard-of shell"],
        "cluster_munition": [True, True, True, False],
    }
    base.update(overrides)
    geoms = [shapely.Point(LON + 0.1 * i, LAT) for i in range(4)]
    frame = canonical("strikes", geoms, **base)
    frame.index = [10, 20, 30, 40]
    return frame


def test_point_becomes_metric_circle_of_the_munition_radius():
    fp = strike_footprints(_strikes())
    assert list(fp.index) == [10, 20, 30, 40]
    assert fp.crs == "EPSG:4326"
    assert fp.loc[10, "munition_key"] == "9m55k"
    assert fp.loc[10, "footprint_radius_m"] == 200
    geo = geodesic_area_m2(fp)
    for idx, row in fp.iterrows():
        r = row["footprint_radius_m"]
        # a 32-gon inscribed in the circle: area 0.64 % below π r²; projection adds < 0.5 %
        assert geo[idx] == pytest.approx(math.pi * r * r, rel=0.012)
        # the circle is round on the ground, not in degrees: north and east radii agree
        c = row.geometry.centroid
        _minx, _miny, maxx, maxy = row.geometry.bounds
        _, _, east = GEOD.inv(c.x, c.y, maxx, c.y)
        _, _, north = GEOD.inv(c.x, c.y, c.x, maxy)
        assert east == pytest.approx(r, rel=0.015)
        assert north == pytest.approx(r, rel=0.015)
        assert shapely.Point(LON + 0.1 * (idx // 10 - 1), LAT).distance(c) < 1e-6


def test_expected_items_range_and_defaults():
    fp = strike_footprints(_strikes())
    assert fp.loc[10, "expected_items_low"] == pytest.approx(72 * 0.05)
    assert fp.loc[10, "expected_items_high"] == pytest.approx(72 * 0.30)
    assert fp.loc[20, "expected_items_low"] == pytest.approx(644 * 0.02)
    # unmatched cluster strike: reported (matched False) and given the default_cluster figures
    assert not fp.loc[30, "matched"]
    assert fp.loc[30, "munition_key"] == "default_cluster"
    assert fp.loc[30, "expected_items_high"] > fp.loc[30, "expected_items_low"] > 0
    # unmatched non-cluster strike: default, no submunitions, nothing expected
    assert fp.loc[40, "munition_key"] == "default"
    assert fp.loc[40, "expected_items_high"] == 0
    assert fp["matched"].tolist() == [True, True, False, False]


def test_record_figures_override_catalogue_and_uxo_is_a_floor():
    fp = strike_footprints(
        _strikes(submunitions=[10, None, None, None], uxo_reported=[None, 500, 3, 2])
    )
    assert fp.loc[10, "submunitions"] == 10
    assert fp.loc[10, "expected_items_high"] == pytest.approx(3.0)
    # 644 × 0.02 = 12.9 < 500 seen: the reported count is the floor of both bounds
    assert fp.loc[20, "expected_items_low"] == 500
    assert fp.loc[20, "expected_items_high"] == 500
    assert fp.loc[40, "expected_items_low"] == 2


def test_non_cluster_record_of_a_cluster_type_expects_no_submunitions():
    fp = strike_footprints(_strikes(cluster_munition=[False, None, True, False]))
    assert not fp.loc[10, "cluster"]
    assert fp.loc[10, "expected_items_high"] == 0
    assert fp.loc[20, "cluster"]  # flag missing: the catalogue says M26 is a cluster munition
    assert fp.loc[20, "expected_items_low"] > 0


def test_polygon_strike_is_used_as_is():
    poly = metric_box(LON, LAT, 0, 0, 300, 200)
    frame = canonical(
        "strikes",
        [poly, shapely.Point(LON, LAT)],
        strike_id=["P", "Q"],
        date=pd.Timestamp("2023-01-01"),
        munition_type="9M27K",
        cluster_munition=True,
    )
    fp = strike_footprints(frame)
    assert fp.geometry.iloc[0].equals(poly)
    assert pd.isna(fp["footprint_radius_m"].iloc[0])
    assert fp["footprint_radius_m"].iloc[1] == 150


def test_wrong_crs_raises():
    frame = _strikes().to_crs("EPSG:3857")
    with pytest.raises(CRSError, match="strikes layer"):
        strike_footprints(frame)


def test_empty_input():
    frame = canonical("strikes", [])
    fp = strike_footprints(frame)
    assert len(fp) == 0
    assert "expected_items_low" in fp.columns


def test_empty_point_stays_empty_and_the_other_rows_get_their_circles():
    frame = _strikes()
    geoms = frame.geometry.to_numpy().copy()
    geoms[1] = shapely.Point()  # e.g. a record whose coordinates were blanked
    geoms[2] = None
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs="EPSG:4326"))
    fp = strike_footprints(frame)  # crashed before: rows of coordinates no longer aligned
    assert fp.geometry.iloc[1].is_empty
    assert fp.geometry.iloc[2] is None
    assert fp["footprint_radius_m"].isna().tolist() == [False, True, True, False]
    full = strike_footprints(_strikes())
    for i in (0, 3):  # the same circle as without the blank rows
        assert shapely.equals_exact(fp.geometry.iloc[i], full.geometry.iloc[i], tolerance=0.0)
    surface = hazard_surface(footprints=fp)
    assert surface["n_strikes"].sum() == 2


@pytest.mark.realdata
def test_bellingcat_cluster_points_all_kept_and_unmatched_reported():
    strikes = bellingcat_cluster_strikes()
    fp = strike_footprints(strikes)
    assert len(fp) == len(strikes) > 50
    assert fp.index.equals(strikes.index)
    assert fp.geometry.notna().all()
    assert shapely.is_valid(np.asarray(fp.geometry.array)).all()
    assert set(fp.geom_type) == {"Polygon"}
    # descriptions sometimes name the system (Smerch, Uragan, ...): some match, the rest are
    # reported as unmatched with the cluster default, none dropped
    assert fp["matched"].any()
    unmatched = fp[~fp["matched"]]
    assert (unmatched["munition_key"] == "default_cluster").all()
    assert isinstance(fp, gpd.GeoDataFrame)
