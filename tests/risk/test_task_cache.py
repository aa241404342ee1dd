"""The tasks kept in the store: only changed components are cut again, same bytes as a
full run.

Every step of import/undo/plan-date sequences on a real GeoPackage store is compared with
``prioritise`` without the store (``make_tasks`` on the whole surface): the ranked task
frames are equal (``assert_geodataframe_equal``) and their CSV bytes identical.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap.risk.pipeline import prioritise
from minemap.risk.surface import hazard_surface
from minemap.risk.task_cache import TASKS_KEY
from minemap.risk.tasks import make_tasks
from minemap.store import open_store
from tests.risk._fixtures import canonical, metric_box
from tests.risk.test_pipeline_cache import (
    _multi,
    _rbox,
    _rpoint,
    casualties,
    cleared,
    csv_bytes,
    farmland,
    hazards,
    ingest,
    read_layers,
    strikes,
)
from tests.store.helpers import raw_sql

LON, LAT = 36.2, 49.9


def assert_remembered_as_decoded(store) -> None:
    """The kept tasks this process remembers (after writing or reading them) are what
    decoding the stored payload gives: same frame, dtypes, geometries, attributions."""
    from minemap.risk import task_cache

    record = store.get_derived(TASKS_KEY)
    if record is None:
        return
    remembered = task_cache._DECODED.get(record.payload_sha256)
    assert remembered is not None  # the last run wrote or read them
    decoded = task_cache._decode(record.payload)
    assert_geodataframe_equal(remembered.tasks, decoded.tasks, check_index_type=True)
    assert list(remembered.tasks.geometry.to_wkb()) == list(decoded.tasks.geometry.to_wkb())
    assert list(remembered.wkb) == list(decoded.wkb)
    assert list(remembered.task_sig) == list(decoded.task_sig)
    pd.testing.assert_series_equal(remembered.attribution, decoded.attribution)
    pd.testing.assert_series_equal(remembered.signatures, decoded.signatures)


def compare(path: Path, as_of: str) -> dict:
    """Cached run == plain run (frames and CSV bytes); returns the tasks' run record."""
    with open_store(path) as store:
        layers = read_layers(store)
        cached = prioritise(layers, as_of=as_of, surface_cache=store)
        assert_remembered_as_decoded(store)
    plain = prioritise(layers, as_of=as_of)
    assert_geodataframe_equal(cached.tasks, plain.tasks)
    assert csv_bytes(cached.tasks) == csv_bytes(plain.tasks)
    assert cached.run_record["ranking_sha256"] == plain.run_record["ranking_sha256"]
    assert list(cached.unattributed.itertuples()) == list(plain.unattributed.itertuples())
    record = cached.run_record["tasks"]
    assert record["warnings"] == []
    return record


def big_farm(tag: str, xs) -> pd.DataFrame:
    geoms = _multi([metric_box(LON, LAT, x, -400, 700, 2500) for x in xs])
    return canonical(
        "farmland", geoms, parcel_id=[f"{tag}-{i}" for i in range(len(geoms))],
        land_use="arable", crop="maize",
    )  # fmt: skip


def casualties_dated(tag: str, points, dates) -> pd.DataFrame:
    frame = casualties(tag, points)
    frame["date"] = pd.to_datetime(dates)
    frame["injured"] = pd.array(range(1, len(points) + 1), dtype="Int64")
    return frame


def test_make_tasks_keywords_cut_in_the_given_crs_and_attribute_each_casualty():
    hz = hazards("H", [(0, 0, 5000, 3000), (7000, 0, 500, 500)], "CHA")
    k = casualties_dated("K", [(1000, 1000), (4500, 2700), (20000, 0)], ["2024-01-01"] * 3)
    surface = hazard_surface(hazards=hz, casualties=k)
    plain = make_tasks(surface, hazards=hz, casualties=k, farmland=farmland())
    given = make_tasks(surface, hazards=hz, casualties=k, farmland=farmland(),
                       crs=plain.attrs["area_crs"], attribution=True)  # fmt: skip
    rows = given.attrs.pop("casualty_task")
    assert_geodataframe_equal(given, plain)
    assert "casualty_task" not in plain.attrs
    assert len(rows) == len(k)
    for point, row in zip(k.geometry, rows, strict=True):
        if row >= 0:  # the incident lies in its task
            assert given.geometry.iloc[row].buffer(1e-9).contains(point)
    assert rows[2] >= 0  # the far casualty has its own component and task
    assert (rows[:2] >= 0).all()
    assert given.loc[rows[0], "task_id"] != given.loc[rows[1], "task_id"]  # two grid cells


def test_sequence_of_imports_undos_and_plan_dates_equals_full_runs(tmp_path):
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        f1 = ingest(store, farmland(), "farmland", "farm1")
        ingest(
            store, hazards("H", [(0, 0, 5000, 3000), (7000, 0, 700, 700)], "CHA"), "hazards", "h"
        )
        ingest(store, hazards("J", [(12000, 0, 800, 800), (15000, 0, 900, 400)]), "hazards", "j")
        c1 = ingest(store, cleared("C", [(100, 100, 300, 300)]), "cleared", "c1")
        ingest(store, casualties_dated("K", [(1500, 300), (7200, 100), (12300, 300), (30000, 0)],
                                       ["2023-05-01", "2024-03-01", "2025-02-01", "2024-01-01"]),
               "casualties", "k")  # fmt: skip
        s1 = ingest(store, strikes("S", [(900, 300), (15200, 100)]), "strikes", "s1")
    first = compare(path, "2026-01-01")
    assert first["mode"] == "full"
    assert first["saved"]
    # the plan date moves: recency changes, every component is reused
    step = compare(path, "2026-03-01")
    assert step["mode"] == "incremental"
    assert step["n_components_cut"] == 0
    # as of a past date: the components whose records are set aside are cut again
    step = compare(path, "2024-06-01")
    assert step["mode"] == "incremental"
    assert 0 < step["n_components_cut"] < step["n_components_reused"] + step["n_components_cut"]
    assert step["saved"]  # reuse is decided per component: an as-of run's tasks are kept
    # back to the first date: its components' tasks were kept beside the past date's
    back = compare(path, "2026-01-01")
    assert back["mode"] == "incremental"
    assert back["n_components_cut"] == 0
    assert compare(path, "2024-06-01")["n_components_cut"] == 0  # and the past date's too
    # today's upload: strikes joining two components; then released land; then undos
    with open_store(path) as store:
        ingest(store, strikes("T", [(6000, 300), (6600, 300)]), "strikes", "s2")
    step = compare(path, "2026-01-01")
    assert step["mode"] == "incremental"
    assert 1 <= step["n_components_cut"] < step["n_components_reused"]
    with open_store(path) as store:  # released land over one far component
        ingest(store, cleared("D", [(14900, -100, 500, 700)]), "cleared", "c2")
    assert compare(path, "2026-01-01")["n_components_cut"] == 1
    compare(path, "2025-01-01")
    with open_store(path) as store:
        store.undo_batch(s1, user="t")
        store.undo_batch(c1, user="t")
    step = compare(path, "2026-01-01")
    assert step["mode"] == "incremental"
    # farmland changes: every task is cut again (documented rule), then reused again
    with open_store(path) as store:
        ingest(store, big_farm("G", [2000, 12100]), "farmland", "farm2")
    step = compare(path, "2026-01-01")
    assert step["mode"] == "full"
    assert "farmland" in step["reason"]
    assert compare(path, "2026-01-01")["n_components_cut"] == 0
    with open_store(path) as store:
        store.undo_batch(f1, user="t")
    assert compare(path, "2026-01-01")["mode"] == "full"
    assert compare(path, "2024-06-01")["mode"] == "incremental"


def test_seeded_random_days_with_plan_dates(tmp_path):
    """Random imports, undos and plan dates: every run equals a full one."""
    path = tmp_path / "store.gpkg"
    rng = np.random.default_rng(9)
    dates = pd.date_range("2023-01-01", "2025-12-31", freq="D")

    def dated(frame):
        frame["date"] = pd.to_datetime(rng.choice(dates, len(frame)))
        return frame

    makers = {
        "hazards": lambda t: dated(hazards(t, [_rbox(rng, 2500) for _ in range(2)])),
        "strikes": lambda t: dated(strikes(t, [_rpoint(rng) for _ in range(3)])),
        "casualties": lambda t: dated(casualties(t, [_rpoint(rng) for _ in range(2)])),
        "cleared": lambda t: dated(cleared(t, [_rbox(rng, 500)])),
    }
    active = []
    with open_store(path) as store:
        ingest(store, big_farm("F", range(-500, 7000, 900)), "farmland", "farm")
        for layer, make in makers.items():
            active.append(ingest(store, make(f"{layer}-0"), layer, f"{layer}-0"))
    modes = []
    for day in range(8):
        with open_store(path) as store:
            if day % 3 == 2 and len(active) > 2:
                store.undo_batch(active.pop(int(rng.integers(0, len(active)))), user="t")
            layer = str(rng.choice(list(makers)))
            active.append(ingest(store, makers[layer](f"{layer}-{day + 1}"), layer, f"d{day}"))
        modes.append(compare(path, "2026-01-01")["mode"])
        as_of = str(pd.Timestamp(rng.choice(dates)).date())
        modes.append(compare(path, as_of)["mode"])
    assert modes[0] == "full"
    assert modes.count("incremental") >= len(modes) - 2


def _store_with_tasks(path: Path) -> None:
    with open_store(path) as store:
        ingest(store, farmland(), "farmland", "farm")
        ingest(store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)]), "hazards", "h")
        ingest(store, casualties("K", [(1500, 300)]), "casualties", "k")
    assert compare(path, "2026-01-01")["mode"] == "full"


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("UPDATE minemap_derived SET payload = X'00' WHERE key = 'tasks'", "checksum"),
        (
            "UPDATE minemap_derived SET payload = X'504B0304', payload_sha256 = "
            f"'{hashlib.sha256(bytes.fromhex('504B0304')).hexdigest()}' WHERE key = 'tasks'",
            "damaged",
        ),
        ("UPDATE minemap_derived SET inputs_json = '{not json' WHERE key = 'tasks'", "damaged"),
        ("UPDATE minemap_derived SET params_sha256 = 'x' WHERE key = 'tasks'", "parameters"),
        ("DELETE FROM minemap_derived WHERE key = 'tasks'", "no kept tasks"),
    ],
    ids=["payload", "zip-with-good-checksum", "json", "params", "deleted"],
)
def test_damaged_or_missing_kept_tasks_mean_a_full_cut(tmp_path, damage, why):
    path = tmp_path / "store.gpkg"
    _store_with_tasks(path)
    raw_sql(path, damage)
    step = compare(path, "2026-01-01")  # no traceback, the same bytes
    assert step["mode"] == "full"
    assert why in step["reason"]
    assert compare(path, "2026-01-01")["mode"] == "incremental"  # kept again


def test_tasks_kept_for_an_older_surface_are_reused_only_where_unchanged(tmp_path):
    path = tmp_path / "store.gpkg"
    _store_with_tasks(path)
    with open_store(path) as store:
        old_tasks = store.get_derived(TASKS_KEY)
        ingest(store, strikes("T", [(2200, 300)]), "strikes", "t")
    step = compare(path, "2026-01-01")
    assert step["mode"] == "incremental"
    assert step["n_components_cut"] >= 1
    # put the tasks of the earlier surface back: the changed component's signature differs
    with open_store(path) as store:
        store.put_derived(TASKS_KEY, params_sha256=old_tasks.params_sha256,
                          inputs_json=old_tasks.inputs_json, payload=old_tasks.payload)  # fmt: skip
    again = compare(path, "2026-01-01")
    assert again["mode"] == "incremental"
    assert again["n_components_cut"] == step["n_components_cut"]
    assert again["n_components_reused"] == step["n_components_reused"]


def test_real_bosnia_layers_in_halves_with_plan_dates(tmp_path):
    """Real suspect areas, releases and (dated) casualties from BHMAC: imports in halves,
    an undo, plan dates — cached tasks equal a full run at every step."""
    from tests.risk._fixtures import bih_casualties, bih_hazards, bih_released

    hz, rel, cas = bih_hazards(), bih_released(), bih_casualties()
    hz = hz.set_geometry(_multi(hz.geometry), crs="EPSG:4326")
    rel = rel.set_geometry(_multi(rel.geometry), crs="EPSG:4326")
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        ingest(store, hz.iloc[::2].reset_index(drop=True), "hazards", "h1")
        r1 = ingest(store, rel.iloc[::2].reset_index(drop=True), "cleared", "r1")
        ingest(store, cas, "casualties", "k")
    assert compare(path, "2024-01-01")["mode"] == "full"
    with open_store(path) as store:
        ingest(store, hz.iloc[1::2].reset_index(drop=True), "hazards", "h2")
    step = compare(path, "2024-01-01")
    assert step["mode"] == "incremental"
    assert step["n_components_reused"] > 0
    dates = pd.concat([pd.to_datetime(f["date"]) for f in (hz, rel, cas)]).dropna()
    mid = str(dates.quantile(0.7).date())
    assert compare(path, mid)["mode"] == "incremental"
    with open_store(path) as store:
        ingest(store, rel.iloc[1::2].reset_index(drop=True), "cleared", "r2")
        store.undo_batch(r1, user="t")
    assert compare(path, "2024-01-01")["mode"] == "incremental"
    assert compare(path, mid)["mode"] == "incremental"
    assert shapely.__version__  # the engine under test: shapely 2


def test_app_period_end_change_reuses_the_kept_surface_and_tasks(tmp_path, monkeypatch):
    """The app's engine call (warm-up as of the period's end, then a new period end) takes
    the cached path and gives the bytes of a run without the store."""
    from minemap_app import cache

    path = tmp_path / "store.gpkg"
    _store_with_tasks(path)
    with open_store(path) as store:
        ingest(store, casualties_dated("L", [(3100, 100)], ["2025-03-01"]), "casualties", "l")
        version = store.data_version()
        layers = read_layers(store)
    monkeypatch.setenv("MINEMAP_STORE", str(path))
    end, earlier = pd.Timestamp("2025-06-30").date(), pd.Timestamp("2025-01-01").date()
    warm = cache.prioritisation(str(path), version, "planner", None, as_of=end)
    moved = cache.prioritisation(str(path), version, "planner", None, as_of=earlier)
    for result, as_of in ((warm, end), (moved, earlier)):
        assert result.run_record["tasks"]["mode"] == "incremental"
        assert csv_bytes(result.tasks) == csv_bytes(prioritise(layers, as_of=as_of).tasks)
    assert moved.run_record["surface"]["mode"] == "incremental"
    assert "set aside" in moved.run_record["surface"]["reason"]
    assert moved.run_record["surface"]["n_components_changed"] >= 1
    # that component without L was kept from the run before L came: nothing to cut
    assert moved.run_record["tasks"]["n_components_cut"] == 0
