"""Real public files from ../shared/data/real read through read_upload."""

from __future__ import annotations

import geopandas as gpd
import pytest

from minemap.io import read_upload
from tests.conftest import real_data

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize(
    ("relative", "rows"),
    [
        ("ua_bellingcat_civharm_2022/bellingcat_civharm_2022.geojson", 1003),
        ("bih_mine_action_east/suspect_areas.geojson", 5065),
        ("ua_artillery_crater_fields_2014/crater_fields_2014.geojson", 116),
        ("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson", 1816),
    ],
)
def test_real_geojson_matches_gdal(relative, rows):
    path = real_data(relative)
    result = read_upload(path)
    assert result.format == "geojson"
    assert len(result.frame) == rows
    assert result.report.ok
    assert not result.report.repairs  # CRS84 crs member needs no reprojection
    reference = gpd.read_file(path)
    assert result.frame.geometry.geom_equals_exact(reference.geometry, tolerance=0).all()
    assert set(reference.columns) <= set(result.frame.columns)


def test_bellingcat_points_agree_with_their_columns():
    result = read_upload(real_data("ua_bellingcat_civharm_2022/bellingcat_civharm_2022.geojson"))
    frame = result.frame
    assert (frame.geometry.x == frame["longitude"]).all()
    assert (frame.geometry.y == frame["latitude"]).all()
    assert frame["id"].iloc[0] == "CIV0001"


def test_ucdp_csv_latitude_longitude_columns():
    path = real_data("ua_ucdp_ged_2014_2021/ucdp_ged_ukraine_2014_2021.csv")
    result = read_upload(path)
    frame = result.frame
    assert result.format == "csv"
    assert len(frame) == 2989
    assert result.report.ok
    assert frame.geometry.notna().all()
    assert (frame.geometry.x == frame["longitude"].astype(float)).all()
    assert (frame.geometry.y == frame["latitude"].astype(float)).all()
    minx, miny, maxx, maxy = frame.total_bounds
    assert (minx, miny) >= (30.5, 46.4)
    assert (maxx, maxy) <= (39.9, 50.5)
    assert "geom_wkt" in frame.columns  # the WKT column is kept as a source column


def test_reland_csv_spanish_coordinate_columns():
    result = read_upload(real_data("col_reland_antioquia/reland_antioquia_grid.csv"))
    assert len(result.frame) == 7019
    assert result.report.ok
    assert (result.frame.geometry.x == result.frame["LONGITUD_X"].astype(float)).all()
