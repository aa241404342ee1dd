"""Area selection on the real OSM hromada boundaries (ODbL, ../shared/data/real/ua_admin_osm)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from minemap._errors import ConfigError
from minemap.reports import build_report, render_csv, select_area
from tests.conftest import real_data
from tests.reports.conftest import canonical

pytestmark = pytest.mark.realdata

HROMADA = "Казанківська селищна громада"


@pytest.fixture(scope="module")
def hromadas() -> gpd.GeoDataFrame:
    return gpd.read_file(real_data("ua_admin_osm/ua_adm3_hromadas.geojson"))


def straddling_release(hromada: shapely.Geometry) -> gpd.GeoDataFrame:
    """Two cleared boxes: one across the hromada's boundary, one 60 km away."""
    shape = gpd.GeoSeries([hromada], crs="EPSG:4326").to_crs("EPSG:3035").iloc[0]
    edge = shapely.Point(
        shape.exterior.coords[0]
        if shape.geom_type == "Polygon"
        else shape.geoms[0].exterior.coords[0]
    )
    far = shapely.Point(shape.bounds[2] + 60_000, shape.bounds[3]).buffer(1000, cap_style="square")
    geoms = gpd.GeoSeries([edge.buffer(1500, cap_style="square"), far], crs="EPSG:3035").to_crs(
        "EPSG:4326"
    )
    rows = [
        dict(
            survey_id=f"S{i}",
            date="2024-05-01",
            team="t",
            operator="o",
            status="cleared",
            method="manual",
            devices_found=2,
        )
        for i in range(2)
    ]
    return canonical("cleared", rows, geoms)


def test_area_clips_released_land_to_the_hromada(hromadas):
    label, geom = select_area(hromadas, HROMADA)
    assert label == HROMADA
    cleared = straddling_release(geom)
    report = build_report({"cleared": cleared}, area=HROMADA, boundaries=hromadas)
    # independent: union ∩ hromada, both in EPSG:3035
    union = shapely.union_all(list(cleared.geometry.to_crs("EPSG:3035")))
    h3035 = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:3035").iloc[0]
    expected_ha = union.intersection(h3035).area / 10_000
    assert 10 < expected_ha < 900  # the box really straddles the boundary
    assert report.released.loc["total", "area_ha"] == pytest.approx(expected_ha, rel=2e-3)
    assert report.devices.loc["total", "devices"] == 2  # the far release is excluded
    whole = build_report({"cleared": cleared})
    assert whole.released.loc["total", "area_ha"] == pytest.approx(union.area / 10_000, rel=1e-9)
    assert report.area_name == HROMADA
    assert report.map.boundaries  # context lines for the map
    assert HROMADA in render_csv(report, lang="uk").decode("utf-8-sig")


def test_ambiguous_hromada_name_lists_the_candidates(hromadas):
    dup = hromadas[hromadas["name_uk"].duplicated(keep=False)].iloc[0]
    with pytest.raises(ConfigError, match="KATOTTH") as info:
        select_area(hromadas, dup["name_uk"])
    assert str(dup["oblast_uk"]) in str(info.value)
    label, _ = select_area(hromadas, dup["katotth"])
    assert label == dup["name_uk"]


def test_unknown_area_is_a_clear_error(hromadas):
    with pytest.raises(ConfigError, match="no admin area named 'Atlantis'"):
        select_area(hromadas, "Atlantis")


def test_area_filter_counts_only_casualties_inside(hromadas):
    _, geom = select_area(hromadas, HROMADA)
    inside = geom.representative_point()
    outside = shapely.Point(24.0, 49.8)  # Lviv oblast
    rows = [
        dict(
            incident_id=str(i),
            date="2024-05-0" + str(i + 1),
            killed=k,
            injured=0,
            civilian=True,
            oblast="x",
        )
        for i, k in enumerate([6, 9])
    ]
    cas = canonical("casualties", rows, gpd.GeoSeries([inside, outside], crs="EPSG:4326"))
    report = build_report({"casualties": cas}, area=HROMADA, boundaries=hromadas)
    assert report.casualties["by_month"].counts.loc["total", "killed"] == 6
    assert pd.Timestamp(report.start) == pd.Timestamp("2024-05-01")
