from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from minemap.risk.pipeline import filter_as_of, prioritise, rank_tasks
from minemap.risk.priority import contribution_columns
from minemap.risk.weights import default_weights, parse_weights
from tests.conftest import real_data
from tests.risk._taskframe import synthetic_layers, task_frame


def _tasks(n=40, seed=7):
    rng = np.random.default_rng(seed)
    rows = [
        {
            "area_m2": float(rng.uniform(2e3, 2e5)),
            "evidence_class": str(rng.choice(["CHA", "SHA", "strike", "casualty"])),
            "casualty_recency": float(rng.choice([0, 0, 0, 0.7, 1.5])),
            "expected_items_low": float(rng.integers(0, 5)),
            "expected_items_high": float(rng.integers(5, 30)),
            "farmland_area_m2": float(rng.choice([0, 1e4, 4e4])),
            "land_use": str(rng.choice(["arable", "pasture", "orchard"])),
            "crop": rng.choice([None, "wheat", "maize"]),
        }
        for _ in range(n)
    ]
    return task_frame(rows)


def _csv_bytes(frame: gpd.GeoDataFrame, path) -> bytes:
    out = pd.DataFrame(frame.drop(columns="geometry"))
    out["geometry_wkt"] = shapely.to_wkt(frame.geometry.array, rounding_precision=7)
    out.to_csv(path, index=False, lineterminator="\n")
    return path.read_bytes()


def test_ranked_frame_has_every_column_and_adds_up():
    res = rank_tasks(_tasks(), as_of="2025-03-10")
    t = res.tasks
    assert t.crs == "EPSG:4326"
    assert list(t.columns[:3]) == ["task_id", "priority_rank", "priority_score"]
    assert t["priority_rank"].tolist() == list(range(1, len(t) + 1))
    assert np.allclose(t[contribution_columns()].sum(axis=1), t["priority_score"])
    for col in (
        "farmland_impact",
        "season_factor",
        "land_value_basis",
        "compensation_eligible",
        "clearance_area_m2_low",
        "deminer_days_high",
        "cost_uah_high",
        "surveyed",
        "norm_cost_per_ha",
        "casualty_recency",
        "area_m2",
    ):
        assert col in t, col
    assert res.sensitivity is None
    assert res.weights == default_weights()


def test_same_inputs_give_byte_identical_rankings_whatever_the_row_order(tmp_path):
    tasks = _tasks()
    a = rank_tasks(tasks, as_of="2025-03-10")
    shuffled = tasks.sample(frac=1.0, random_state=3).reset_index(drop=True)
    b = rank_tasks(shuffled, as_of="2025-03-10")
    bytes_a = _csv_bytes(a.tasks, tmp_path / "a.csv")
    bytes_b = _csv_bytes(b.tasks, tmp_path / "b.csv")
    assert bytes_a == bytes_b
    assert a.run_record["ranking_sha256"] == b.run_record["ranking_sha256"]
    other = rank_tasks(
        tasks,
        as_of="2025-03-10",
        weights=parse_weights(
            'version="1"\nname="farm"\n[weights]\ncasualty_risk=0\nexpected_items=0\n'
            "evidence_strength=0\nfarmland_impact=1\ncost_per_ha=0\n"
        ),
    )
    assert other.run_record["ranking_sha256"] != a.run_record["ranking_sha256"]


def test_run_record_is_json_and_names_weights_and_parameters():
    frontline = gpd.GeoSeries([shapely.LineString([(34.0, 47.0), (34.0, 51.0)])], crs=4326)
    res = rank_tasks(_tasks(), as_of="2025-03-10", frontline=frontline, sensitivity=True, top=5)
    rec = json.loads(json.dumps(res.run_record))
    w = default_weights()
    assert rec["weights"]["name"] == w.name
    assert rec["weights"]["version"] == w.version
    assert rec["weights"]["sha256"] == w.sha256
    assert rec["as_of"] == "2025-03-10"
    assert rec["minemap_version"]
    assert rec["parameters"]["top"] == 5
    assert rec["parameters"]["frontline"]["n_features"] == 1
    assert rec["parameters"]["effort"]["manual_m2_per_deminer_day"] == [10.0, 50.0]
    assert res.sensitivity is not None
    assert {"top_share", "rank_min", "rank_max", "flag_single_weight"} <= set(res.tasks)
    assert res.tasks["frontline_distance_m"].notna().all()
    # farmland, surveyed tasks east of 34°E: 35–37°E is well over 20 km away
    farm_surveyed = (res.tasks["farmland_area_m2"] > 0) & res.tasks["surveyed"]
    assert res.tasks.loc[farm_surveyed, "compensation_eligible"].all()
    assert not res.tasks.loc[~farm_surveyed, "compensation_eligible"].any()


def test_progress_is_reported_in_order():
    seen = []
    rank_tasks(_tasks(10), sensitivity=True, progress=lambda s, f: seen.append((s, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == ("done", 1.0)


def test_bad_task_frames_are_refused():
    t = _tasks(3)
    t.loc[1, "task_id"] = t.loc[0, "task_id"]
    with pytest.raises(ValueError, match="unique"):
        rank_tasks(t)
    with pytest.raises(ValueError, match="EPSG:4326"):
        rank_tasks(_tasks(3).to_crs(3035))


def test_filter_as_of_sets_later_and_undated_records_aside():
    pts = gpd.GeoSeries([shapely.Point(35, 49)] * 4, crs=4326)
    cas = gpd.GeoDataFrame(
        {
            "incident_id": list("abcd"),
            "date": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-06-02", None]),
        },
        geometry=pts,
    )
    farm = gpd.GeoDataFrame(
        {"parcel_id": ["p"]}, geometry=[shapely.box(35, 49, 35.1, 49.1)], crs=4326
    )
    used, excluded = filter_as_of({"casualties": cas, "farmland": farm}, "2024-06-01")
    assert used["casualties"]["incident_id"].tolist() == ["a", "b"]
    assert excluded == {"casualties": 2}
    assert len(used["farmland"]) == 1


# --- the whole chain: layers → geometry engine → ranking ------------------------------------


def _prioritise(layers, **kw):
    return prioritise(layers, **kw)


def test_prioritise_accounts_for_every_casualty_and_strike():
    layers = synthetic_layers()
    res = _prioritise(layers, as_of="2025-01-01")
    t = res.tasks
    lost = res.unattributed
    n_lost_cas = int((lost["layer"] == "casualties").sum())
    assert int(t["n_casualty_incidents"].sum()) + n_lost_cas == len(layers["casualties"])
    # C2 lies inside cleared land: listed, not lost
    assert "C2" in set(lost["record_id"])
    assert res.run_record["n_unattributed"] == len(lost)
    # the parcel task over the CHA with the recent casualty comes first
    first = t.iloc[0]
    assert first["evidence_class"] == "CHA"
    assert first["killed"] == 1
    assert first["parcel_id"] == "P1"
    assert np.allclose(t[contribution_columns()].sum(axis=1), t["priority_score"])


def test_prioritise_records_batches_and_sets_later_records_aside():
    layers = synthetic_layers()
    res = _prioritise(layers, as_of="2025-01-01")
    inputs = res.run_record["inputs"]
    assert inputs["hazards"]["batch_ids"] == ["b-haz", "b-haz2"]
    assert inputs["hazards"]["n_after_as_of"] == 1
    assert inputs["farmland"]["batch_ids"] == ["b-farm"]
    late = layers["hazards"].geometry.iloc[2]
    assert not res.tasks.intersects(late).any()
    later = _prioritise(layers, as_of="2025-07-01")
    assert later.tasks.intersects(late).any()


def test_no_look_ahead_records_after_as_of_change_nothing(tmp_path):
    layers = synthetic_layers()
    without_future = {
        name: frame[frame["date"] <= "2025-01-01"] if "date" in frame else frame
        for name, frame in layers.items()
    }
    a = _prioritise(layers, as_of="2025-01-01")
    b = _prioritise(without_future, as_of="2025-01-01")
    assert _csv_bytes(a.tasks, tmp_path / "a.csv") == _csv_bytes(b.tasks, tmp_path / "b.csv")


def test_prioritise_is_byte_identical_on_shuffled_inputs(tmp_path):
    layers = synthetic_layers()
    shuffled = {
        name: frame.sample(frac=1.0, random_state=5).reset_index(drop=True)
        for name, frame in layers.items()
    }
    a = _prioritise(layers, as_of="2025-01-01")
    b = _prioritise(shuffled, as_of="2025-01-01")
    assert _csv_bytes(a.tasks, tmp_path / "a.csv") == _csv_bytes(b.tasks, tmp_path / "b.csv")
    assert a.run_record["ranking_sha256"] == b.run_record["ranking_sha256"]


def test_prioritise_refuses_unknown_layers():
    with pytest.raises(ValueError, match="unknown layer"):
        _prioritise({"minefields": synthetic_layers()["hazards"]})


@pytest.mark.realdata
def test_prioritise_on_real_bosnian_hazards_cleared_land_and_incidents():
    base = "bih_mine_action_east/"
    sus = gpd.read_file(real_data(base + "suspect_areas.geojson"))
    clr = gpd.read_file(real_data(base + "cleared_areas.geojson"))
    inc = gpd.read_file(real_data(base + "incidents.geojson"))
    sheet = inc["map_sheet"].value_counts().index[0]  # the sheet with most incidents
    sus, clr, inc = (f[f["map_sheet"] == sheet].reset_index(drop=True) for f in (sus, clr, inc))
    date = pd.Timestamp("2024-06-01")  # the source has no dates: mid-2024 extraction
    hazards = gpd.GeoDataFrame(
        {
            "hazard_id": [f"S{i}" for i in range(len(sus))],
            "date": date,
            "hazard_type": "SHA",
            "contamination": "unknown",
            "status": "active",
        },
        geometry=sus.geometry,
        crs=4326,
    )
    cleared = gpd.GeoDataFrame(
        {
            "survey_id": [f"R{i}" for i in range(len(clr))],
            "date": date,
            "team": "-",
            "operator": "-",
            "status": "completed",
            "method": "cleared",
        },
        geometry=clr.geometry,
        crs=4326,
    )
    # victims per incident are not in the source: one injured person each (assumption)
    casualties = gpd.GeoDataFrame(
        {
            "incident_id": [f"I{i}" for i in range(len(inc))],
            "date": date,
            "killed": 0,
            "injured": 1,
            "civilian": True,
            "munition_type": pd.NA,
        },
        geometry=inc.geometry,
        crs=4326,
    )
    layers = {"hazards": hazards, "cleared": cleared, "casualties": casualties}
    res = _prioritise(layers, as_of="2025-01-01")
    t = res.tasks
    assert len(t) > 10
    assert t["priority_rank"].tolist() == list(range(1, len(t) + 1))
    assert np.allclose(t[contribution_columns()].sum(axis=1), t["priority_score"])
    n_lost = int((res.unattributed["layer"] == "casualties").sum())
    assert int(t["n_casualty_incidents"].sum()) + n_lost == len(casualties)
    # with casualties at 30 % weight, the first task has recorded casualties
    assert t.iloc[0]["n_casualty_incidents"] > 0
    # effort: every task's clearance range within its area
    assert (t["clearance_area_m2_high"] <= t["area_m2"] + 1e-6).all()
    again = _prioritise(
        {k: v.sample(frac=1.0, random_state=1) for k, v in layers.items()}, as_of="2025-01-01"
    )
    assert again.run_record["ranking_sha256"] == res.run_record["ranking_sha256"]


@pytest.mark.realdata
def test_prioritise_on_real_poltava_parcels_with_the_deepstate_front():
    parcels = gpd.read_file(
        real_data("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson")
    )
    occupied = gpd.read_file(
        real_data("ua_occupied_areas_deepstate/deepstate_occupied_2024-07-08.geojson")
    )
    farmland = gpd.GeoDataFrame(
        {
            "parcel_id": parcels["cadnum"],
            "land_use": np.where(parcels["is_agricultural"], "arable", "other"),
            "crop": pd.Series([None] * len(parcels), dtype=object),
            "value_per_ha": np.nan,
        },
        geometry=parcels.geometry,
        crs=4326,
    )
    box = shapely.box(33.93, 49.30, 33.95, 49.32)
    hazards = gpd.GeoDataFrame(
        {
            "hazard_id": ["H1"],
            "date": pd.Timestamp("2024-05-01"),
            "hazard_type": "SHA",
            "contamination": "unknown",
            "status": "active",
        },
        geometry=[box],
        crs=4326,
    )
    res = prioritise(
        {"hazards": hazards, "farmland": farmland}, as_of="2025-04-01", frontline=occupied
    )
    t = res.tasks
    on_farm = t["farmland_area_m2"].fillna(0) > 0
    # independent: area of the hazard over the parcels, in the equal-area CRS
    expected = (
        gpd.GeoSeries([box], crs=4326)
        .to_crs(3035)
        .iloc[0]
        .intersection(shapely.union_all(parcels.to_crs(3035).geometry.array))
        .area
    )
    assert t.loc[on_farm, "farmland_area_m2"].sum() == pytest.approx(expected, rel=0.005)
    # 1 April is inside the spring sowing window: factor 1 → ha × land-use value
    values = np.where(t["land_use"] == "arable", 30_000.0, 3_500.0)
    impact = t["farmland_area_m2"].fillna(0) / 1e4 * values
    assert np.allclose(t["farmland_impact"], impact)
    # surveyed (SHA), on farmland, ~190 km from the occupied area → eligible
    assert t.loc[on_farm, "compensation_eligible"].all()
    assert (t.loc[on_farm, "frontline_distance_m"] > 100_000).all()
    assert not t.loc[~on_farm, "compensation_eligible"].any()


def _lookup_frame(n: int, seed: int, *, dtype: str = "str") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    land_use = rng.choice(["arable", " Arable ", "pasture", "orchard", "vineyard", None], n)
    crop = rng.choice([None, "wheat", "WHEAT", "maize", "sunflower", "quinoa"], n)
    own = rng.choice([np.nan, np.nan, 12_000.0, 0.0, -0.0, 31_500.5], n)
    area = rng.choice([np.nan, -5.0, 0.0, 1e4, 2.5e4, 123_456.789], n)
    frame = pd.DataFrame(
        {
            "land_use": land_use,
            "crop": crop,
            "value_per_ha": own,
            "farmland_area_m2": area * rng.uniform(0.5, 1.5, n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )
    for col in ("land_use", "crop"):  # pandas infers str; object: the look-up per row
        frame[col] = frame[col].astype(dtype)
    assert frame["land_use"].dtype == dtype
    return frame


@pytest.mark.parametrize("as_of", [None, "2025-02-28", "2024-10-01", "2023-12-31"])
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_farmland_values_once_per_lookup_equal_the_farmland_functions(as_of, dtype):
    """Ranking looks land values and seasons up once per distinct land use / crop / own
    value and spreads them: the numbers must be those of the farmland functions."""
    from minemap.risk.farmland import (
        default_land_values,
        farmland_impact,
        land_value_per_ha,
        season_factor,
    )
    from minemap.risk.pipeline import _farmland_values

    lv = default_land_values()
    tasks = _lookup_frame(500, seed=3, dtype=dtype)
    values, factor, impact = _farmland_values(tasks, land_values=lv, as_of=as_of, season_floor=0.3)
    want_values = land_value_per_ha(tasks, land_values=lv, with_basis=True)
    want_factor = season_factor(tasks, as_of=as_of, land_values=lv, floor=0.3)
    want_impact = farmland_impact(tasks, land_values=lv, as_of=as_of, season_floor=0.3)
    pd.testing.assert_frame_equal(values, want_values)
    pd.testing.assert_series_equal(factor, want_factor)
    pd.testing.assert_series_equal(impact, want_impact)
    for got, want in ((values["land_value_per_ha"], want_values["land_value_per_ha"]),
                      (factor, want_factor), (impact, want_impact)):  # fmt: skip
        assert got.to_numpy().tobytes() == want.to_numpy().tobytes()  # bit for bit, -0.0 too


def test_ranking_sha256_is_the_documented_checksum():
    """SHA-256 of ``task_id,priority_rank,priority_score`` lines (score to 9 decimals),
    written out here independently of the implementation."""
    import hashlib

    from minemap.risk.pipeline import ranking_sha256

    ranked = rank_tasks(_tasks(60)).tasks
    lines = []
    for i in range(len(ranked)):
        row = ranked.iloc[i]
        tid, rank, score = row["task_id"], row["priority_rank"], row["priority_score"]
        lines.append(f"{tid},{int(rank):d},{float(score):.9f}")
    want = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    assert ranking_sha256(ranked) == want
