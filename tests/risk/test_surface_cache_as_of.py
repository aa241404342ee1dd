"""Runs "as of a past date" update the kept (all-records) surface instead of recomputing it.

Records dated after the plan date are, relative to the kept surface of all records,
removed records: only the components they touch are recomputed, the kept surface is not
overwritten, and the result equals ``hazard_surface`` on the records dated on or before
the plan date (released land dated after it included). Real GeoPackage and PostGIS stores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minemap.risk.footprints import strike_footprints
from minemap.risk.pipeline import filter_as_of, prioritise
from minemap.risk.surface_cache import SURFACE_KEY, _decode, cached_hazard_surface
from minemap.store import open_store
from tests.risk.test_pipeline_cache import (
    assert_same_surface,
    casualties,
    cleared,
    csv_bytes,
    farmland,
    full_surface,
    hazards,
    ingest,
    read_layers,
    strikes,
)
from tests.store.pg import BACKENDS


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "gpkg":
        return tmp_path / "store.gpkg"
    return request.getfixturevalue("pg_url")


def dated(frame, date: str):
    out = frame.copy()
    out["date"] = pd.Timestamp(date)
    return out


def build(location) -> dict[str, str]:
    """Two clusters of evidence, released land of two dates, casualties of two dates."""
    ids = {}
    with open_store(location) as store:
        ingest(store, farmland(), "farmland", "farm.gpkg")
        ids["h"] = ingest(
            store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700), (6000, 0, 900, 500)],
                           "CHA"), "hazards", "h")  # fmt: skip
        ids["c_old"] = ingest(
            store, dated(cleared("C", [(100, 100, 300, 300)]), "2023-03-01"), "cleared", "c1"
        )
        # released land dated after the plan date: it must not be subtracted as of then
        ids["c_new"] = ingest(
            store, dated(cleared("D", [(2990, -10, 720, 719), (6100, 50, 200, 200)]),
                         "2025-02-01"), "cleared", "c2")  # fmt: skip
        k = casualties("K", [(1500, 300), (6500, 100), (8200, 0)])
        k["date"] = pd.to_datetime(["2023-05-01", "2025-03-01", "2025-04-01"])
        ids["k"] = ingest(store, k, "casualties", "k")
        s = strikes("S", [(900, 300), (5000, 0), (2500, 300)])
        s["date"] = pd.to_datetime(["2023-01-01", "2024-12-01", "2025-01-15"])
        ids["s"] = ingest(store, s, "strikes", "s")
    return ids


def as_of_run(location, as_of: str) -> dict:
    """Cached as-of run == plain run; the kept surface unchanged; the surface == full."""
    with open_store(location) as store:
        layers = read_layers(store)
        before = store.get_derived(SURFACE_KEY)
        cached = prioritise(layers, as_of=as_of, surface_cache=store)
        after = store.get_derived(SURFACE_KEY)
        used, _ = filter_as_of(layers, as_of)
        all_fp = strike_footprints(layers["strikes"])
        keep = {
            name: (pd.to_datetime(layers[name]["date"]) <= pd.Timestamp(as_of)).to_numpy()
            for name in ("hazards", "strikes", "casualties", "cleared")
        }
        run = cached_hazard_surface(
            store, hazards=layers["hazards"], strikes=layers["strikes"], footprints=all_fp,
            casualties=layers["casualties"], released=layers["cleared"], keep=keep,
        )  # fmt: skip
    if before is not None:  # the all-records surface is not overwritten
        assert after.payload_sha256 == before.payload_sha256
    if before is None and after is not None:  # rebuilt: the surface of all records
        assert_same_surface(_decode(after.payload).surface, full_surface(layers))
    plain = prioritise(layers, as_of=as_of)
    assert csv_bytes(cached.tasks) == csv_bytes(plain.tasks)
    assert cached.run_record["ranking_sha256"] == plain.run_record["ranking_sha256"]
    assert_same_surface(run.surface, full_surface(used))
    aside = not all(k.all() for k in keep.values())
    if aside:
        assert run.saved is False  # an as-of surface is never written
    return cached.run_record["surface"]


def test_as_of_runs_update_the_kept_surface_and_equal_full_runs(location):
    ids = build(location)
    # no kept surface yet: the all-records surface is built and kept, then updated
    with open_store(location) as store:
        assert store.get_derived(SURFACE_KEY) is None
    step = as_of_run(location, "2024-06-01")
    assert step["mode"] == "incremental"
    assert step["reason"].startswith("kept surface rebuilt (no cached surface yet)")
    with open_store(location) as store:
        assert store.get_derived(SURFACE_KEY) is not None
    for as_of in ("2024-06-01", "2025-01-20", "2025-02-15", "2023-02-01", "2022-01-01"):
        step = as_of_run(location, as_of)
        assert step["mode"] == "incremental", (as_of, step)
        assert "set aside" in step["reason"]
        assert step["n_components_changed"] <= step["n_components"]
    # only the components the set-aside records touch are recomputed: as of 2025-03-15
    # only the last casualty (a component of its own, far away) is set aside
    step = as_of_run(location, "2025-03-15")
    assert step["mode"] == "incremental"
    assert step["n_components_changed"] == 0
    assert step["n_components_removed"] == 1
    # the kept surface is stale (a batch added since) and the plan date sets records aside
    with open_store(location) as store:
        ingest(store, dated(strikes("T", [(2200, 300), (7000, 0)]), "2024-03-01"), "strikes", "t")
        store.undo_batch(ids["c_old"], user="test")
    step = as_of_run(location, "2024-06-01")
    assert step["mode"] == "incremental"
    assert step["added_batches"]
    assert step["removed_batches"] == [ids["c_old"]]


def test_a_whole_batch_set_aside_and_seeded_random_dates(tmp_path):
    path = tmp_path / "store.gpkg"
    build(path)
    with open_store(path) as store:
        prioritise(read_layers(store), as_of="2026-01-01", surface_cache=store)
    rng = np.random.default_rng(4)
    days = pd.date_range("2022-12-01", "2025-05-01", freq="D")
    for as_of in rng.choice(days, 6, replace=False):
        step = as_of_run(path, str(pd.Timestamp(as_of).date()))
        assert step["mode"] == "incremental"
    step = as_of_run(path, "2022-06-01")  # every batch wholly set aside
    assert step["mode"] == "incremental"
    assert step["n_components"] == 0
