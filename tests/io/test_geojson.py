"""GeoJSON uploads: structure, encodings, strict JSON, geometry repairs, legacy crs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from minemap import UnsafeInputError, UnsupportedFormatError, UploadError
from minemap.io import read_upload
from minemap.settings import Limits
from tests.io.conftest import collection, feature, square


def test_feature_collection_columns_labels_and_hash(write_json):
    import hashlib

    path = write_json(
        collection(
            feature({"type": "Point", "coordinates": [36.2, 49.9]}, hazard_id="H1", n=3),
            feature({"type": "Polygon", "coordinates": [square()]}, hazard_id="H2", n=None),
        )
    )
    result = read_upload(path, display_name="field team.geojson")
    assert result.file == "field team.geojson"
    assert result.format == "geojson"
    assert result.frame.crs.to_epsg() == 4326
    assert list(result.frame.columns) == ["hazard_id", "n", "geometry"]
    assert result.frame["hazard_id"].tolist() == ["H1", "H2"]
    assert result.frame.geometry.iloc[0].equals(shapely.Point(36.2, 49.9))
    assert result.frame.geometry.iloc[1].equals(shapely.Polygon(square()))
    assert result.labels.tolist() == ["feature 1", "feature 2"]
    assert result.labels.index.equals(result.frame.index)
    assert result.report.ok
    assert not result.report.repairs
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.size_bytes == path.stat().st_size


def test_bare_feature_and_bare_geometry_are_one_feature(write_json):
    f = read_upload(write_json(feature({"type": "Point", "coordinates": [30, 50]}, a=1)))
    assert len(f.frame) == 1
    assert f.frame["a"].tolist() == [1]
    g = read_upload(write_json({"type": "Polygon", "coordinates": [square()]}))
    assert len(g.frame) == 1
    assert g.frame.geometry.iloc[0].equals(shapely.Polygon(square()))


def test_utf8_bom_removed_with_record(write_json):
    text = json.dumps(collection(feature({"type": "Point", "coordinates": [30, 50]}, n="Київ")))
    result = read_upload(write_json(b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert result.frame["n"].tolist() == ["Київ"]
    assert any("byte-order mark" in r.problem for r in result.report.repairs)


def test_cp1251_geojson_transcoded_with_record(write_json):
    text = json.dumps(
        collection(feature({"type": "Point", "coordinates": [30, 50]}, n="Поле біля села")),
        ensure_ascii=False,
    )
    result = read_upload(write_json(text.encode("cp1251")))
    assert result.frame["n"].tolist() == ["Поле біля села"]
    assert any("Windows-1251" in r.problem for r in result.report.repairs)


def test_non_utf8_latin_bytes_rejected(write_json):
    data = b'{"type": "Feature", "properties": {"n": "caf\xe9 \xe8\xe0"}, "geometry": null}'
    with pytest.raises(UploadError, match="not valid UTF-8"):
        read_upload(write_json(data))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_rejected(write_json, constant):
    text = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", '
    text += f'"coordinates": [30, {constant}]}}}}'
    with pytest.raises(UnsafeInputError, match=constant.lstrip("-")):
        read_upload(write_json(text, name="x.geojson"))


def test_overflowing_number_is_a_feature_error(write_json):
    text = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", '
    text += '"coordinates": [30, 1e999]}}'
    result = read_upload(write_json(text))
    assert result.frame.geometry.iloc[0] is None
    assert "infinite" in result.report.errors[0].problem


def test_deep_nesting_rejected_with_limit_named(write_json):
    deep = "[" * 100 + "]" * 100
    text = '{"type": "Feature", "properties": {"x": ' + deep + '}, "geometry": null}'
    with pytest.raises(UnsafeInputError, match="max_json_depth=64"):
        read_upload(write_json(text))
    # brackets inside strings do not count
    text = '{"type": "Feature", "properties": {"x": "' + "[" * 100 + '\\""}, "geometry": null}'
    assert len(read_upload(write_json(text)).frame) == 1


def test_very_deep_nesting_does_not_crash(write_json):
    text = '{"type": "Feature", "properties": {"x": ' + "[" * 200_000 + "]" * 200_000 + "}}"
    with pytest.raises(UnsafeInputError, match="max_json_depth"):
        read_upload(write_json(text))


def test_duplicate_member_names_rejected(write_json):
    text = (
        '{"type": "Feature", "properties": {"hazard_id": "A", "hazard_id": "B"}, "geometry": null}'
    )
    with pytest.raises(UnsafeInputError, match="'hazard_id' appears twice"):
        read_upload(write_json(text))


def test_damaged_json_names_line(write_json):
    with pytest.raises(UploadError, match="line 2"):
        read_upload(write_json('{"type": "FeatureCollection",\n "features": [,]}'))


def test_not_geojson_rejected(write_json):
    with pytest.raises(UnsupportedFormatError, match="not GeoJSON"):
        read_upload(write_json({"type": "Topology", "objects": {}}))
    with pytest.raises(UnsupportedFormatError):
        read_upload(write_json([1, 2, 3]))


def test_sniffing_ignores_the_extension(write_json):
    path = write_json(
        collection(feature({"type": "Point", "coordinates": [30, 50]}, a="x")), name="data.csv"
    )
    result = read_upload(path)
    assert result.format == "geojson"
    assert result.frame["a"].tolist() == ["x"]


def test_3d_and_4d_positions_dropped_with_record(write_json):
    path = write_json(
        collection(
            feature({"type": "Point", "coordinates": [30, 50, 120.5]}),
            feature({"type": "LineString", "coordinates": [[30, 50, 1, 7], [31, 51, 2, 8]]}),
            feature({"type": "Point", "coordinates": [32, 52]}),
        )
    )
    result = read_upload(path)
    geoms = result.frame.geometry
    assert not geoms.has_z.any()
    assert geoms.iloc[0].equals(shapely.Point(30, 50))
    assert geoms.iloc[1].equals(shapely.LineString([(30, 50), (31, 51)]))
    (repair,) = [r for r in result.report.repairs if "3-D" in r.problem]
    assert repair.problem.startswith("2 feature(s)")
    assert "feature 1" in repair.problem
    assert "feature 2" in repair.problem


def test_all_3d_polygons_dropped_fast_path(write_json):
    ring = [[x, y, 10.0] for x, y in square()]
    result = read_upload(
        write_json(collection(feature({"type": "Polygon", "coordinates": [ring]})))
    )
    assert result.frame.geometry.iloc[0].equals(shapely.Polygon(square()))
    assert any("3-D" in r.problem for r in result.report.repairs)


def test_unclosed_ring_closed_with_record(write_json):
    open_ring = square()[:-1]
    path = write_json(
        collection(
            feature({"type": "Polygon", "coordinates": [square(32, 48)]}),
            feature({"type": "MultiPolygon", "coordinates": [[open_ring], [square(31, 49)]]}),
        )
    )
    result = read_upload(path)
    assert result.report.ok
    expected = shapely.MultiPolygon([shapely.Polygon(square()), shapely.Polygon(square(31, 49))])
    assert result.frame.geometry.iloc[1].equals(expected)
    (repair,) = result.report.repairs
    assert repair.feature == "feature 2"
    assert "not closed" in repair.problem


def test_too_short_ring_is_feature_error(write_json):
    path = write_json(
        collection(
            feature({"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [30, 50]]]}),
            feature({"type": "Polygon", "coordinates": [square()]}),
            feature({"type": "Polygon", "coordinates": [[[30, 50], [31, 50]]]}),
        )
    )
    result = read_upload(path)
    geoms = result.frame.geometry
    assert geoms.iloc[0] is None
    assert geoms.iloc[2] is None
    assert geoms.iloc[1].equals(shapely.Polygon(square()))
    assert [e.feature for e in result.report.errors] == ["feature 1", "feature 3"]
    assert all("fewer than 4 positions" in e.problem for e in result.report.errors)


def test_null_geometry_kept_as_none_without_error(write_json):
    path = write_json(
        collection(feature(None, a=1), feature({"type": "Point", "coordinates": [30, 50]}, a=2))
    )
    result = read_upload(path)
    assert result.frame.geometry.iloc[0] is None
    assert result.report.ok


def test_bad_geometries_are_feature_errors(write_json):
    path = write_json(
        collection(
            feature({"type": "Circle", "coordinates": [30, 50]}),
            feature({"type": "Point", "coordinates": ["30", 50]}),
            feature({"type": "Point"}),
            feature({"type": "Point", "coordinates": [30, 50]}),
        )
    )
    result = read_upload(path)
    assert [e.feature for e in result.report.errors] == ["feature 1", "feature 2", "feature 3"]
    assert result.frame.geometry.iloc[:3].isna().all()
    assert result.frame.geometry.iloc[3].equals(shapely.Point(30, 50))


def test_geometry_collection_kept_as_is(write_json):
    gc = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [30, 50]},
            {"type": "Polygon", "coordinates": [square()]},
        ],
    }
    result = read_upload(write_json(collection(feature(gc))))
    geom = result.frame.geometry.iloc[0]
    assert geom.geom_type == "GeometryCollection"
    assert geom.equals(
        shapely.GeometryCollection([shapely.Point(30, 50), shapely.Polygon(square())])
    )


def test_legacy_crs_named_epsg_reprojected(write_json):
    x, y = 400_000.0, 5_540_000.0  # UTM 36N, central Ukraine
    ring = [[x, y], [x + 500, y], [x + 500, y + 500], [x, y + 500], [x, y]]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32636"}}
    path = write_json(
        collection(
            feature({"type": "Point", "coordinates": [x, y]}),
            feature({"type": "Polygon", "coordinates": [ring]}),
            crs=crs,
        )
    )
    result = read_upload(path)
    to_wgs = Transformer.from_crs("EPSG:32636", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(x, y)
    point = result.frame.geometry.iloc[0]
    assert point.x == pytest.approx(lon, abs=1e-9)
    assert point.y == pytest.approx(lat, abs=1e-9)
    assert 31 < lon < 34
    assert 49 < lat < 51
    poly = np.asarray(result.frame.geometry.iloc[1].exterior.coords)
    ex, ey = to_wgs.transform(np.array(ring)[:, 0], np.array(ring)[:, 1])
    np.testing.assert_allclose(poly, np.column_stack([ex, ey]), atol=1e-9)
    assert any("EPSG:32636" in r.problem for r in result.report.repairs)


@pytest.mark.parametrize(
    "name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"]
)
def test_legacy_crs_wgs84_needs_no_change(write_json, name):
    crs = {"type": "name", "properties": {"name": name}}
    path = write_json(collection(feature({"type": "Point", "coordinates": [30, 50]}), crs=crs))
    result = read_upload(path)
    assert result.frame.geometry.iloc[0].equals(shapely.Point(30, 50))
    assert not result.report.repairs


def test_legacy_crs_unknown_name_rejected(write_json):
    crs = {"type": "name", "properties": {"name": "my local grid"}}
    with pytest.raises(UploadError, match="unknown 'crs' name"):
        read_upload(write_json(collection(crs=crs)))


def test_feature_limit_named(write_json):
    path = write_json(collection(*[feature(None) for _ in range(5)]))
    with pytest.raises(UploadError, match="max_features=4"):
        read_upload(path, limits=Limits(max_features=4))


def test_file_size_limit_named(write_json):
    path = write_json(collection(*[feature(None, text="x" * 100) for _ in range(20)]))
    with pytest.raises(UploadError, match="max_file_bytes=1,000"):
        read_upload(path, limits=Limits(max_file_bytes=1000))


def test_vertex_limits(write_json):
    big = {"type": "LineString", "coordinates": [[30 + i / 1000, 50] for i in range(50)]}
    small = {"type": "Point", "coordinates": [30, 50]}
    path = write_json(collection(feature(big), feature(small)))
    result = read_upload(path, limits=Limits(max_vertices_per_feature=20))
    assert result.frame.geometry.iloc[0] is None
    assert "max_vertices_per_feature=20" in result.report.errors[0].problem
    with pytest.raises(UploadError, match="max_vertices"):
        read_upload(path, limits=Limits(max_vertices=30))


def test_empty_file_rejected(write_json):
    with pytest.raises(UploadError, match="empty"):
        read_upload(write_json(b""))


def test_progress_is_reported(write_json):
    calls: list[tuple[int, int]] = []
    path = write_json(collection(*[feature({"type": "Point", "coordinates": [30, 50]})] * 3))
    read_upload(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 3)
    assert calls[-1] == (3, 3)


def test_feature_id_and_nested_properties(write_json):
    f = feature({"type": "Point", "coordinates": [30, 50]}, tags=["a", "b"])
    f["id"] = "H-7"
    result = read_upload(write_json(collection(f)))
    assert result.frame["id"].tolist() == ["H-7"]
    assert json.loads(result.frame["tags"].iloc[0]) == ["a", "b"]
    assert any(r.field == "tags" for r in result.report.repairs)


def test_over_long_text_is_a_feature_error_without_the_value(write_json):
    path = write_json(
        collection(
            feature({"type": "Point", "coordinates": [30, 50]}, note="x" * 30),
            feature({"type": "Point", "coordinates": [30, 50]}, note="short"),
        )
    )
    result = read_upload(path, limits=Limits(max_text_length=20))
    (error,) = result.report.errors
    assert error.feature == "feature 1"
    assert error.field == "note"
    assert "max_text_length=20" in error.problem
    assert "xxx" not in str(error)


def test_json_types_kept_exactly(write_json):
    big = 2**63 + 11
    path = write_json(
        collection(
            feature(None, count=1, osm=big, ok=True, ratio=1, name="a"),
            feature(None, count=None, osm=None, ok=None, ratio=2.5, name=None),
        )
    )
    frame = read_upload(path).frame
    assert str(frame["count"].dtype) == "Int64"
    assert frame["count"].iloc[0] == 1
    assert frame["count"].isna().iloc[1]
    assert frame["osm"].iloc[0] == big  # beyond int64: kept exact as a Python int
    assert str(frame["ok"].dtype) == "boolean"
    assert frame["ratio"].tolist() == [1.0, 2.5]


def test_multipolygon_with_empty_part_is_feature_error(write_json):
    # shapely 2.2's from_ragged_array crashes the process on a polygon part without rings
    mp = {"type": "MultiPolygon", "coordinates": [[square()], []]}
    ml = {"type": "MultiLineString", "coordinates": [[[30, 50], [31, 50]], []]}
    result = read_upload(write_json(collection(feature(mp), feature(ml))))
    assert result.frame.geometry.isna().all()
    assert [e.feature for e in result.report.errors] == ["feature 1", "feature 2"]
    assert "no rings" in result.report.errors[0].problem


def test_huge_integer_coordinate_is_feature_error(write_json):
    text = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", '
    text += '"coordinates": [30, 1' + "0" * 400 + "]}}"
    result = read_upload(write_json(text))
    assert result.frame.geometry.iloc[0] is None
    assert "out of range" in result.report.errors[0].problem


def test_absurdly_long_number_refused(write_json):
    text = '{"type": "Feature", "properties": {"n": 1' + "0" * 5000 + '}, "geometry": null}'
    with pytest.raises(UploadError, match="unreadable JSON"):
        read_upload(write_json(text))
