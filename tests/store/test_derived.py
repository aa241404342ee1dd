"""Derived results kept with the store (the cached hazard surface): both backends.

They are caches, not data: writing them never moves ``data_version`` or the audit log,
readers always see one whole record, and the GeoPackage keeps them out of GIS tools.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import threading

import pyogrio

from minemap.store import open_store
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report, raw_sql


def _ingest(store, layer: str = "hazards", n: int = 3, seed: int = 1) -> str:
    frame = make_frame(layer, n=n, seed=seed)
    return store.ingest(
        frame,
        layer=layer,
        report=accepted_report(f"{layer}-{seed}.geojson", layer),
        file_name=f"{layer}-{seed}.geojson",
        sha256=hashlib.sha256(f"{layer}-{seed}".encode()).hexdigest(),
        user="olena",
    )


def test_put_get_replace_roundtrip(store_location):
    with open_store(store_location) as store:
        assert store.get_derived("hazard_surface") is None
        payload = bytes(range(256)) * 50 + b"\x00\x00"  # any bytes, NULs included
        rec = store.put_derived(
            "hazard_surface", params_sha256="p1", inputs_json='{"a": 1}', payload=payload
        )
        assert rec.payload_sha256 == hashlib.sha256(payload).hexdigest()
    with open_store(store_location) as store:  # a new process-like opener sees it
        got = store.get_derived("hazard_surface")
        assert got.payload == payload
        assert (got.params_sha256, got.inputs_json) == ("p1", '{"a": 1}')
        assert got.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert got.created_at.tzinfo is not None
        assert abs((got.created_at - rec.created_at).total_seconds()) < 1e-3
        store.put_derived("hazard_surface", params_sha256="p2", inputs_json="{}", payload=b"x")
        got = store.get_derived("hazard_surface")
        assert (got.params_sha256, got.payload) == ("p2", b"x")
        assert store.get_derived("something_else") is None
        assert "payload" not in repr(got).split("payload_sha256")[0]  # bytes kept out of repr
        assert store.integrity_check() == []


def test_writing_derived_moves_neither_data_version_nor_audit(store_location):
    with open_store(store_location) as store:
        _ingest(store)
        data, audit = store.data_version(), store.audit_version()
        for i in range(3):
            store.put_derived("hazard_surface", params_sha256=str(i), inputs_json="{}", payload=b"")
        assert store.data_version() == data
        assert store.audit_version() == audit
        _ingest(store, seed=2)
        assert store.data_version() == data + 1  # data changes still move it


def test_readers_see_whole_records_while_a_writer_replaces_them(store_location):
    """A reader on another connection never sees a payload from one write with the
    parameters of another (each write's three fields belong together)."""
    with open_store(store_location) as writer, open_store(store_location) as reader:
        writer.put_derived("k", params_sha256="0", inputs_json="0", payload=b"0" * 100_000)
        stop = threading.Event()
        problems: list[str] = []

        def read() -> None:
            seen = 0
            while not stop.is_set() or seen == 0:
                rec = reader.get_derived("k")
                seen += 1
                tag = rec.params_sha256
                if rec.inputs_json != tag or rec.payload != tag.encode() * 100_000:
                    problems.append(f"mixed record {tag!r}/{rec.inputs_json!r}")
                if hashlib.sha256(rec.payload).hexdigest() != rec.payload_sha256:
                    problems.append("payload and checksum from different writes")

        thread = threading.Thread(target=read)
        thread.start()
        for i in range(1, 40):
            tag = str(i % 10)
            writer.put_derived(
                "k", params_sha256=tag, inputs_json=tag, payload=tag.encode() * 100_000
            )
        stop.set()
        thread.join(timeout=60)
        assert problems == []


def test_gpkg_derived_table_is_plain_sqlite_hidden_from_gis_tools(tmp_path):
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        _ingest(store)
        store.put_derived("hazard_surface", params_sha256="p", inputs_json="{}", payload=b"abc")
    con = sqlite3.connect(path)
    try:
        registered = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()
    assert "minemap_derived" in tables
    assert "minemap_derived" not in registered
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert "minemap_derived" not in layers
    assert "hazards" in layers
    if shutil.which("ogrinfo"):
        out = subprocess.run(
            ["ogrinfo", "-ro", "-q", str(path)], capture_output=True, text=True, check=True
        )
        assert "minemap_derived" not in out.stdout
        assert "Warning" not in out.stderr
        assert "ERROR" not in out.stderr


def test_gpkg_store_made_before_the_table_gets_it_on_open(tmp_path):
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        _ingest(store)
        version = store.data_version()
    raw_sql(path, "DROP TABLE minemap_derived")
    with open_store(path) as store:
        assert store.get_derived("hazard_surface") is None
        store.put_derived("hazard_surface", params_sha256="p", inputs_json="{}", payload=b"a")
        assert store.get_derived("hazard_surface").payload == b"a"
        assert store.data_version() == version  # a cache table is not a data change
        assert store.integrity_check() == []


def test_postgis_derived_table_comes_from_a_migration(pg_url):
    import psycopg

    with open_store(pg_url) as store:
        assert store.get_derived("hazard_surface") is None
    with psycopg.connect(pg_url) as con:
        names = {n for (n,) in con.execute("SELECT name FROM schema_migrations")}
        column = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = 'minemap_derived' AND column_name = 'payload'"
        ).fetchone()
    assert "derived" in names
    assert column == ("bytea",)
