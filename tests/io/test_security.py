"""No upload may make minemap read another file or open a network connection.

A real TCP listener on 127.0.0.1 (in a thread, for the duration of each test) must see
no connection while hostile uploads that point at it — or at /etc/passwd — are read.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from minemap import UploadError
from minemap.io import read_upload

SECRET_MARKER = "root:"


class Listener:
    """Accepts (and records) TCP connections on 127.0.0.1 until stopped."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(addr)
            conn.close()

    def stop(self) -> None:
        time.sleep(0.2)  # let a late connection attempt arrive
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.stop()
    assert srv.connections == [], f"an upload opened a connection: {srv.connections}"


def _geojson_crs_link(tmp: Path, url: str) -> Path:
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": url, "type": "proj4"}},
        "features": [],
    }
    return _write(tmp / "a.geojson", json.dumps(doc))


def _geojson_crs_name_url(tmp: Path, url: str) -> Path:
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": url}}}
    doc["features"] = []
    return _write(tmp / "b.geojson", json.dumps(doc))


def _geojson_vsi_text(tmp: Path, url: str) -> Path:
    doc = {
        "type": "Feature",
        "properties": {"source": f"/vsicurl/{url}", "file": "/etc/passwd"},
        "geometry": {"type": "Point", "coordinates": [30, 50]},
    }
    return _write(tmp / "c.geojson", json.dumps(doc))


def _kml_network_link(tmp: Path, url: str) -> Path:
    return _write(
        tmp / "d.kml",
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<NetworkLink><Link><href>{url}</href></Link></NetworkLink>"
        f"<Style><IconStyle><Icon><href>{url}icon.png</href></Icon></IconStyle></Style>"
        "<Placemark><Point><coordinates>30,50</coordinates></Point></Placemark>"
        "</Document></kml>",
    )


def _kml_external_entity(tmp: Path, url: str) -> Path:
    return _write(
        tmp / "e.kml",
        f'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "{url}">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
        "<Point><coordinates>30,50</coordinates></Point></Placemark></kml>",
    )


def _kml_passwd_entity(tmp: Path, url: str) -> Path:
    return _kml_external_entity(tmp, "file:///etc/passwd")


def _vrt(tmp: Path, url: str) -> Path:
    return _write(
        tmp / "f.kml",
        f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{url}x.csv'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>",
    )


def _vrt_passwd(tmp: Path, url: str) -> Path:
    return _write(
        tmp / "g.vrt",
        '<?xml version="1.0"?>\n<OGRVRTDataSource><OGRVRTLayer name="p">'
        "<SrcDataSource>CSV:/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>",
    )


def _gdal_pipeline(tmp: Path, url: str) -> Path:
    doc = {"type": "gdal_streamed_alg", "command_line": "gdal vector pipeline ! read /etc/passwd"}
    return _write(tmp / "h.csv", json.dumps(doc))


def _kmz_with_vrt(tmp: Path, url: str) -> Path:
    path = tmp / "i.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "doc.kml",
            f"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/vsicurl/{url}"
            "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>",
        )
    return path


def _gpkg_view(tmp: Path, url: str) -> Path:
    path = tmp / "j.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(30, 50)], crs=4326).to_file(
        path, layer="pts"
    )
    with sqlite3.connect(path) as con:
        con.execute(f"CREATE VIEW leak AS SELECT '/vsicurl/{url}' AS src, * FROM pts")
    return path


def _csv_wkt_url(tmp: Path, url: str) -> Path:
    return _write(tmp / "k.csv", f'id,wkt\n1,"/vsicurl/{url}"\n2,/etc/passwd\n')


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


PAYLOADS: dict[str, tuple[Callable[[Path, str], Path], bool]] = {
    # name: (builder, refused as a whole?)
    "geojson-crs-link": (_geojson_crs_link, True),
    "geojson-crs-name-url": (_geojson_crs_name_url, True),
    "geojson-vsicurl-text": (_geojson_vsi_text, False),
    "kml-networklink": (_kml_network_link, False),
    "kml-external-entity-url": (_kml_external_entity, True),
    "kml-external-entity-passwd": (_kml_passwd_entity, True),
    "vrt-vsicurl": (_vrt, True),
    "vrt-passwd": (_vrt_passwd, True),
    "gdal-pipeline": (_gdal_pipeline, True),
    "kmz-holding-vrt": (_kmz_with_vrt, True),
    "gpkg-view-vsicurl": (_gpkg_view, True),
    "csv-wkt-url": (_csv_wkt_url, False),
}


@pytest.mark.parametrize("name", [n for n, (_, refused) in PAYLOADS.items() if refused])
def test_hostile_upload_refused(tmp_path, listener, name):
    url = f"http://127.0.0.1:{listener.port}/"
    path = PAYLOADS[name][0](tmp_path, url)
    with pytest.raises(UploadError, match=r"refused|unknown 'crs'") as info:
        read_upload(path)
    assert SECRET_MARKER not in str(info.value)


@pytest.mark.parametrize("name", [n for n, (_, refused) in PAYLOADS.items() if not refused])
def test_references_in_accepted_uploads_stay_plain_text(tmp_path, listener, name):
    url = f"http://127.0.0.1:{listener.port}/"
    result = read_upload(PAYLOADS[name][0](tmp_path, url))
    text = result.frame.drop(columns="geometry").astype(str).to_string()
    assert SECRET_MARKER not in text
    if name == "kml-networklink":
        assert any("NetworkLink" in w.field for w in result.report.warnings)
    if name == "geojson-vsicurl-text":
        assert result.frame["file"].tolist() == ["/etc/passwd"]
    if name == "csv-wkt-url":
        assert result.frame.geometry.isna().all()
        assert len(result.report.errors) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/vsicurl/http://127.0.0.1:{port}/x.geojson",
        "http://127.0.0.1:{port}/x.geojson",
        "/vsizip//etc/x.zip/a.shp",
        "/vsistdin/",
    ],
)
def test_virtual_and_url_paths_refused(listener, path):
    with pytest.raises(UploadError, match="virtual-file path or URL"):
        read_upload(path.format(port=listener.port))


def test_gdal_itself_is_locked_down(listener):
    import pyogrio

    from minemap.io._safety import lock_down_gdal

    lock_down_gdal()
    with pytest.raises(Exception, match=r"(?i)not|denied|fail|error|exist|recogni"):
        pyogrio.read_info(f"/vsicurl/http://127.0.0.1:{listener.port}/x.geojson")
