"""write_layer: export by suffix, read back equal."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap import CRSError, UnsupportedFormatError
from minemap.io import read_upload, write_layer


@pytest.fixture
def layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "hazard_id": ["H-1", "H-2", "H-3"],
            "hazard_type": ["SHA", "CHA", "SHA"],
            "area_m2": [1250.5, 80000.0, 3.25],
            "note": ["поле", None, "ліс"],
        },
        geometry=[
            shapely.Polygon([(36, 48), (36.1, 48), (36.1, 48.1), (36, 48)]),
            shapely.Point(37.123456789, 47.987654321),
            shapely.MultiPolygon(
                [shapely.box(30, 50, 30.01, 50.01), shapely.box(31, 50, 31.01, 50.01)]
            ),
        ],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_gdal_formats_round_trip_through_read_upload(tmp_path, layer, suffix):
    path = write_layer(layer, tmp_path / f"hazards{suffix}")
    back = read_upload(path)
    assert back.report.ok
    assert not back.report.repairs
    assert_geodataframe_equal(back.frame, layer, check_dtype=False, check_less_precise=False)


def test_parquet_round_trip(tmp_path, layer):
    path = write_layer(layer, tmp_path / "hazards.parquet")
    assert_geodataframe_equal(gpd.read_parquet(path), layer)


def test_csv_round_trip_wkt_and_lonlat(tmp_path, layer):
    path = write_layer(layer, tmp_path / "hazards.csv")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(raw.columns) == [
        "hazard_id",
        "hazard_type",
        "area_m2",
        "note",
        "lon",
        "lat",
        "geometry",
    ]
    assert raw["lon"].tolist() == ["", "37.123456789", ""]
    assert raw["lat"].tolist() == ["", "47.987654321", ""]
    back = read_upload(path)
    assert back.report.ok
    assert back.frame.geometry.geom_equals_exact(layer.geometry, tolerance=0).all()
    assert back.frame["hazard_id"].tolist() == layer["hazard_id"].tolist()
    assert back.frame["area_m2"].astype(float).tolist() == layer["area_m2"].tolist()
    assert back.frame["note"].isna().tolist() == [False, True, False]


def test_overwrites_existing_file_whole(tmp_path, layer):
    path = tmp_path / "out.gpkg"
    write_layer(layer, path)
    write_layer(layer.iloc[:1], path)
    assert len(read_upload(path).frame) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["out.gpkg"]


def test_unknown_suffix_rejected(tmp_path, layer):
    with pytest.raises(UnsupportedFormatError, match=r"\.gpkg, \.geojson, \.parquet, \.csv"):
        write_layer(layer, tmp_path / "out.shp")


def test_non_wgs84_rejected(tmp_path, layer):
    with pytest.raises(CRSError):
        write_layer(layer.to_crs(3035), tmp_path / "out.gpkg")
