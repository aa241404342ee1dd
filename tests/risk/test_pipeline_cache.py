"""The hazard surface kept in the store: incremental runs equal full recomputations.

Real GeoPackage files and a real throwaway PostGIS cluster; every step of an
import/import/undo sequence is compared with a run that does not use the cache at all
(the surface from ``hazard_surface`` on the same layers, and the ranked task CSV bytes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap._report import Report
from minemap.risk.footprints import strike_footprints
from minemap.risk.pipeline import prioritise
from minemap.risk.surface import CASUALTY_BUFFER_M, hazard_surface
from minemap.risk.surface_cache import SURFACE_KEY, _decode, cached_hazard_surface
from minemap.store import open_store
from minemap.store._gpkgwkb import register_functions
from tests.risk._fixtures import canonical, metric_box, metric_point
from tests.store.helpers import raw_sql
from tests.store.pg import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
LON, LAT = 36.2, 49.9  # Kharkiv oblast (EPSG:3035 area)
LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland")
AS_OF = "2026-01-01"


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "gpkg":
        return tmp_path / "store.gpkg"
    return request.getfixturevalue("pg_url")


# --- small layers built in code -------------------------------------------------------------


def _multi(geoms):
    return [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms]


def hazards(tag: str, boxes, kind: str = "SHA") -> gpd.GeoDataFrame:
    geoms = _multi([metric_box(LON, LAT, *b) for b in boxes])
    return canonical(
        "hazards",
        geoms,
        hazard_id=[f"{tag}-{i}" for i in range(len(geoms))],
        date=pd.Timestamp("2024-05-01"),
        hazard_type=kind,
        contamination="UXO",
    )


def strikes(tag: str, points) -> gpd.GeoDataFrame:
    geoms = [metric_point(LON, LAT, dx, dy) for dx, dy in points]
    return canonical(
        "strikes",
        geoms,
        strike_id=[f"{tag}-{i}" for i in range(len(geoms))],
        date=pd.Timestamp("2024-06-01"),
        munition_type="9M55K Smerch",
        cluster_munition=True,
    )


def casualties(tag: str, points) -> gpd.GeoDataFrame:
    geoms = [metric_point(LON, LAT, dx, dy) for dx, dy in points]
    return canonical(
        "casualties",
        geoms,
        incident_id=[f"{tag}-{i}" for i in range(len(geoms))],
        date=pd.Timestamp("2024-07-01"),
        killed=1,
        injured=0,
        civilian=True,
        munition_type="PMN-2",
    )


def cleared(tag: str, boxes) -> gpd.GeoDataFrame:
    geoms = _multi([metric_box(LON, LAT, *b) for b in boxes])
    return canonical(
        "cleared",
        geoms,
        survey_id=[f"{tag}-{i}" for i in range(len(geoms))],
        date=pd.Timestamp("2024-09-01"),
        team="T1",
        operator="Op",
        status="cleared",
        method="manual clearance",
    )


def farmland() -> gpd.GeoDataFrame:
    geoms = _multi([metric_box(LON, LAT, x, -500, 900, 3000) for x in range(-500, 9000, 1000)])
    return canonical(
        "farmland",
        geoms,
        parcel_id=[f"F-{i}" for i in range(len(geoms))],
        land_use="arable",
        crop="wheat",
    )


def ingest(store, frame: gpd.GeoDataFrame, layer: str, name: str) -> str:
    return store.ingest(
        frame,
        layer=layer,
        report=Report(file=name, layer=layer),
        file_name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        user="test",
    )


# --- comparing a cached run with a run that never saw the cache -----------------------------


def read_layers(store) -> dict[str, gpd.GeoDataFrame]:
    counts = store.counts()
    return {name: store.read_layer(name) for name in LAYERS if counts.get(name, 0)}


def csv_bytes(frame: gpd.GeoDataFrame) -> bytes:
    out = pd.DataFrame(frame.drop(columns="geometry"))
    out["geometry_wkb"] = [g.hex() if g is not None else "" for g in frame.geometry.to_wkb()]
    return out.to_csv(index=False, lineterminator="\n").encode()


def full_surface(layers) -> gpd.GeoDataFrame:
    st = layers.get("strikes")
    return hazard_surface(
        hazards=layers.get("hazards"),
        footprints=strike_footprints(st) if st is not None else None,
        casualties=layers.get("casualties"),
        released=layers.get("cleared"),
    )


def assert_same_surface(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    assert_geodataframe_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert list(got.geometry.to_wkb()) == list(want.geometry.to_wkb())  # bit for bit


def assert_surface_remembered_as_decoded(store) -> None:
    """The kept surface this process remembers (after writing or reading it) is what
    decoding the stored payload gives: frame, dtypes, attrs, WKB, membership, boxes."""
    from minemap.risk import surface_cache

    record = store.get_derived(SURFACE_KEY)
    if record is None:
        return
    remembered = surface_cache._DECODED.get(record.payload_sha256)
    assert remembered is not None  # the last run wrote or read it
    decoded = _decode(record.payload)
    assert_geodataframe_equal(remembered.surface, decoded.surface, check_index_type=True)
    assert remembered.surface.attrs == decoded.surface.attrs
    assert list(remembered.surface.geometry.to_wkb()) == list(decoded.surface.geometry.to_wkb())
    assert list(remembered.wkb) == list(decoded.wkb)
    if decoded.metric_wkb is None:
        assert remembered.metric_wkb is None
    else:
        assert list(remembered.metric_wkb) == list(decoded.metric_wkb)
    pd.testing.assert_frame_equal(remembered.members, decoded.members)
    assert remembered.boxes.keys() == decoded.boxes.keys()
    for batch_id, boxes in decoded.boxes.items():
        assert remembered.boxes[batch_id].tobytes() == boxes.tobytes()


def run_and_compare(location, expect_mode: str) -> dict:
    """prioritise with the store cache == without; the kept surface == hazard_surface."""
    with open_store(location) as store:
        layers = read_layers(store)
        version, audit = store.data_version(), store.audit_version()
        cached = prioritise(layers, as_of=AS_OF, surface_cache=store)
        assert_surface_remembered_as_decoded(store)
        assert store.data_version() == version  # the cache write is not a data change
        assert store.audit_version() == audit
        kept = _decode(store.get_derived(SURFACE_KEY).payload).surface
    plain = prioritise(layers, as_of=AS_OF)
    surface = cached.run_record["surface"]
    assert surface["mode"] == expect_mode, surface
    assert surface["warnings"] == []
    assert csv_bytes(cached.tasks) == csv_bytes(plain.tasks)
    assert cached.run_record["ranking_sha256"] == plain.run_record["ranking_sha256"]
    assert_same_surface(kept, full_surface(layers))
    return surface


# --- the tests --------------------------------------------------------------------------------


def test_import_import_undo_sequence_equals_full_recomputation(location):
    with open_store(location) as store:
        ingest(store, farmland(), "farmland", "farm.gpkg")
        ingest(store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)], "CHA"), "hazards", "h")
        c1 = ingest(
            store, cleared("C", [(100, 100, 300, 300), (2990, -10, 720, 719)]), "cleared", "c"
        )
        ingest(store, casualties("K", [(1500, 300), (6000, 100)]), "casualties", "k")
        s1 = ingest(store, strikes("S", [(900, 300), (5000, 0), (8000, 0)]), "strikes", "s1")
    first = run_and_compare(location, "full")
    assert first["reason"] == "no cached surface yet"
    assert run_and_compare(location, "incremental")["n_components_changed"] == 0

    with open_store(location) as store:  # today's upload: strikes bridging two components
        ingest(store, strikes("T", [(2200, 300), (2600, 300)]), "strikes", "s2")
    step = run_and_compare(location, "incremental")
    assert 0 < step["n_components_changed"] < step["n_components"]
    assert len(step["added_batches"]) == 1

    with open_store(location) as store:  # released land over a far strike
        ingest(store, cleared("D", [(7700, -300, 600, 600)]), "cleared", "c2")
    run_and_compare(location, "incremental")

    with open_store(location) as store:  # undo the first strikes, then the first release
        store.undo_batch(s1, user="test")
    step = run_and_compare(location, "incremental")
    assert step["removed_batches"] == [s1]
    with open_store(location) as store:
        store.undo_batch(c1, user="test")
    step = run_and_compare(location, "incremental")
    assert step["removed_batches"] == [c1]
    assert step["n_components_changed"] < step["n_components"]


def test_random_imports_and_undos_always_equal_full_recomputation(tmp_path):
    """Seeded random days of imports and undos (overlapping boxes, points, releases)."""
    path = tmp_path / "store.gpkg"
    rng = np.random.default_rng(20251123)
    active: list[str] = []
    makers = {
        "hazards": lambda t: hazards(t, [_rbox(rng) for _ in range(rng.integers(1, 4))]),
        "strikes": lambda t: strikes(t, [_rpoint(rng) for _ in range(rng.integers(1, 5))]),
        "casualties": lambda t: casualties(t, [_rpoint(rng) for _ in range(rng.integers(1, 3))]),
        "cleared": lambda t: cleared(t, [_rbox(rng, 400) for _ in range(rng.integers(1, 3))]),
    }
    with open_store(path) as store:
        for layer, make in makers.items():
            active.append(ingest(store, make(f"{layer}-0"), layer, f"{layer}-0"))
    run_and_compare(path, "full")
    for day in range(1, 9):
        with open_store(path) as store:
            if day % 3 == 0 and len(active) > 2:
                store.undo_batch(active.pop(int(rng.integers(0, len(active)))), user="t")
            for layer in rng.choice(list(makers), size=int(rng.integers(1, 3)), replace=False):
                tag = f"{layer}-{day}"
                active.append(ingest(store, makers[layer](tag), str(layer), tag))
        run_and_compare(path, "incremental")


def _rbox(rng, size=900):
    w, h = rng.uniform(100, size, 2)
    return (float(rng.uniform(0, 6000)), float(rng.uniform(0, 2000)), float(w), float(h))


def _rpoint(rng):
    return (float(rng.uniform(0, 6000)), float(rng.uniform(0, 2000)))


def _base_store(path) -> None:
    with open_store(path) as store:
        ingest(store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)]), "hazards", "h")
        ingest(store, casualties("K", [(1500, 300)]), "casualties", "k")
        ingest(store, strikes("S", [(900, 300)]), "strikes", "s")


def test_parameters_change_means_full_recomputation(tmp_path, monkeypatch):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    run_and_compare(path, "full")
    run_and_compare(path, "incremental")
    # another casualty buffer: a cached surface would be wrong, so it must not be used
    monkeypatch.setitem(CASUALTY_BUFFER_M, "AP", 400.0)
    step = run_and_compare(path, "full")
    assert "parameters" in step["reason"]
    run_and_compare(path, "incremental")  # the new surface was kept
    with open_store(path) as store:
        layers = read_layers(store)
        fp = strike_footprints(layers["strikes"])
        run = cached_hazard_surface(
            store, hazards=layers["hazards"], strikes=layers["strikes"], footprints=fp,
            casualties=layers["casualties"], casualty_buffer_m=250.0,
        )  # fmt: skip
    assert run.mode == "full"
    assert "parameters" in run.reason
    want = hazard_surface(
        hazards=layers["hazards"], footprints=fp, casualties=layers["casualties"],
        casualty_buffer_m=250.0,
    )  # fmt: skip
    assert_same_surface(run.surface, want)


def test_as_of_that_sets_records_aside_updates_but_never_writes_the_cache(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    run_and_compare(path, "full")
    with open_store(path) as store:
        before = store.get_derived(SURFACE_KEY)
        layers = read_layers(store)
        past = prioritise(layers, as_of="2024-06-15", surface_cache=store)  # before K
        after = store.get_derived(SURFACE_KEY)
    # the records set aside are removed records relative to the kept surface
    assert past.run_record["surface"]["mode"] == "incremental"
    assert "aside" in past.run_record["surface"]["reason"]
    assert after.payload_sha256 == before.payload_sha256
    assert csv_bytes(past.tasks) == csv_bytes(prioritise(layers, as_of="2024-06-15").tasks)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE minemap_derived SET payload = X'00'",
        "UPDATE minemap_derived SET inputs_json = '{not json'",
        "UPDATE minemap_derived SET payload = X'504B0304', payload_sha256 = "
        f"'{hashlib.sha256(bytes.fromhex('504B0304')).hexdigest()}'",
        "UPDATE minemap_derived SET inputs_json = '{\"format\": 1}'",
    ],
    ids=["payload", "json", "zip-with-good-checksum", "inputs-incomplete"],
)
def test_damaged_cache_row_is_ignored_with_a_warning(tmp_path, damage, caplog):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    run_and_compare(path, "full")
    raw_sql(path, damage)
    with open_store(path) as store, caplog.at_level(logging.WARNING, "minemap.risk"):
        layers = read_layers(store)
        res = prioritise(layers, as_of=AS_OF, surface_cache=store)
    surface = res.run_record["surface"]
    assert surface["mode"] == "full"
    assert "damaged" in surface["reason"]
    assert any("damaged" in w for w in surface["warnings"])
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert csv_bytes(res.tasks) == csv_bytes(prioritise(layers, as_of=AS_OF).tasks)
    run_and_compare(path, "incremental")  # rewritten, usable again


def test_rows_changed_behind_minemaps_back_force_full_recomputation(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    run_and_compare(path, "full")
    con = sqlite3.connect(path)  # as another program would: same batches, other content
    register_functions(con)  # the R-tree triggers call ST_IsEmpty & co.
    con.execute("UPDATE hazards SET hazard_type = 'CHA'")
    con.commit()
    con.close()
    step = run_and_compare(path, "full")
    assert "changed since" in step["reason"]


def test_layers_without_batch_ids_are_never_cached(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    with open_store(path) as store:
        layers = {k: v.drop(columns="batch_id") for k, v in read_layers(store).items()}
        res = prioritise(layers, as_of=AS_OF, surface_cache=store)
        assert store.get_derived(SURFACE_KEY) is None
    assert res.run_record["surface"]["mode"] == "full"
    assert "batch ids" in res.run_record["surface"]["reason"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "minemap", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_cli_reports_incremental_runs_and_no_cache_gives_the_same_bytes(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    first = _cli(
        "prioritise", "--store", str(path), "--as-of", AS_OF, "--out", str(tmp_path / "a.csv")
    )
    assert first.returncode == 0, first.stderr
    assert "surface: full" in first.stdout
    assert "tasks: full" in first.stdout
    with open_store(path) as store:
        ingest(store, strikes("T", [(2200, 300), (4000, 2000)]), "strikes", "today")
    inc = _cli(
        "prioritise", "--store", str(path), "--as-of", AS_OF, "--out", str(tmp_path / "b.csv")
    )
    assert inc.returncode == 0, inc.stderr
    assert "surface: incremental" in inc.stdout
    assert "components recomputed" in inc.stdout
    assert "tasks: incremental" in inc.stdout
    full = _cli(
        "prioritise", "--store", str(path), "--as-of", AS_OF, "--no-cache",
        "--out", str(tmp_path / "c.csv"),
    )  # fmt: skip
    assert full.returncode == 0, full.stderr
    assert "surface: full" in full.stdout
    assert "--no-cache" in full.stdout
    assert "tasks: full" in full.stdout
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    record = json.loads((tmp_path / "b.run.json").read_text())
    assert record["surface"]["mode"] == "incremental"
    assert len(record["surface"]["added_batches"]) == 1
    assert json.loads((tmp_path / "c.run.json").read_text())["surface"]["mode"] == "full"


def test_frames_that_are_not_whole_store_batches_are_never_cached(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    with open_store(path) as store:
        layers = read_layers(store)
        layers["hazards"] = layers["hazards"].iloc[1:]  # one record of the batch missing
        res = prioritise(layers, as_of=AS_OF, surface_cache=store)
        assert store.get_derived(SURFACE_KEY) is None
    assert res.run_record["surface"]["mode"] == "full"
    assert "1 of its 2 records" in res.run_record["surface"]["reason"]


def test_app_prioritisation_keeps_and_updates_the_surface(tmp_path, monkeypatch):
    """The app's cached wrapper uses the store's surface (a new data_version: incremental)."""
    from minemap_app import cache

    path = tmp_path / "store.gpkg"
    _base_store(path)
    monkeypatch.setenv("MINEMAP_STORE", str(path))
    with open_store(path) as store:
        version = store.data_version()
    first = cache.prioritisation(
        str(path), version, "planner", None, as_of=pd.Timestamp(AS_OF).date()
    )
    assert first.run_record["surface"]["mode"] == "full"
    with open_store(path) as store:
        ingest(store, strikes("T", [(2200, 300)]), "strikes", "today")
        version = store.data_version()
        plain = prioritise(read_layers(store), as_of=AS_OF)
    second = cache.prioritisation(
        str(path), version, "planner", None, as_of=pd.Timestamp(AS_OF).date()
    )
    assert second.run_record["surface"]["mode"] == "incremental"
    assert csv_bytes(second.tasks) == csv_bytes(plain.tasks)


def test_real_bosnia_hazards_and_releases_in_halves_with_undos(tmp_path):
    """Real suspect and cleared polygons (BHMAC, real overlaps and slivers) imported in
    halves, then undone: the kept surface equals hazard_surface at every step."""
    from tests.risk._fixtures import bih_casualties, bih_hazards, bih_released

    hz, rel, cas = bih_hazards(), bih_released(), bih_casualties()
    hz = hz.set_geometry(_multi(hz.geometry), crs="EPSG:4326")
    rel = rel.set_geometry(_multi(rel.geometry), crs="EPSG:4326")
    path = tmp_path / "store.gpkg"

    def step(expect: str) -> dict:
        with open_store(path) as store:
            layers = read_layers(store)
            run = cached_hazard_surface(
                store,
                hazards=layers.get("hazards"),
                casualties=layers.get("casualties"),
                released=layers.get("cleared"),
            )
        assert run.mode == expect, run.reason
        assert run.warnings == []
        assert_same_surface(run.surface, full_surface(layers))
        return run

    with open_store(path) as store:
        h1 = ingest(store, hz.iloc[::2].reset_index(drop=True), "hazards", "h1")
        r1 = ingest(store, rel.iloc[::2].reset_index(drop=True), "cleared", "r1")
        ingest(store, cas, "casualties", "k")
    step("full")
    with open_store(path) as store:
        ingest(store, hz.iloc[1::2].reset_index(drop=True), "hazards", "h2")
    step("incremental")
    with open_store(path) as store:
        ingest(store, rel.iloc[1::2].reset_index(drop=True), "cleared", "r2")
    step("incremental")
    with open_store(path) as store:
        store.undo_batch(r1, user="t")
    step("incremental")
    with open_store(path) as store:
        store.undo_batch(h1, user="t")
    run = step("incremental")
    assert run.n_changed < run.n_components


def test_cli_damaged_cache_warns_once_and_recomputes(tmp_path):
    path = tmp_path / "store.gpkg"
    _base_store(path)
    assert _cli("prioritise", "--store", str(path), "--as-of", AS_OF).returncode == 0
    raw_sql(path, "UPDATE minemap_derived SET payload = X'00'")
    res = _cli("prioritise", "--store", str(path), "--as-of", AS_OF)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert (res.stdout + res.stderr).count("cached hazard surface is damaged") == 1
    assert "surface: full" in res.stdout
    again = _cli("prioritise", "--store", str(path), "--as-of", AS_OF)
    assert "surface: incremental" in again.stdout


def _snapshot(layers) -> dict[str, gpd.GeoDataFrame]:
    return {name: frame.copy(deep=True) for name, frame in layers.items()}


def _assert_unchanged(layers, before) -> None:
    for name, frame in layers.items():
        assert_geodataframe_equal(frame, before[name])
        assert list(frame.geometry.to_wkb()) == list(before[name].geometry.to_wkb())
        assert frame.attrs == before[name].attrs


def test_prioritise_leaves_its_input_layers_untouched(tmp_path):
    """The app hands the engine shared, read-only frames (one per store version): a run —
    full, kept, or as of a past date from the kept surface and tasks — must not write into
    them, or the next run (and its checksums) would see other data."""
    from tests.risk._taskframe import synthetic_layers

    plain = synthetic_layers()
    before = _snapshot(plain)
    prioritise(plain, as_of="2025-01-01")
    prioritise(plain, as_of="2025-07-01", sensitivity=True)
    _assert_unchanged(plain, before)

    path = tmp_path / "store.gpkg"
    _base_store(path)
    with open_store(path) as store:
        layers = read_layers(store)
        before = _snapshot(layers)
        for as_of in (AS_OF, AS_OF, "2024-06-15"):  # full, kept, past date from the kept
            prioritise(layers, as_of=as_of, surface_cache=store)
        _assert_unchanged(layers, before)


# --- checksums remembered per frame (the app's shared frames) -------------------------------


def _fresh_digests(frame: gpd.GeoDataFrame, layer: str) -> dict[str, str]:
    """The checksums of an independent deep copy (another object: never remembered)."""
    from minemap.risk.surface_cache import batch_digests

    return batch_digests(frame.copy(deep=True), layer)


@pytest.mark.parametrize(
    ("layer", "column", "value"),
    [
        ("hazards", "hazard_type", "CHA"),  # Arrow string
        ("hazards", "date", pd.Timestamp("2020-01-01")),  # datetime64
        ("hazards", "geometry", None),  # geometry objects (set below)
        ("casualties", "killed", 7),  # masked Int64
        ("casualties", "civilian", False),  # masked boolean
        ("cleared", "area_m2", 12.5),  # float64
        ("farmland", "crop", "maize"),
    ],
)
def test_remembered_checksums_see_every_in_place_edit(tmp_path, layer, column, value):
    from minemap.risk.surface_cache import batch_digests

    path = tmp_path / "store.gpkg"
    frames = {
        "hazards": hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)]),
        "casualties": casualties("K", [(1500, 300), (200, 200)]),
        "cleared": cleared("R", [(0, 0, 300, 300), (2000, 0, 300, 300)]),
        "farmland": farmland(),
    }
    with open_store(path) as store:
        for name, frame in frames.items():
            ingest(store, frame, name, name)
        read = store.read_layer(layer)
    first = batch_digests(read, layer)
    assert first == _fresh_digests(read, layer)
    assert batch_digests(read, layer) == first  # remembered: same answer
    if column == "geometry":
        value = shapely.MultiPolygon([metric_box(LON, LAT, 10, 10, 500, 500)])
    read.loc[read.index[0], column] = value  # in place, same frame object
    edited = batch_digests(read, layer)
    assert edited == _fresh_digests(read, layer)
    assert edited != first


def test_remembered_checksums_see_another_active_geometry_column(tmp_path):
    from minemap.risk.surface_cache import batch_digests

    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        ingest(store, hazards("H", [(0, 0, 800, 600), (3000, 0, 700, 700)]), "hazards", "h")
        read = store.read_layer("hazards")
    read["moved"] = read.geometry.translate(0.01, 0.0)
    first = batch_digests(read, "hazards")
    read.set_geometry("moved", inplace=True)  # same columns and values, other geometry
    moved = batch_digests(read, "hazards")
    assert moved == _fresh_digests(read, "hazards")
    assert moved != first


def test_same_frames_across_runs_like_the_app_equal_full_runs(tmp_path):
    """The app keeps one frame per layer and store version and runs the engine on them
    again and again (plan dates back and forth); an import or undo gives new frames; a
    frame edited in place behind the cache is seen. Every run equals a run without it."""
    path = tmp_path / "store.gpkg"
    _base_store(path)

    def check(store, layers, as_of, expect_reason=None):
        cached = prioritise(layers, as_of=as_of, surface_cache=store)
        assert_surface_remembered_as_decoded(store)
        plain = prioritise({k: v.copy(deep=True) for k, v in layers.items()}, as_of=as_of)
        assert csv_bytes(cached.tasks) == csv_bytes(plain.tasks)
        assert cached.run_record["ranking_sha256"] == plain.run_record["ranking_sha256"]
        if expect_reason is not None:
            assert expect_reason in cached.run_record["surface"]["reason"]
        return cached.run_record

    with open_store(path) as store:
        ingest(store, farmland(), "farmland", "f")
        ingest(store, cleared("R", [(2900, -100, 300, 300)]), "cleared", "r")
        layers = read_layers(store)
        for as_of in (AS_OF, "2024-06-15", AS_OF, "2024-08-01", "2024-06-15"):
            check(store, layers, as_of)
        batch = ingest(store, strikes("S2", [(3300, 300)]), "strikes", "s2")
        layers = read_layers(store)
        check(store, layers, AS_OF, "1 batch(es) added")
        check(store, layers, "2024-06-15")
        store.undo_batch(batch, user="test")
        layers = read_layers(store)
        check(store, layers, AS_OF, "0 batch(es) added, 1 undone")
        # behind the cache's back, in place: a hazard's geometry, then a parcel's crop
        hz = layers["hazards"]
        hz.loc[hz.index[0], "geometry"] = shapely.MultiPolygon(
            [metric_box(LON, LAT, 0, 0, 400, 400)]
        )
        check(store, layers, AS_OF, "changed since")
        farm = layers["farmland"]
        farm.loc[farm.index[0], "crop"] = "maize"
        record = check(store, layers, AS_OF)
        assert record["tasks"]["mode"] == "full"
        assert "farmland changed" in record["tasks"]["reason"]
