"""``store copy`` keeps derived records, and the kept hazard surface stays valid on the copy.

The surface cache is trusted only when the batch ids and per-batch row checksums it was
computed from match the store it is read from. These tests copy a store that has a kept
surface GeoPackage → PostGIS → GeoPackage and check, on each copy, that the next run
uses it (incremental, nothing recomputed) and still equals a full recomputation, also
after a new import on the copy; and that a copy whose rows differ from what the cache
names is recomputed in full (so copying the cache can never serve a stale surface).
"""

from __future__ import annotations

import pytest

from minemap.risk.pipeline import prioritise
from minemap.risk.surface_cache import SURFACE_KEY
from minemap.risk.task_cache import TASKS_KEY
from minemap.store import open_store
from minemap.store.copy import copy_store
from tests.risk.test_pipeline_cache import (
    AS_OF,
    casualties,
    cleared,
    hazards,
    ingest,
    read_layers,
    run_and_compare,
    strikes,
)
from tests.store.helpers import raw_sql

pytestmark = pytest.mark.xdist_group("postgis")


def _fill(path) -> dict[str, str]:
    with open_store(path) as store:
        return {
            "h": ingest(
                store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)], "CHA"), "hazards", "h"
            ),
            "c": ingest(store, cleared("C", [(100, 100, 300, 300)]), "cleared", "c"),
            "k": ingest(store, casualties("K", [(1500, 300), (6000, 100)]), "casualties", "k"),
            "s": ingest(store, strikes("S", [(900, 300), (5000, 0)]), "strikes", "s"),
        }


def _derived(location):
    with open_store(location, create=False) as store:
        return {key: store.get_derived(key) for key in store.derived_keys()}


def test_kept_surface_survives_gpkg_to_postgis_and_back(tmp_path, pg_url):
    source = tmp_path / "source.gpkg"
    batches = _fill(source)
    assert run_and_compare(source, "full")["reason"] == "no cached surface yet"
    kept = _derived(source)
    assert list(kept) == [SURFACE_KEY, TASKS_KEY]

    summary = copy_store(source, pg_url)
    assert summary.derived == 2
    assert _derived(pg_url) == kept  # every field as stored, payload and checksum included
    with open_store(pg_url) as store:
        assert store.audit_log()["detail"].iloc[-1]["derived"] == 2

    # on the copy the cache is used as it is, and equals a full recomputation
    step = run_and_compare(pg_url, "incremental")
    assert step["reason"] == "no batch added or undone"
    assert step["n_components_changed"] == 0
    with open_store(pg_url) as store:  # the kept tasks are used on the copy too
        tasks_run = prioritise(read_layers(store), as_of=AS_OF, surface_cache=store)
    assert tasks_run.run_record["tasks"]["mode"] == "incremental"
    assert tasks_run.run_record["tasks"]["n_components_cut"] == 0
    # ... and is brought up to date incrementally after an import on the copy
    with open_store(pg_url) as store:
        new = ingest(store, strikes("T", [(2200, 300), (2600, 300)]), "strikes", "s2")
    step = run_and_compare(pg_url, "incremental")
    assert step["added_batches"] == [new]
    assert 0 < step["n_components_changed"] < step["n_components"]
    after_import = _derived(pg_url)
    assert after_import[SURFACE_KEY].payload_sha256 != kept[SURFACE_KEY].payload_sha256

    # back to a GeoPackage: the updated surface comes along and is used; an undo works
    back = tmp_path / "back.gpkg"
    assert copy_store(pg_url, back).derived == 2
    assert _derived(back) == after_import
    assert run_and_compare(back, "incremental")["n_components_changed"] == 0
    with open_store(back) as store:
        store.undo_batch(batches["s"], user="test")
    assert run_and_compare(back, "incremental")["removed_batches"] == [batches["s"]]


def test_a_copy_whose_rows_differ_from_the_cache_is_recomputed(tmp_path, pg_url):
    """The safety net copying relies on: a changed row in a cached batch → full run."""
    source = tmp_path / "source.gpkg"
    batches = _fill(source)
    run_and_compare(source, "full")
    copy_store(source, pg_url)
    # change one hazard's type behind the store's back (same batch id, same row count)
    raw_sql(pg_url, "UPDATE hazards SET hazard_type = 'SHA' WHERE hazard_id = 'H-1'")
    step = run_and_compare(pg_url, "full")
    assert step["reason"] == f"the rows of batch {batches['h']} changed since"


def test_copy_without_derived_records_and_into_a_store_that_had_some(tmp_path, pg_url):
    """No cache in the source: none in the copy. A cache the empty destination had (from
    a run on no data) is replaced by the source's, never mixed with it."""
    source = tmp_path / "source.gpkg"
    _fill(source)
    with open_store(pg_url) as empty:
        empty.put_derived("stale", params_sha256="p", inputs_json="{}", payload=b"old")
    assert copy_store(source, pg_url).derived == 0
    assert _derived(pg_url) == {}
    run_and_compare(source, "full")
    dest = tmp_path / "dest.gpkg"
    with open_store(dest) as empty:
        empty.put_derived("stale", params_sha256="p", inputs_json="{}", payload=b"old")
    assert copy_store(source, dest).derived == 2
    assert list(_derived(dest)) == [SURFACE_KEY, TASKS_KEY]


def test_cli_store_copy_says_it_kept_the_cache(tmp_path, pg_url):
    from tests.store.test_copy import _cli

    source = tmp_path / "source.gpkg"
    _fill(source)
    run_and_compare(source, "full")
    done = _cli("store", "copy", str(source), pg_url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "kept 2 derived result(s) (cache)" in done.stdout
    assert _derived(pg_url) == _derived(source)
