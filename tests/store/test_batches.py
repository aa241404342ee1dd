"""Batch records, duplicate refusal, undo, the audit log and opening the right files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from minemap._errors import StoreError
from minemap._report import Problem
from minemap.store import DuplicateImportError, GeoPackageStore, open_store
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report, is_postgis, raw_sql, snapshot

SHA = "5" * 64


def _ingest(store, layer="hazards", n=8, sha=SHA, name="north.geojson", user="olena", **kw):
    frame = make_frame(layer, n, **kw)
    report = accepted_report(name, layer, repairs=2)
    return store.ingest(frame, layer=layer, report=report, file_name=name, sha256=sha, user=user)


def test_audit_only_entries_leave_the_data_version_alone(store_location):
    """Downloads, weight changes, sign-ins are audited but change no layer or batch."""
    with open_store(store_location) as store:
        _ingest(store)
        version, audited = store.data_version(), store.audit_version()
        layer, batches = store.read_layer("hazards"), store.list_batches()
        first = store.record_audit("download", user="ivan", detail={"what": "tasks"})
        second = store.record_audit("weights_changed", user="olena", detail={})
        assert store.data_version() == version
        assert (first, second) == (audited + 1, audited + 2)
        assert store.audit_version() == second
        assert list(store.audit_log()["action"].iloc[-2:]) == ["download", "weights_changed"]
        assert store.read_layer("hazards").equals(layer)
        assert store.list_batches() == batches
    with open_store(store_location) as store:  # persisted, not per-connection
        assert (store.data_version(), store.audit_version()) == (version, second)


def test_batch_record_holds_the_import(store_location):
    before = datetime.now(UTC)
    with open_store(store_location) as store:
        batch_id = _ingest(store)
        batch = store.get_batch(batch_id)
        assert store.list_batches() == [batch]
        assert store.find_batch(sha256=SHA, layer="hazards") == batch
        assert store.find_batch(sha256=SHA, layer="cleared") is None
    assert batch.file_name == "north.geojson"
    assert batch.sha256 == SHA
    assert (batch.layer, batch.user, batch.status) == ("hazards", "olena", "active")
    assert (batch.feature_count, batch.repair_count, batch.warning_count) == (8, 2, 0)
    assert before - timedelta(seconds=1) <= batch.created_at <= datetime.now(UTC)
    assert batch.created_at.tzinfo is not None
    repairs = batch.report["repairs"]
    assert [(r["area_before_m2"], r["area_after_m2"]) for r in repairs] == [
        (1000.0, 999.5),
        (1001.0, 1000.5),
    ]
    assert batch.report["column_mapping"] == {"ID": "x_id", "Datum": "date"}
    assert [name for name, _ in batch.extra_columns] == [
        "source_row",
        "quality",
        "remarks",
        "checked_on",
    ]
    assert batch.to_dict()["created_at"].endswith("+00:00")


def test_ingest_and_undo_are_audited_and_bump_the_data_version(store_location):
    with open_store(store_location) as store:
        v0, a0 = store.data_version(), store.audit_version()
        batch_id = _ingest(store)
        v1, a1 = store.data_version(), store.audit_version()
        undone = store.undo_batch(batch_id, user="petro")
        v2, a2 = store.data_version(), store.audit_version()
        log = store.audit_log()
    assert v0 < v1 < v2
    assert (a0, a1, a2) == (1, 2, 3)  # store_created, ingest, undo
    assert list(log["action"]) == ["store_created", "ingest", "undo"]
    assert list(log["user"].iloc[1:]) == ["olena", "petro"]
    ingest, undo = log["detail"].iloc[1], log["detail"].iloc[2]
    assert ingest["batch_id"] == batch_id
    assert (ingest["features"], ingest["sha256"], ingest["layer"]) == (8, SHA, "hazards")
    assert (undo["batch_id"], undo["features_removed"]) == (batch_id, 8)
    assert str(log["at"].dt.tz) == "UTC"
    assert log["at"].is_monotonic_increasing
    assert (undone.status, undone.undone_by) == ("undone", "petro")
    assert undone.undone_at >= undone.created_at


def test_same_bytes_are_refused_until_undone(store_location):
    with open_store(store_location) as store:
        first = _ingest(store, n=5)
        before = snapshot(store_location)
        with pytest.raises(DuplicateImportError) as info:
            _ingest(store, n=5, name="north (copy).geojson")
        message = str(info.value)
        created = store.get_batch(first).created_at.strftime("%Y-%m-%d")
        assert f"already imported on {created}" in message
        assert f"as batch {first}" in message
        assert info.value.batch.batch_id == first
        assert snapshot(store_location) == before
        # the same bytes for another layer are another import
        _ingest(store, layer="cleared", n=3)
        store.undo_batch(first)
        again = _ingest(store, n=5)
        assert again != first
        assert store.counts()["hazards"] == 5
        assert store.integrity_check() == []


def test_undo_removes_only_that_batch(store_location):
    with open_store(store_location) as store:
        keep = _ingest(store, n=6, sha="k", start=0)
        drop = _ingest(store, n=9, sha="d", start=100)
        assert store.counts()["hazards"] == 15
        store.undo_batch(drop)
        got = store.read_layer("hazards")
        assert set(got["batch_id"]) == {keep}
        assert len(got) == 6
        assert store.integrity_check() == []
        with pytest.raises(StoreError, match="already undone"):
            store.undo_batch(drop)
        with pytest.raises(StoreError, match="no batch 'nope'"):
            store.undo_batch("nope")
        with pytest.raises(StoreError, match="no batch"):
            store.get_batch("nope")
    # the database's own spatial view agrees (undone rows and their index entries are gone)
    assert _bbox_count(store_location, "hazards", (20, 40, 45, 55)) == 6


def _bbox_count(location, layer, bbox) -> int:
    """Features of ``layer`` intersecting ``bbox``, counted by GDAL or by PostGIS."""
    if not is_postgis(location):
        return len(pyogrio.read_dataframe(location, layer=layer, bbox=bbox))
    import psycopg

    with psycopg.connect(location) as con:
        return con.execute(
            f"SELECT count(*) FROM {layer} WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            bbox,
        ).fetchone()[0]


def _refused_error(location):
    """The driver's exception class for a statement a store trigger refuses."""
    if is_postgis(location):
        import psycopg

        return psycopg.errors.IntegrityConstraintViolation
    return sqlite3.IntegrityError


def test_audit_and_batches_cannot_be_changed_behind_the_store(store_location):
    with open_store(store_location) as store:
        batch_id = _ingest(store)
        store.record_audit("download", user="ivan", detail={"what": "report.pdf"})
    user = "user_name" if is_postgis(store_location) else "user"
    refused = _refused_error(store_location)
    statements = [
        (f"UPDATE minemap_audit SET {user} = 'someone else'", "append-only"),
        ("DELETE FROM minemap_audit WHERE action = 'ingest'", "append-only"),
        ("DELETE FROM minemap_batches", "permanent"),
        ("UPDATE minemap_batches SET file_name = 'other.geojson'", "active to undone"),
        (
            "UPDATE minemap_batches SET status = 'undone', file_name = 'x'",
            "active to undone",
        ),
    ]
    if is_postgis(store_location):
        statements += [
            ("TRUNCATE minemap_audit CASCADE", "append-only"),
            ("TRUNCATE minemap_batches CASCADE", "permanent"),
        ]
    for sql, message in statements:
        with pytest.raises(refused, match=message):
            raw_sql(store_location, sql)
    with open_store(store_location) as store:
        assert list(store.audit_log()["action"]) == ["store_created", "ingest", "download"]
        assert store.get_batch(batch_id).file_name == "north.geojson"
        assert store.counts()["hazards"] == 8
        assert store.integrity_check() == []


def test_integrity_check_detects_audit_tampering(store_location):
    with open_store(store_location) as store:
        _ingest(store)
    # someone with write access can disable or drop the guard; the hash chain still tells
    if is_postgis(store_location):
        raw_sql(
            store_location,
            "ALTER TABLE minemap_audit DISABLE TRIGGER minemap_audit_no_update",
            "UPDATE minemap_audit SET user_name = 'mallory' WHERE action = 'ingest'",
        )
    else:
        raw_sql(
            store_location,
            "DROP TRIGGER minemap_audit_no_update",
            "UPDATE minemap_audit SET user = 'mallory' WHERE action = 'ingest'",
        )
    with open_store(store_location) as store:
        problems = store.integrity_check()
    assert any("audit log entry 2" in p for p in problems)
    if is_postgis(store_location):
        assert any("minemap_audit_no_update on minemap_audit is disabled" in p for p in problems)


def test_integrity_check_detects_rows_outside_batches(store_location):
    with open_store(store_location) as store:
        batch_id = _ingest(store, n=4)
    if is_postgis(store_location):
        raw_sql(
            store_location,
            "DELETE FROM hazards WHERE fid = (SELECT min(fid) FROM hazards)",
            "DROP INDEX hazards_geom",
        )
    else:
        raw_sql(
            store_location,
            "DROP TRIGGER rtree_hazards_geom_delete",  # GDAL functions not needed
            "DELETE FROM hazards WHERE fid = (SELECT min(fid) FROM hazards)",
        )
    with open_store(store_location) as store:
        problems = store.integrity_check()
    assert any(f"batch {batch_id} (active) should have 4 rows" in p for p in problems)
    index_problem = "spatial (GiST) index" if is_postgis(store_location) else "spatial index of"
    assert any(index_problem in p and "hazards" in p for p in problems)


def test_rejected_report_or_unfit_frame_stores_nothing(store_location):
    with open_store(store_location) as store:
        _ingest(store, n=3)
        before = snapshot(store_location)
        report = accepted_report("bad.geojson", "hazards")
        report.errors.append(Problem("feature 1", "date", "in the future", "fix the date"))
        with pytest.raises(StoreError, match="1 error"):
            store.ingest(
                make_frame("hazards", 3), layer="hazards", report=report, file_name="b", sha256="x"
            )
        bad = make_frame("hazards", 3).to_crs(3035)
        bad["batch_id"] = "mine"
        bad = bad.drop(columns=["contamination"])
        bad.loc[1, "geometry"] = shapely.Point(1, 2)
        with pytest.raises(StoreError) as info:
            store.ingest(
                bad,
                layer="hazards",
                report=accepted_report("b", "hazards"),
                file_name="b",
                sha256="y",
            )
        message = str(info.value)
        for part in ("EPSG:4326", "contamination", "batch_id", "geometry types", "row 1"):
            assert part in message
        z = make_frame(
            "casualties", 2, geometries=[shapely.Point(30, 50, 3), shapely.Point(31, 50)]
        )
        with pytest.raises(StoreError, match="3-D"):
            store.ingest(
                z,
                layer="casualties",
                report=accepted_report("z", "casualties"),
                file_name="z",
                sha256="z",
            )
        timed = make_frame("casualties", 2)
        timed["date"] = pd.to_datetime(["2024-01-01 10:30", "2024-01-02 00:00"]).astype(
            "datetime64[ns]"
        )
        with pytest.raises(StoreError, match="time of day"):
            store.ingest(
                timed,
                layer="casualties",
                report=accepted_report("t", "casualties"),
                file_name="t",
                sha256="t",
            )
    assert snapshot(store_location) == before


def test_open_refuses_files_that_are_not_minemap_stores(tmp_path, monkeypatch):
    text = tmp_path / "notes.gpkg"
    text.write_text("not a database")
    with pytest.raises(StoreError, match="not a minemap store"):
        open_store(text)
    other = tmp_path / "survey.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(30, 50)], crs=4326).to_file(other)
    other_bytes = other.read_bytes()
    with pytest.raises(StoreError, match="is a GeoPackage but not a minemap store"):
        open_store(other)
    assert other.read_bytes() == other_bytes  # never written
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match="SQLite database but not a minemap store"):
        open_store(plain)
    with pytest.raises(StoreError, match="no minemap store"):
        open_store(tmp_path / "missing.gpkg", create=False)
    with pytest.raises(StoreError, match="directory"):
        open_store(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere" / "store.gpkg")
    with pytest.raises(StoreError, match="not available"):
        open_store("mysql://localhost/minemap")


def test_store_location_comes_from_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINEMAP_STORE", raising=False)
    with open_store() as store:
        assert store.path.resolve() == (tmp_path / "minemap.gpkg").resolve()
    monkeypatch.setenv("MINEMAP_STORE", str(tmp_path / "env.gpkg"))
    with open_store() as store:
        assert store.path == tmp_path / "env.gpkg"
    assert isinstance(open_store(tmp_path / "given.gpkg"), GeoPackageStore)
    with open_store(tmp_path / "given.gpkg", create=False) as store:
        assert store.counts()["farmland"] == 0
