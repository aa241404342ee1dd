"""``copy_store`` and ``minemap store copy``: GeoPackage ⇄ PostGIS, losslessly."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap._errors import StoreError
from minemap.layers import LAYER_NAMES
from minemap.store import DuplicateImportError, open_store
from minemap.store.copy import copy_store
from tests.conftest import REPO
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report, raw_sql, snapshot

pytestmark = pytest.mark.xdist_group("postgis")


def _fill(location) -> dict[str, str]:
    """A store with every layer, two batches in one layer, an undone batch, odd values."""
    shas = {}
    with open_store(location) as store:
        for i, layer in enumerate(LAYER_NAMES):
            frame = make_frame(layer, 15, seed=i)
            if layer == "strikes":
                frame.loc[3, "geometry"] = None
            shas[layer] = store.ingest(
                frame,
                layer=layer,
                report=accepted_report(f"{layer}.geojson", layer, repairs=1),
                file_name=f"{layer} «ї».geojson",
                sha256=f"{i}" * 64,
                user="olena" if i % 2 else None,
            )
        second = make_frame("hazards", 4, seed=9, start=100, extras=False)
        second["crew"] = pd.Series(["A", None, "C", "D"], dtype="str")
        store.ingest(
            second,
            layer="hazards",
            report=accepted_report("b", "hazards"),
            file_name="b",
            sha256="b" * 64,
        )
        gone = store.ingest(
            make_frame("farmland", 3, seed=5, start=500),
            layer="farmland",
            report=accepted_report("c", "farmland"),
            file_name="c",
            sha256="c" * 64,
        )
        store.undo_batch(gone, user="petro")
        store.record_audit("download", user="ivan", detail={"what": "звіт.pdf", "n": 1.5})
    return shas


def _assert_same(a, b) -> None:
    """Two stores hold the same layers, batches and audit log (b has one copy entry more)."""
    with open_store(a, create=False) as left, open_store(b, create=False) as right:
        assert right.counts() == left.counts()
        for layer in LAYER_NAMES:
            assert_geodataframe_equal(
                right.read_layer(layer, include_personal=True),
                left.read_layer(layer, include_personal=True),
            )
        assert right.list_batches() == left.list_batches()
        log_a, log_b = left.audit_log(), right.audit_log()
        assert log_b["action"].iloc[-1] == "store_copied"
        pd.testing.assert_frame_equal(log_b.iloc[: len(log_a)], log_a, check_index_type=False)
        assert right.integrity_check() == []


def test_copy_gpkg_to_postgis_and_back_is_lossless(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    _fill(source)
    before = snapshot(source)
    progress: list[tuple[int, int]] = []
    summary = copy_store(source, pg_url, progress=lambda d, t: progress.append((d, t)))
    assert snapshot(source) == before  # the source is only read
    assert summary.features == len(LAYER_NAMES) * 15 + 4
    assert summary.batches == len(LAYER_NAMES) + 2
    assert progress[-1] == (summary.features, summary.features)
    _assert_same(source, pg_url)
    back = tmp_path / "back.gpkg"
    copy_store(pg_url, back)
    _assert_same(pg_url, back)
    with open_store(source) as original, open_store(back) as copied:
        for layer in LAYER_NAMES:
            assert_geodataframe_equal(
                copied.read_layer(layer, include_personal=True),
                original.read_layer(layer, include_personal=True),
            )
        # exact coordinates survive both trips
        a = original.read_layer("hazards").geometry.array
        b = copied.read_layer("hazards").geometry.array
        assert shapely.equals_exact(a, b, 0).all()


def test_copied_store_keeps_working(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    _fill(source)
    copy_store(source, pg_url)
    with open_store(pg_url) as store:
        # the copied batches still refuse their bytes, and can be undone
        with pytest.raises(DuplicateImportError, match="already imported"):
            store.ingest(
                make_frame("hazards", 15, seed=2),
                layer="hazards",
                report=accepted_report("h", "hazards"),
                file_name="again",
                sha256="2" * 64,
            )
        batch = store.find_batch(sha256="2" * 64, layer="hazards")
        store.undo_batch(batch.batch_id, user="petro")
        assert store.counts()["hazards"] == 4
        store.ingest(
            make_frame("hazards", 2, seed=3, start=900),
            layer="hazards",
            report=accepted_report("n", "hazards"),
            file_name="new",
            sha256="n" * 64,
        )
        assert store.integrity_check() == []
        assert list(store.audit_log()["action"].iloc[-3:]) == ["store_copied", "undo", "ingest"]


def test_copy_refuses_a_destination_with_data(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    _fill(source)
    with open_store(pg_url) as store:
        store.record_audit("sign_in", user="ivan")
    before = snapshot(pg_url)
    with pytest.raises(StoreError, match="not empty"):
        copy_store(source, pg_url)
    assert snapshot(pg_url) == before
    other = tmp_path / "other.gpkg"
    _fill(other)
    before = snapshot(other)
    with pytest.raises(StoreError, match="not empty"):
        copy_store(source, other)
    assert snapshot(other) == before
    with pytest.raises(StoreError, match="onto itself"):
        copy_store(source, source)
    with pytest.raises(StoreError, match="no minemap store"):
        copy_store(tmp_path / "missing.gpkg", tmp_path / "new.gpkg")


def test_copy_refuses_a_damaged_source(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    _fill(source)
    raw_sql(
        source,
        "DROP TRIGGER minemap_audit_no_update",
        "UPDATE minemap_audit SET user = 'mallory' WHERE action = 'download'",
    )
    with pytest.raises(StoreError, match="integrity check"):
        copy_store(source, pg_url)
    with open_store(pg_url) as store:
        assert store.list_batches() == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MINEMAP_STORE", None)
    code = "import minemap.cli.store; from minemap.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_store_copy(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    _fill(source)
    done = _cli("store", "copy", str(source), pg_url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"copied {len(LAYER_NAMES) * 15 + 4} features" in done.stdout
    assert f"{len(LAYER_NAMES) + 2} batches" in done.stdout
    _assert_same(source, pg_url)
    again = _cli("store", "copy", str(source), pg_url)
    assert again.returncode == 1
    assert "not empty" in again.stderr
    assert "Traceback" not in again.stderr


def test_copy_bumps_the_data_version_of_the_destination(tmp_path, pg_url):
    """A restore changes what read_layer returns: the app's caches must not survive it."""
    source = tmp_path / "source.gpkg"
    _fill(source)
    with open_store(source) as original:
        source_audit = original.audit_version()
    for src, dest in ((source, pg_url), (pg_url, tmp_path / "back.gpkg")):
        with open_store(dest) as fresh:  # an empty store, as the app may already have cached
            version = fresh.data_version()
            assert fresh.audit_version() == 1  # store_created
        copy_store(src, dest)
        with open_store(dest) as copied:
            assert copied.data_version() > version
            assert copied.audit_version() == source_audit + 1  # ... + store_copied
        source_audit += 1
