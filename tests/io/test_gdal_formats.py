"""GeoPackage, zipped Shapefile and KMZ uploads (read through GDAL under strict rules)."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geoseries_equal
from pyproj import Transformer

from minemap import UnsafeInputError, UnsupportedFormatError, UploadError
from minemap.io import read_upload


@pytest.fixture
def points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"inc_id": ["A1", "A2"], "killed": [1, 0]},
        geometry=[shapely.Point(36.1, 48.2), shapely.Point(37.5, 47.9)],
        crs="EPSG:4326",
    )


def zip_shapefile(tmp_path: Path, gdf: gpd.GeoDataFrame, *, skip: tuple[str, ...] = ()) -> Path:
    src = tmp_path / "shp"
    src.mkdir()
    gdf.to_file(src / "hazards.shp")
    archive = tmp_path / "hazards.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(src.iterdir()):
            if part.suffix not in skip:
                zf.write(part, f"export/{part.name}")
    return archive


def test_gpkg_single_layer(tmp_path, points):
    path = tmp_path / "upload.gpkg"
    points.to_file(path, layer="casualties")
    result = read_upload(path)
    assert result.format == "gpkg"
    assert result.frame["inc_id"].tolist() == ["A1", "A2"]
    assert_geoseries_equal(result.frame.geometry, points.geometry, check_less_precise=False)
    assert result.labels.tolist() == ["feature 1", "feature 2"]
    assert result.report.ok


def test_gpkg_two_layers_asks_for_a_name(tmp_path, points):
    path = tmp_path / "two.gpkg"
    points.to_file(path, layer="first")
    points.iloc[:1].to_file(path, layer="second")
    with pytest.raises(UploadError, match="several layers: first, second"):
        read_upload(path)
    result = read_upload(path, layer_name="second")
    assert len(result.frame) == 1
    with pytest.raises(UploadError, match=r"no layer 'third'.*first, second"):
        read_upload(path, layer_name="third")


def test_gpkg_projected_crs_reprojected(tmp_path, points):
    path = tmp_path / "utm.gpkg"
    utm = points.to_crs("EPSG:32637")
    utm.to_file(path)
    result = read_upload(path)
    back = Transformer.from_crs("EPSG:32637", "EPSG:4326", always_xy=True)
    x, y = back.transform(utm.geometry.x.to_numpy(), utm.geometry.y.to_numpy())
    np.testing.assert_allclose(result.frame.geometry.x, x, atol=1e-9)
    np.testing.assert_allclose(result.frame.geometry.y, y, atol=1e-9)
    assert any("EPSG:32637" in r.problem for r in result.report.repairs)


def test_gpkg_3d_dropped(tmp_path):
    path = tmp_path / "z.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(30, 50, 100)], crs=4326).to_file(path)
    result = read_upload(path)
    assert not result.frame.has_z.any()
    assert any("3-D" in r.problem for r in result.report.repairs)


def test_plain_sqlite_is_not_a_geopackage(tmp_path):
    path = tmp_path / "x.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a)")
    with pytest.raises(UnsupportedFormatError, match="not a GeoPackage"):
        read_upload(path)


def test_zipped_shapefile_with_prj_reprojected(tmp_path, points):
    utm = points.to_crs("EPSG:32636")
    archive = zip_shapefile(tmp_path, utm)
    result = read_upload(archive, display_name="hazards.zip")
    assert result.format == "shapefile"
    assert result.frame["inc_id"].tolist() == ["A1", "A2"]
    np.testing.assert_allclose(result.frame.geometry.x, points.geometry.x, atol=1e-7)
    np.testing.assert_allclose(result.frame.geometry.y, points.geometry.y, atol=1e-7)
    assert any("EPSG:32636" in r.problem for r in result.report.repairs)


def test_shapefile_without_prj_lonlat_assumed_with_warning(tmp_path, points):
    result = read_upload(zip_shapefile(tmp_path, points, skip=(".prj",)))
    assert_geoseries_equal(result.frame.geometry, points.geometry)
    assert any("WGS84" in w.problem for w in result.report.warnings)
    assert result.report.ok


def test_shapefile_without_prj_projected_rejected(tmp_path, points):
    archive = zip_shapefile(tmp_path, points.to_crs("EPSG:32636"), skip=(".prj",))
    with pytest.raises(UploadError, match=r"no \.prj file.*not longitude/latitude"):
        read_upload(archive)


def test_shapefile_missing_dbf_rejected(tmp_path, points):
    with pytest.raises(UploadError, match=r"lacks its \.dbf"):
        read_upload(zip_shapefile(tmp_path, points, skip=(".dbf",)))


def test_zip_without_data_rejected(tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedFormatError, match="no Shapefile"):
        read_upload(archive)


def test_kmz_read_as_kml(tmp_path):
    kml = (
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>S1</name>'
        "<Point><coordinates>36.5,48.5</coordinates></Point></Placemark></kml>"
    )
    archive = tmp_path / "x.kmz"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("doc.kml", kml)
    result = read_upload(archive)
    assert result.format == "kml"
    assert result.frame["name"].tolist() == ["S1"]
    assert result.frame.geometry.iloc[0].equals(shapely.Point(36.5, 48.5))


def test_bare_shp_explains_zip(tmp_path, points):
    points.to_file(tmp_path / "p.shp")
    with pytest.raises(UnsupportedFormatError, match=r"upload a \.zip"):
        read_upload(tmp_path / "p.shp")


def test_gpkg_with_virtual_table_refused(tmp_path, points):
    path = tmp_path / "evil.gpkg"
    points.to_file(path)
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA writable_schema=ON")
        con.execute(
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
            "('table', 'leak', 'leak', 0, "
            "'CREATE VIRTUAL TABLE leak USING VirtualOGR(''/etc/passwd'')')"
        )
    with pytest.raises(UnsafeInputError, match="virtual table 'leak'"):
        read_upload(path)


def test_cp1251_dbf_without_cpg_decoded_with_record(tmp_path):
    names = ["Поле біля села", "Ліс"]
    gdf = gpd.GeoDataFrame(
        {"name": names}, geometry=[shapely.Point(30, 50), shapely.Point(31, 51)], crs=4326
    )
    src = tmp_path / "src"
    src.mkdir()
    gdf.to_file(src / "a.shp", encoding="cp1251")
    assert (src / "a.dbf").read_bytes()[29] == 0  # no language driver id in the header
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):  # no .cpg
            zf.write(src / f"a{ext}", f"a{ext}")
    result = read_upload(archive)
    assert result.frame["name"].tolist() == names
    assert any("Windows-1251" in r.problem for r in result.report.repairs)
    # GDAL alone would have read ISO-8859-1 mojibake
    assert gpd.read_file(f"/vsizip/{archive}/a.shp")["name"].tolist() != names


def test_utf8_dbf_without_cpg(tmp_path):
    names = ["Київ", "Львів"]
    gdf = gpd.GeoDataFrame(
        {"name": names}, geometry=[shapely.Point(30, 50), shapely.Point(31, 51)], crs=4326
    )
    src = tmp_path / "src"
    src.mkdir()
    gdf.to_file(src / "a.shp", encoding="UTF-8")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(src / f"a{ext}", f"a{ext}")
    assert read_upload(archive).frame["name"].tolist() == names


def test_other_members_of_a_shapefile_zip_are_named_in_a_warning(tmp_path, points):
    archive = zip_shapefile(tmp_path, points)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("export/other.gpkg", b"SQLite format 3\x00")
        zf.writestr("export/hazards.shp.xml", b"<metadata/>")
    result = read_upload(archive)
    (warning,) = result.report.warnings
    assert "export/other.gpkg" in warning.problem
    assert "xml" not in warning.problem


def test_shapefile_with_unusable_prj_refused(tmp_path, points):
    archive = zip_shapefile(tmp_path, points.to_crs("EPSG:32636"), skip=(".prj",))
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("export/hazards.prj", 'LOCAL_CS["arbitrary",UNIT["metre",1]]')
    with pytest.raises(UploadError, match="cannot be transformed"):
        read_upload(archive)
