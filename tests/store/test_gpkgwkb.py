"""GeoPackage geometry blobs and the R-tree SQL functions, against GDAL's own blobs."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from minemap.store import open_store
from minemap.store._gpkgwkb import (
    decode_geometries,
    encode_geometries,
    envelope,
    register_functions,
)
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report

GEOMS = [
    shapely.Point(30.5, 50.45),
    shapely.box(24.0, 48.0, 24.5, 48.2),
    shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
    shapely.Polygon(),
    None,
]


def test_encode_decode_round_trip():
    blobs = encode_geometries(GEOMS)
    assert blobs[4] is None
    assert all(b[:2] == b"GP" for b in blobs[:4])
    back = decode_geometries(blobs)
    assert back[4] is None
    assert back[3].is_empty
    assert shapely.equals_exact(back[:3], np.asarray(GEOMS[:3], dtype=object), 0).all()
    assert envelope(blobs[2]) == (0.0, 3.0, 0.0, 3.0)  # minx, maxx, miny, maxy
    assert envelope(blobs[3]) is None
    assert envelope(None) is None


def test_gdal_blobs_decode_and_gdal_reads_ours(tmp_path):
    path = tmp_path / "gdal.gpkg"
    gpd.GeoDataFrame({"k": [0, 1, 2]}, geometry=GEOMS[:3], crs=4326).to_file(path)
    con = sqlite3.connect(path)
    gdal_blobs = [row[0] for row in con.execute("SELECT geom FROM gdal ORDER BY fid")]
    # GDAL writes points without an envelope: the functions fall back to the WKB
    assert envelope(gdal_blobs[0]) == (30.5, 30.5, 50.45, 50.45)
    assert envelope(gdal_blobs[1]) == (24.0, 24.5, 48.0, 48.2)
    assert decode_geometries(gdal_blobs)[2].equals(GEOMS[2])
    # and GDAL reads blobs written by minemap (its triggers need the ST_* functions)
    register_functions(con)
    ours = encode_geometries(GEOMS[:3])
    con.executemany(
        "UPDATE gdal SET geom = ? WHERE fid = ?",
        [(blob, fid) for fid, blob in enumerate(ours, start=1)],
    )
    con.commit()
    con.close()
    read = pyogrio.read_dataframe(path)
    assert read.geometry.geom_equals(gpd.GeoSeries(GEOMS[:3], crs=4326)).all()
    near = pyogrio.read_dataframe(path, bbox=(23.9, 47.9, 24.6, 48.3))
    assert list(near["k"]) == [1]


def test_rtree_triggers_follow_edits_made_outside_minemap(store_path):
    frame = make_frame("casualties", 5, extras=False)
    with open_store(store_path) as store:
        store.ingest(
            frame,
            layer="casualties",
            report=accepted_report("c", "casualties"),
            file_name="c",
            sha256="c",
        )
    # an editor (like QGIS) moves one point far away; the standard update triggers
    # keep the R-tree right through the registered ST_* functions
    con = sqlite3.connect(store_path)
    register_functions(con)
    moved = encode_geometries([shapely.Point(10.0, 10.0)])[0]
    con.execute("UPDATE casualties SET geom = ? WHERE fid = 3", (moved,))
    con.commit()
    con.close()
    hit = pyogrio.read_dataframe(store_path, layer="casualties", bbox=(9.5, 9.5, 10.5, 10.5))
    assert list(hit["incident_id"]) == [frame["incident_id"].iloc[2]]
    with open_store(store_path) as store:
        assert store.integrity_check() == []
