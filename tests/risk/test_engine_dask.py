"""The Dask engine gives the single-process result: same tasks, areas, ranks.

One 2-worker ``LocalCluster`` (separate processes, one thread each) serves the whole
session; the engine connects to it by address, as it would to a real cluster. Reference
results come from ``prioritise`` without an engine — the code path everyone else uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap.risk.engines import LocalEngine, get_engine, plan_partitions, prioritise_many
from minemap.risk.footprints import strike_footprints
from minemap.risk.pipeline import prioritise
from minemap.risk.surface import hazard_surface
from minemap.risk.weights import default_weights, weights_from_mapping
from tests.risk._fixtures import (
    bih_casualties,
    bih_hazards,
    bih_released,
    canonical,
    metric_box,
    metric_point,
)

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # in CI the dask extra is installed: a missing one must fail
else:
    distributed = pytest.importorskip("distributed", reason="pip install 'minemap[dask]'")

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2025-07-01"


# --- data --------------------------------------------------------------------------------


def synthetic_layers(seed: int = 11, n_sites: int = 24) -> dict[str, gpd.GeoDataFrame]:
    """Small Ukraine-like layers with the cases that could break a spatial split.

    Sites of overlapping hazards, strike salvos and casualties; released land cutting into
    them (one site wholly released, one casualty inside released land); strip parcels that
    straddle two sites; a casualty with no geometry; touching (not overlapping) hazards.
    """
    rng = np.random.default_rng(seed)
    lon0, lat0 = 36.2, 48.9
    haz, strikes, cas, rel, farm = [], [], [], [], []
    for s in range(n_sites):
        dx, dy = float(rng.uniform(0, 60_000)), float(rng.uniform(0, 40_000))
        for k in range(int(rng.integers(1, 4))):
            w, h = rng.uniform(300, 2500, 2)
            ox, oy = rng.uniform(-400, 400, 2)
            haz.append((f"H{s}-{k}", metric_box(lon0, lat0, dx + ox, dy + oy, w, h), k % 2))
        for k in range(int(rng.integers(0, 6))):
            ox, oy = rng.normal(0, 700, 2)
            strikes.append((f"S{s}-{k}", metric_point(lon0, lat0, dx + ox, dy + oy)))
        for k in range(int(rng.integers(0, 3))):
            ox, oy = rng.normal(0, 900, 2)
            cas.append((f"I{s}-{k}", metric_point(lon0, lat0, dx + ox, dy + oy)))
        rel.append((f"R{s}", metric_box(lon0, lat0, dx - 200, dy - 200, 600, 500)))
        for k in range(int(rng.integers(0, 12))):  # strip parcels: 1 km long, ~150 m wide
            farm.append((f"P{s}-{k}", metric_box(lon0, lat0, dx - 900 + 160 * k, dy, 150, 1000)))
    # a site wholly released, with a casualty inside the released land
    haz.append(("H-gone", metric_box(lon0, lat0, 80_000, 0, 500, 500), 0))
    rel.append(("R-all", metric_box(lon0, lat0, 79_900, -100, 800, 800)))
    cas.append(("I-released", metric_point(lon0, lat0, 80_250, 250)))
    # two hazards that only touch, and a parcel across both
    haz.append(("H-touch-a", metric_box(lon0, lat0, 90_000, 0, 1000, 1000), 1))
    haz.append(("H-touch-b", metric_box(lon0, lat0, 91_000, 0, 1000, 1000), 0))
    farm.append(("P-across", metric_box(lon0, lat0, 90_500, 200, 1000, 300)))
    cas.append(("I-nowhere", None))
    dates = pd.date_range("2023-01-01", periods=400, freq="3D")
    return {
        "hazards": canonical(
            "hazards",
            [g for _, g, _ in haz],
            hazard_id=[i for i, _, _ in haz],
            date=list(dates[: len(haz)]),
            hazard_type=["CHA" if c else "SHA" for _, _, c in haz],
            contamination="CMR",
            status="active",
        ),
        "strikes": canonical(
            "strikes",
            [g for _, g in strikes],
            strike_id=[i for i, _ in strikes],
            date=list(dates[: len(strikes)]),
            munition_type=[
                ["9M55K", "Смерч", "Grad", "unknown rocket"][i % 4] for i in range(len(strikes))
            ],
            cluster_munition=[i % 4 != 2 for i in range(len(strikes))],
        ),
        "casualties": canonical(
            "casualties",
            [g for _, g in cas],
            incident_id=[i for i, _ in cas],
            date=list(dates[: len(cas)]),
            killed=[i % 2 for i in range(len(cas))],
            injured=1,
            civilian=True,
            munition_type=[["PMN-2", "TM-62M", None][i % 3] for i in range(len(cas))],
        ),
        "cleared": canonical(
            "cleared",
            [g for _, g in rel],
            survey_id=[i for i, _ in rel],
            date=pd.Timestamp("2024-01-01"),
            team="team 1",
            operator="SESU",
            status="cleared",
            method="manual",
        ),
        "farmland": canonical(
            "farmland",
            [g for _, g in farm],
            parcel_id=[i for i, _ in farm],
            land_use="arable",
            crop="wheat",
            value_per_ha=25_000.0,
        ),
    }


@pytest.fixture(scope="session")
def synthetic() -> dict[str, gpd.GeoDataFrame]:
    return synthetic_layers()


@pytest.fixture(scope="session")
def reference(synthetic):
    """The single-process result on the synthetic layers."""
    return prioritise(synthetic, as_of=AS_OF)


@pytest.fixture(scope="session")
def bih() -> dict[str, gpd.GeoDataFrame]:
    """Real Bosnian suspect areas, cleared areas and mine incidents (a north-east window)."""
    window = shapely.box(18.6, 44.3, 19.3, 45.2)
    layers = {"hazards": bih_hazards(), "cleared": bih_released(), "casualties": bih_casualties()}
    return {
        name: frame[frame.intersects(window)].reset_index(drop=True)
        for name, frame in layers.items()
    }


@pytest.fixture(scope="session")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as lc:
        yield lc


@pytest.fixture(scope="session")
def engine(cluster):
    eng = get_engine("dask", scheduler=cluster.scheduler_address, partitions_per_thread=3)
    yield eng
    eng.close()


def assert_same_result(ours, ref) -> None:
    """Same tasks (ids, ranks, every column; areas to 1e-9 relative), same lost records."""
    assert len(ref.tasks) > 0
    # geometries equal to 1e-6 (check_less_precise), other numbers to pandas' rtol 1e-5
    assert_geodataframe_equal(ours.tasks, ref.tasks, check_less_precise=True)
    np.testing.assert_allclose(ours.tasks["area_m2"], ref.tasks["area_m2"], rtol=1e-9)
    assert ours.tasks["task_id"].tolist() == ref.tasks["task_id"].tolist()
    assert ours.tasks["priority_rank"].tolist() == ref.tasks["priority_rank"].tolist()
    assert ours.run_record["ranking_sha256"] == ref.run_record["ranking_sha256"]
    pd.testing.assert_frame_equal(ours.unattributed, ref.unattributed)


# --- tests -------------------------------------------------------------------------------


def test_plan_splits_whole_components_into_several_partitions(synthetic):
    fp = strike_footprints(synthetic["strikes"])
    plan = plan_partitions(
        hazards=synthetic["hazards"],
        footprints=fp,
        casualties=synthetic["casualties"],
        released=synthetic["cleared"],
        farmland=synthetic["farmland"],
        n_partitions=4,
    )
    assert len(plan.partitions) == 4
    # every evidence record in exactly one partition; the casualty without geometry in none
    for name, frame in (("hazards", synthetic["hazards"]), ("footprints", fp)):
        rows = np.concatenate([p.rows[name] for p in plan.partitions])
        assert sorted(rows.tolist()) == list(range(len(frame)))
    nowhere = synthetic["casualties"].index[synthetic["casualties"]["incident_id"] == "I-nowhere"]
    assert plan.unshipped_casualties.tolist() == nowhere.tolist()
    # the components each partition builds are disjoint and together are all of them
    whole = hazard_surface(
        hazards=synthetic["hazards"],
        footprints=fp,
        casualties=synthetic["casualties"],
        released=synthetic["cleared"],
    )
    ids = []
    for p in plan.partitions:
        part = hazard_surface(
            hazards=synthetic["hazards"].iloc[p.rows["hazards"]],
            footprints=fp.iloc[p.rows["footprints"]],
            casualties=synthetic["casualties"].iloc[p.rows["casualties"]],
            released=synthetic["cleared"].iloc[p.rows["released"]],
        )
        ids += part["component_id"].tolist()
    assert sorted(ids) == sorted(whole["component_id"])
    assert len(set(ids)) == len(ids)
    # the parcel across the two touching hazards goes with them
    across = synthetic["farmland"].index[synthetic["farmland"]["parcel_id"] == "P-across"][0]
    assert sum(across in p.rows["farmland"] for p in plan.partitions) >= 1


def test_local_partitioned_equals_single_process(synthetic, reference):
    ref = reference
    eng = LocalEngine(partitions=5)
    ours = prioritise(synthetic, as_of=AS_OF, engine=eng)
    assert_same_result(ours, ref)
    assert ours.run_record["engine"]["plan"]["n_partitions"] == 5
    assert "I-released" in ours.unattributed["record_id"].tolist()


def test_dask_equals_single_process_on_synthetic_data(synthetic, reference, engine):
    ref = reference
    ours = prioritise(synthetic, as_of=AS_OF, engine=engine)
    assert_same_result(ours, ref)
    rec = ours.run_record["engine"]
    assert rec["engine"] == "dask"
    assert rec["n_workers"] == 2
    assert rec["plan"]["n_partitions"] == 6  # 3 per worker thread: really split


def test_dask_equals_single_process_on_real_bosnian_data(bih, engine):
    ref = prioritise(bih, as_of="2024-12-31")
    ours = prioritise(bih, as_of="2024-12-31", engine=engine)
    assert_same_result(ours, ref)
    assert ours.run_record["engine"]["plan"]["n_partitions"] > 1
    # and the areas add up to the surface of the whole run, independently recomputed
    surface = hazard_surface(
        hazards=bih["hazards"], casualties=bih["casualties"], released=bih["cleared"]
    )
    assert ours.tasks["area_m2"].sum() == pytest.approx(surface["area_m2"].sum(), rel=1e-3)


def test_outside_europe_runs_as_one_partition_with_the_same_result(engine):
    # the risk core centres its equal-area CRS on the data outside EPSG:3035: no split
    layers = synthetic_layers(n_sites=6)
    shift = (-110.0, -43.0)  # to Colombia
    moved = {
        name: frame.set_geometry(
            shapely.transform(frame.geometry.array, lambda xy: xy + np.array(shift))
        )
        for name, frame in layers.items()
    }
    ref = prioritise(moved, as_of=AS_OF)
    ours = prioritise(moved, as_of=AS_OF, engine=engine)
    assert_same_result(ours, ref)
    plan = ours.run_record["engine"]["plan"]
    assert plan["n_partitions"] == 1
    assert "EPSG:3035" in plan["note"]


def test_sweep_of_weight_sets_with_sensitivity_fans_out_identically(synthetic, engine):
    base = default_weights()
    lives = weights_from_mapping(
        {
            "name": "lives first",
            "version": "1",
            "weights": {**base.weights, "casualty_risk": 5.0, "farmland_impact": 0.5},
        }
    )
    land = weights_from_mapping(
        {
            "name": "land first",
            "version": "1",
            "weights": {**base.weights, "farmland_impact": 5.0},
            "normalisation": {"method": "log-minmax"},
        }
    )
    sets = [lives, land]
    results = prioritise_many(synthetic, sets, engine=engine, as_of=AS_OF, sensitivity=True, top=5)
    assert [r.weights.name for r in results] == [w.name for w in sets]
    hashes = set()
    for w, ours in zip(sets, results, strict=True):
        ref = prioritise(synthetic, weights=w, as_of=AS_OF, sensitivity=True, top=5)
        assert_same_result(ours, ref)
        pd.testing.assert_frame_equal(ours.sensitivity, ref.sensitivity)
        assert ours.run_record["inputs"] == ref.run_record["inputs"]
        hashes.add(ours.run_record["ranking_sha256"])
    assert len(hashes) == 2  # the sets really rank differently


def test_engine_starts_and_closes_its_own_local_cluster(synthetic):
    small = {name: frame.iloc[:12] for name, frame in synthetic.items()}
    ref = prioritise(small, as_of=AS_OF)
    with get_engine("dask", n_workers=1, processes=False) as eng:
        ours = prioritise(small, as_of=AS_OF, engine=eng)
        cluster = eng._cluster
        assert ours.run_record["engine"]["scheduler"] == "LocalCluster"
    assert_same_result(ours, ref)
    assert cluster.status.name == "closed"


def test_unknown_engine_and_misplaced_scheduler_are_refused():
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        get_engine("spark")
    with pytest.raises(ValueError, match="dask engine"):
        get_engine("local", scheduler="tcp://127.0.0.1:8786")


# --- CLI, in a real subprocess on a real GeoPackage store ------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "minemap", "prioritise", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def small_store(tmp_path_factory, synthetic) -> Path:
    from minemap._report import Report
    from minemap.store import open_store

    path = tmp_path_factory.mktemp("store") / "store.gpkg"
    store = open_store(path)
    for name, frame in synthetic.items():
        frame = frame[~frame.geometry.isna()]
        store.ingest(
            frame,
            layer=name,
            report=Report(file=f"{name}.geojson", layer=name),
            file_name=f"{name}.geojson",
            sha256=f"{name:0<64}"[:64],
        )
    return path


def test_cli_engine_dask_writes_the_same_ranking(small_store, cluster, tmp_path):
    common = ["--store", str(small_store), "--as-of", AS_OF, "--top", "3"]
    local = _cli(*common, "--out", str(tmp_path / "local.gpkg"))
    assert local.returncode == 0, local.stderr
    dask = _cli(
        *common,
        "--out",
        str(tmp_path / "dask.gpkg"),
        "--engine",
        "dask",
        "--scheduler",
        cluster.scheduler_address,
    )
    assert dask.returncode == 0, dask.stderr
    assert "Traceback" not in dask.stderr
    a = gpd.read_file(tmp_path / "local.gpkg")
    b = gpd.read_file(tmp_path / "dask.gpkg")
    assert len(a) > 10
    assert_geodataframe_equal(b, a, check_less_precise=True)
    record = json.loads((tmp_path / "dask.run.json").read_text(encoding="utf-8"))
    assert record["engine"]["engine"] == "dask"
    assert record["engine"]["plan"]["n_partitions"] > 1
    assert (
        record["ranking_sha256"]
        == json.loads((tmp_path / "local.run.json").read_text(encoding="utf-8"))["ranking_sha256"]
    )


def test_cli_refuses_scheduler_without_dask_engine(small_store):
    res = _cli("--store", str(small_store), "--scheduler", "tcp://127.0.0.1:1")
    assert res.returncode != 0
    assert "--scheduler" in res.stderr
    assert "--engine dask" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_engine_dask_starts_its_own_local_cluster(small_store, tmp_path):
    # worker processes are spawned from `python -m minemap`: the run must neither hang nor
    # re-run the command in the workers, and must leave no noise on stderr
    out = tmp_path / "own.parquet"
    res = _cli("--store", str(small_store), "--as-of", AS_OF, "--engine", "dask", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    record = json.loads((tmp_path / "own.run.json").read_text(encoding="utf-8"))
    assert record["engine"]["scheduler"] == "LocalCluster"
    assert record["engine"]["n_workers"] >= 1
    assert len(gpd.read_parquet(out)) == record["n_tasks"]
