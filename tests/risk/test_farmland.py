from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from minemap.risk.farmland import (
    compensation_eligible,
    default_land_values,
    farmland_impact,
    frontline_distance_m,
    is_surveyed,
    land_value_per_ha,
    season_factor,
)
from tests.conftest import real_data
from tests.risk._taskframe import square, task_frame

GEOD = Geod(ellps="WGS84")


def test_twice_the_farmland_twice_the_impact():
    t = task_frame(
        [
            {"farmland_area_m2": 30_000.0, "land_use": "arable", "value_per_ha": 12_000.0},
            {"farmland_area_m2": 60_000.0, "land_use": "arable", "value_per_ha": 12_000.0},
            {"farmland_area_m2": 0.0, "land_use": "arable", "value_per_ha": 12_000.0},
            {"farmland_area_m2": np.nan},
        ]
    )
    impact = farmland_impact(t, as_of="2025-04-15")
    assert impact.name == "farmland_impact"
    assert impact.index.equals(t.index)
    # 3 ha × 12,000 UAH/ha inside the spring window (factor 1) = 36,000
    assert impact.iloc[0] == pytest.approx(36_000.0)
    assert impact.iloc[1] == pytest.approx(2 * impact.iloc[0])
    assert impact.iloc[2] == 0.0
    assert impact.iloc[3] == 0.0


def test_value_source_order_parcel_then_crop_then_land_use():
    lv = default_land_values()
    t = task_frame(
        [
            {"farmland_area_m2": 1e4, "land_use": "arable", "crop": "wheat", "value_per_ha": 777.0},
            {"farmland_area_m2": 1e4, "land_use": "arable", "crop": "Соняшник"},
            {"farmland_area_m2": 1e4, "land_use": "orchard"},
            {"farmland_area_m2": 1e4, "land_use": "moonbase", "crop": "unknown stuff"},
        ]
    )
    table = land_value_per_ha(t, with_basis=True)
    assert table["land_value_basis"].tolist() == [
        "parcel",
        "crop:sunflower",
        "land_use:orchard",
        "land_use:other",
    ]
    assert table["land_value_per_ha"].tolist() == [
        777.0,
        lv.crop["sunflower"].value_per_ha,
        lv.land_use["orchard"].value_per_ha,
        lv.land_use["other"].value_per_ha,
    ]
    # every packaged value says where it comes from
    for entry in [*lv.land_use.values(), *lv.crop.values()]:
        assert entry.source


def test_season_factor_curve():
    t = task_frame([{"farmland_area_m2": 1e4, "land_use": "arable", "crop": "maize"}])
    floor = 0.5

    def expected(day: dt.date) -> float:
        start = dt.date(day.year, 4, 1)
        end = dt.date(day.year, 5, 31)
        if start <= day <= end:
            return 1.0
        if day > end:
            start = dt.date(day.year + 1, 4, 1)
        return floor + (1 - floor) * (1 - (start - day).days / 365)

    days = [dt.date(2025, m, 15) for m in range(1, 13)]
    got = [season_factor(t, as_of=d).iloc[0] for d in days]
    assert got == pytest.approx([expected(d) for d in days])
    # nearer the sowing window → higher; lowest just after it
    assert got[0] < got[1] < got[2] < got[3] == 1.0
    assert min(got) == got[5]
    # no date, or season switched off → 1
    assert season_factor(t).iloc[0] == 1.0
    impact_off = farmland_impact(t, as_of="2025-06-15", season=False).iloc[0]
    assert impact_off == pytest.approx(default_land_values().crop["maize"].value_per_ha)


def test_perennial_land_has_no_season():
    t = task_frame([{"farmland_area_m2": 1e4, "land_use": "orchard"}])
    assert season_factor(t, as_of="2025-07-01").iloc[0] == 1.0


def test_surveyed_means_nts_evidence():
    t = task_frame(
        [
            {"evidence_class": "CHA"},
            {"evidence_class": "SHA"},
            {"evidence_class": "strike"},
            {"evidence_class": "casualty"},
            {"evidence_class": "strike", "n_sha": 2},
        ]
    )
    assert is_surveyed(t).tolist() == [True, True, False, False, True]


def _meridian_frontline(lon: float) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.LineString([(lon, 47.0), (lon, 51.0)])], crs="EPSG:4326")


def test_compensation_rule_with_a_line():
    # parcels east of a north-south front line at 36°E, at 49°N
    km = 1 / (111.32 * np.cos(np.radians(49.0)))  # degrees of longitude per km
    rows = [
        {"lon": 36.0 + 10 * km, "lat": 49.0, "farmland_area_m2": 1e4, "evidence_class": "SHA"},
        {"lon": 36.0 + 30 * km, "lat": 49.0, "farmland_area_m2": 1e4, "evidence_class": "SHA"},
        {"lon": 36.0 + 30 * km, "lat": 49.0, "farmland_area_m2": 1e4, "evidence_class": "strike"},
        {"lon": 36.0 + 30 * km, "lat": 49.0, "farmland_area_m2": 0.0, "evidence_class": "CHA"},
    ]
    t = task_frame(rows)
    front = _meridian_frontline(36.0)
    eligible = compensation_eligible(t, frontline=front)
    assert eligible.name == "compensation_eligible"
    assert eligible.tolist() == [False, True, False, False]
    # distance vs an independent geodesic measurement to the line (west edge of the square)
    dist = frontline_distance_m(t, front)
    for i in range(2):
        west = shapely.get_coordinates(t.geometry.iloc[i].exterior)[:, 0].min()
        _, _, geodesic = GEOD.inv(36.0, 49.0, west, 49.0)
        assert dist.iloc[i] == pytest.approx(geodesic, rel=0.005)
    # without a front line the distance test cannot be made: unknown, not True
    unknown = compensation_eligible(t)
    assert unknown.isna().tolist() == [True, True, False, False]
    assert unknown.iloc[2] is False or bool(unknown.iloc[2]) is False


def test_surveyed_override_and_wrong_frontline_geometry():
    t = task_frame([{"farmland_area_m2": 1e4, "evidence_class": "strike", "lon": 30.0}])
    front = _meridian_frontline(36.0)
    override = pd.Series([True], index=t.index)
    assert compensation_eligible(t, frontline=front, surveyed=override).tolist() == [True]
    points = gpd.GeoSeries([shapely.Point(36, 49)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="lines or polygons"):
        compensation_eligible(t, frontline=points)


def _occupied() -> gpd.GeoDataFrame:
    return gpd.read_file(
        real_data("ua_occupied_areas_deepstate/deepstate_occupied_2024-07-08.geojson")
    )


def _geodesic_distance_to_boundary(point: shapely.Point, boundary) -> float:
    dense = shapely.segmentize(boundary, 0.005)  # ≤ ~0.5 km between vertices
    coords = shapely.get_coordinates(dense)
    _, _, d = GEOD.inv(np.full(len(coords), point.x), np.full(len(coords), point.y), *coords.T)
    return float(d.min())


@pytest.mark.realdata
def test_poltava_parcels_are_eligible():
    parcels = gpd.read_file(
        real_data("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson")
    )
    parcels = parcels[parcels["is_agricultural"]].head(8).reset_index(drop=True)
    occupied = _occupied()
    t = gpd.GeoDataFrame(
        {
            "task_id": parcels["cadnum"],
            "evidence_class": "SHA",
            "n_sha": 1,
            "farmland_area_m2": parcels["area_ha"] * 10_000.0,
        },
        geometry=parcels.geometry,
        crs="EPSG:4326",
    )
    assert compensation_eligible(t, frontline=occupied).all()
    dist = frontline_distance_m(t, occupied)
    boundary = occupied.geometry.iloc[0].boundary
    for i in range(2):
        centroid = t.geometry.iloc[i].centroid
        independent = _geodesic_distance_to_boundary(centroid, boundary)
        assert independent > 100_000  # central Ukraine: far from the front
        assert dist.iloc[i] == pytest.approx(independent, rel=0.01, abs=1_000)
    # the same parcels counted as strike-only evidence are not surveyed → not eligible
    strike_only = t.assign(evidence_class="strike", n_sha=0)
    assert not compensation_eligible(strike_only, frontline=occupied).any()


@pytest.mark.realdata
def test_parcels_near_kharkiv_front_are_not_eligible():
    occupied = _occupied()
    area = occupied.geometry.iloc[0]
    kharkiv = shapely.Point(36.2304, 49.9935)
    assert not area.contains(kharkiv)
    nearest = shapely.ops.nearest_points(area.boundary, kharkiv)[0]
    azimuth, _, _gap = GEOD.inv(nearest.x, nearest.y, kharkiv.x, kharkiv.y)
    rows = []
    for km in (3.0, 8.0, 15.0):
        lon, lat, _ = GEOD.fwd(nearest.x, nearest.y, azimuth, km * 1000.0)
        rows.append(
            {
                "lon": lon,
                "lat": lat,
                "farmland_area_m2": 40_000.0,
                "area_m2": 40_000.0,
                "evidence_class": "CHA",
            }
        )
    t = task_frame(rows)
    assert all(not area.intersects(g) for g in t.geometry)
    eligible = compensation_eligible(t, frontline=occupied)
    assert eligible.tolist() == [False, False, False]
    dist = frontline_distance_m(t, occupied)
    assert (dist < 20_000).all()
    assert (dist > 0).all()
    # independent geodesic check against the densified boundary
    for i, g in enumerate(t.geometry):
        independent = _geodesic_distance_to_boundary(g.centroid, area.boundary)
        assert dist.iloc[i] == pytest.approx(independent, abs=600)  # ≤ half the square + step


def test_square_helper_area():
    from minemap.geometry import area_m2

    g = gpd.GeoSeries([square(35.0, 49.0, 40_000.0)], crs="EPSG:4326")
    assert area_m2(g).iloc[0] == pytest.approx(40_000.0, rel=0.01)
