"""Round-trips through real stores (GeoPackage and PostGIS), and the GeoPackage as GDAL sees it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap.layers import LAYER_NAMES, get_schema
from minemap.store import open_store
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report

_KIND_DTYPES = {
    "str": "str",
    "enum": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
}


def _expected(frame: gpd.GeoDataFrame, batch_id: str) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.insert(len(out.columns) - 1, "batch_id", pd.Series([batch_id] * len(out), dtype="str"))
    return out


@pytest.mark.parametrize("layer", LAYER_NAMES)
def test_every_layer_round_trips(store_location, layer):
    frame = make_frame(layer, 30, seed=1)
    with open_store(store_location) as store:
        batch_id = store.ingest(
            frame,
            layer=layer,
            report=accepted_report("survey.geojson", layer),
            file_name="survey.geojson",
            sha256="0" * 64,
        )
        got = store.read_layer(layer, include_personal=True)
    assert_geodataframe_equal(got, _expected(frame, batch_id))
    # exact coordinates, not only topological equality; polygons come back as
    # single-part MultiPolygons (documented), everything else unchanged
    want = frame.geometry.array
    if get_schema(layer).is_polygonal:
        is_poly = frame.geom_type == "Polygon"
        assert (got.geom_type[is_poly] == "MultiPolygon").all()
        want = [
            shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in frame.geometry
        ]
    assert shapely.equals_exact(np.asarray(got.geometry.array), np.asarray(want), 0).all()
    for fld in get_schema(layer).fields:
        assert str(got[fld.name].dtype) == _KIND_DTYPES[fld.kind], fld.name


def test_second_batch_appends_and_extras_union(store_location):
    first = make_frame("hazards", 5, seed=2)
    second = make_frame("hazards", 4, seed=3, start=100, extras=False)
    second["crew"] = pd.Series(["A", None, "C", "D"], dtype="str")
    with open_store(store_location) as store:
        b1 = store.ingest(
            first,
            layer="hazards",
            report=accepted_report("a", "hazards"),
            file_name="a",
            sha256="a" * 64,
        )
        b2 = store.ingest(
            second,
            layer="hazards",
            report=accepted_report("b", "hazards"),
            file_name="b",
            sha256="b" * 64,
        )
        got = store.read_layer("hazards")
    assert list(got["batch_id"]) == [b1] * 5 + [b2] * 4
    extras = ["source_row", "quality", "remarks", "checked_on", "crew"]
    assert list(got.columns[-7:]) == [*extras, "batch_id", "geometry"]
    # rows of a batch that lacked an extra column hold missing values, typed nullable
    assert str(got["source_row"].dtype) == "Int64"
    assert got["source_row"].iloc[5:].isna().all()
    assert list(got["source_row"].iloc[:5]) == list(first["source_row"])
    assert got["crew"].iloc[:5].isna().all()
    assert list(got["crew"].iloc[5:].fillna("∅")) == ["A", "∅", "C", "D"]
    assert got.index.equals(pd.RangeIndex(9))


def test_personal_fields_are_not_read_by_default(store_location):
    frame = make_frame("casualties", 6)
    with open_store(store_location) as store:
        store.ingest(
            frame,
            layer="casualties",
            report=accepted_report("c", "casualties"),
            file_name="c",
            sha256="c" * 64,
        )
        got = store.read_layer("casualties")
        full = store.read_layer("casualties", include_personal=True)
    personal = get_schema("casualties").personal_fields
    assert personal
    assert not set(personal) & set(got.columns)
    assert set(personal) <= set(full.columns)
    assert_geodataframe_equal(got, full.drop(columns=list(personal)))


def test_empty_store_reads_typed_empty_frames(store_location):
    with open_store(store_location) as store:
        assert store.counts() == dict.fromkeys(LAYER_NAMES, 0)
        got = store.read_layer("farmland")
    assert len(got) == 0
    assert list(got.columns) == [*get_schema("farmland").field_names, "batch_id", "geometry"]
    assert str(got["value_per_ha"].dtype) == "float64"
    assert got.crs.to_epsg() == 4326


def test_null_geometry_round_trips(store_location):
    frame = make_frame("strikes", 4, extras=False)
    frame.loc[2, "geometry"] = None
    with open_store(store_location) as store:
        store.ingest(
            frame,
            layer="strikes",
            report=accepted_report("s", "strikes"),
            file_name="s",
            sha256="s",
        )
        got = store.read_layer("strikes")
        assert store.integrity_check() == []
    assert got.geometry.isna().tolist() == [False, False, True, False]


def _ingest_all(store_path, n=40):
    frames = {layer: make_frame(layer, n, seed=7) for layer in LAYER_NAMES}
    with open_store(store_path) as store:
        for layer, frame in frames.items():
            store.ingest(
                frame,
                layer=layer,
                report=accepted_report(layer, layer),
                file_name=layer,
                sha256=layer,
            )
    return frames


def test_gdal_reads_the_store_and_bbox_uses_the_index(store_path):
    frames = _ingest_all(store_path)
    listed = dict(pyogrio.list_layers(store_path))
    assert {layer: listed[layer] for layer in LAYER_NAMES} == {
        "casualties": "Point",
        "strikes": "Unknown",
        "hazards": "MultiPolygon",
        "cleared": "MultiPolygon",
        "farmland": "MultiPolygon",
        "settlements": "Unknown",  # points or outlines, like strikes
    }
    assert "minemap_meta" not in listed
    bbox = (27.0, 46.0, 33.0, 49.0)
    for layer, frame in frames.items():
        info = pyogrio.read_info(store_path, layer=layer)
        assert info["crs"] == "EPSG:4326"
        assert info["features"] == len(frame)
        assert info["capabilities"]["fast_spatial_filter"]
        read = pyogrio.read_dataframe(store_path, layer=layer)
        id_field = get_schema(layer).id_field
        assert list(read[id_field]) == list(frame[id_field])
        assert read.geometry.geom_equals(frame.geometry).all()
        filtered = pyogrio.read_dataframe(store_path, layer=layer, bbox=bbox)
        want = frame[frame.intersects(shapely.box(*bbox))]
        assert 0 < len(want) < len(frame)
        assert sorted(filtered[id_field]) == sorted(want[id_field])


def test_rtree_matches_geometries(store_path):
    frames = _ingest_all(store_path, n=25)
    con = sqlite3.connect(store_path)
    for layer, frame in frames.items():
        rows = con.execute(
            f'SELECT minx, maxx, miny, maxy FROM "rtree_{layer}_geom" ORDER BY id'
        ).fetchall()
        bounds = frame.geometry.bounds.to_numpy()
        got = np.array(rows)
        # R-tree coordinates are float32, rounded outwards
        assert (got[:, 0] <= bounds[:, 0]).all()
        assert (got[:, 1] >= bounds[:, 2]).all()
        assert np.allclose(got, bounds[:, [0, 2, 1, 3]], atol=1e-4)
    con.close()


def test_geopackage_metadata(store_path):
    open_store(store_path).close()
    con = sqlite3.connect(store_path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA user_version").fetchone()[0] == 10300
    contents = dict(
        con.execute("SELECT table_name, data_type FROM gpkg_contents WHERE srs_id = 4326")
    )
    assert contents == dict.fromkeys(LAYER_NAMES, "features")
    ext = {r[0] for r in con.execute("SELECT table_name FROM gpkg_extensions")}
    assert ext == set(LAYER_NAMES)
    cols = {r[1]: (r[2], r[3]) for r in con.execute('PRAGMA table_info("cleared")')}
    assert cols["date"] == ("DATE", 1)
    assert cols["area_m2"] == ("REAL", 0)
    assert cols["devices_found"] == ("INTEGER", 0)
    assert cols["batch_id"] == ("TEXT", 1)
    assert cols["extra_json"] == ("TEXT", 0)
    assert cols["geom"][0] == "MULTIPOLYGON"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_ogrinfo_opens_the_store(store_path):
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("ogrinfo missing in CI: .ci/run installs gdal-bin")
        pytest.skip("GDAL command-line tools (ogrinfo) not installed; pyogrio tests cover GDAL")
    _ingest_all(store_path, n=5)
    out = subprocess.run(
        [ogrinfo, "-ro", "-so", str(store_path), "hazards"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Feature Count: 5" in out.stdout
    assert "Warning" not in out.stderr, out.stderr


def test_awkward_text_and_numbers_round_trip(store_location):
    """Tabs, newlines, backslashes, a literal \\N, quotes and extreme floats survive."""
    frame = make_frame("farmland", 6, seed=4)
    awkward = ["a\tb", "line\nbreak\r\n", "back\\slash", "\\N", "'quote\" ; DROP", "поле ✓ 🌾"]
    frame["crop"] = pd.Series(awkward, dtype="str")
    frame["value_per_ha"] = [0.1, 1e-300, 1.7976931348623157e308, -0.0, 123456789.123456789, 2.5]
    frame["remarks"] = pd.Series(awkward[::-1], dtype="str")
    with open_store(store_location) as store:
        batch_id = store.ingest(
            frame,
            layer="farmland",
            report=accepted_report("f", "farmland"),
            file_name="f\tname\n.geojson",
            sha256="f" * 64,
        )
        got = store.read_layer("farmland")
        assert store.get_batch(batch_id).file_name == "f\tname\n.geojson"
    assert list(got["crop"]) == awkward
    assert list(got["remarks"]) == awkward[::-1]
    assert got["value_per_ha"].tolist() == frame["value_per_ha"].tolist()
    assert_geodataframe_equal(got, _expected(frame, batch_id))
