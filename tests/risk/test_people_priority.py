"""people_exposed in the ranking: no settlements → the ranking of the five components
exactly; a big settlement next to one task → that task moves up by the expected points."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from minemap.risk.engines import prioritise_many
from minemap.risk.pipeline import prioritise, rank_tasks, ranking_sha256
from minemap.risk.weights import default_weights, parse_weights, weights_from_mapping
from tests.risk._fixtures import canonical, metric_box, metric_point
from tests.risk._taskframe import synthetic_layers, task_frame

AS_OF = "2025-03-01"

# The default weights as they were before people_exposed (weights 1.0.0, main's file).
WEIGHTS_1_0 = weights_from_mapping(
    {
        "version": "1.0.0",
        "name": "minemap-default",
        "weights": {
            "casualty_risk": 30,
            "expected_items": 25,
            "evidence_strength": 15,
            "farmland_impact": 22,
            "cost_per_ha": 8,
        },
    }
)


def _settlements(rows) -> gpd.GeoDataFrame:
    ids, pops, geoms = zip(*rows, strict=True)
    return canonical(
        "settlements",
        geoms,
        settlement_id=list(ids),
        population=list(pops),
        settlement_type="village",
    )


def _same_ranking(a, b) -> None:
    assert ranking_sha256(a.tasks) == ranking_sha256(b.tasks)
    assert a.tasks["task_id"].tolist() == b.tasks["task_id"].tolist()
    assert a.tasks["priority_rank"].tolist() == b.tasks["priority_rank"].tolist()
    assert a.tasks["priority_score"].tolist() == b.tasks["priority_score"].tolist()


@pytest.mark.parametrize("settlements", ["absent", "empty"])
def test_without_settlements_the_ranking_is_that_of_the_five_components(settlements):
    layers = synthetic_layers()
    before = prioritise(layers, weights=WEIGHTS_1_0, as_of=AS_OF, sensitivity=True, top=2)
    if settlements == "empty":
        layers["settlements"] = _settlements([("x", 1, shapely.Point(36.5, 49.5))]).iloc[:0]
    now = prioritise(layers, as_of=AS_OF, sensitivity=True, top=2)  # weights 1.1.0
    assert now.weights.weights["people_exposed"] > 0
    assert len(now.tasks) >= 3
    _same_ranking(now, before)
    assert (now.tasks["people_exposed"] == 0).all()
    assert not now.tasks["people_exposed"].isna().any()
    assert (now.tasks["contrib_people_exposed"] == 0).all()
    # the sensitivity analysis tests no weight for a component without data
    pd.testing.assert_frame_equal(now.sensitivity, before.sensitivity)
    assert now.run_record["parameters"]["people_exposed"]["counted"] is False


def test_a_weights_file_without_people_exposed_means_zero_and_keeps_its_ranking():
    text = """
version = "1.0.0"
name = "minemap-default"
[weights]
casualty_risk = 30
expected_items = 25
evidence_strength = 15
farmland_impact = 22
cost_per_ha = 8
"""
    old_file = parse_weights(text, source="old.toml")
    assert old_file.weights["people_exposed"] == 0
    layers = synthetic_layers()
    lon, lat = 36.5, 49.5
    layers["settlements"] = _settlements([("big", 100_000, shapely.Point(lon + 0.005, lat))])
    with_people = prioritise(layers, weights=old_file, as_of=AS_OF)
    without = prioritise(synthetic_layers(), weights=WEIGHTS_1_0, as_of=AS_OF)
    _same_ranking(with_people, without)  # a zero weight changes nothing
    assert with_people.tasks["people_exposed"].max() == 100_000
    with pytest.raises(Exception, match="people_exposed = -1 is negative"):
        parse_weights(text.replace("cost_per_ha = 8", "cost_per_ha = 8\npeople_exposed = -1"))


def _four_equal_hazards():
    """Four 500 m SHA squares 10 km apart, nothing else (they differ only in cost per ha,
    by their lon/lat rounding)."""
    lon, lat = 36.0, 49.0
    boxes = [metric_box(lon, lat, 10_000 * i, 0, 500, 500) for i in range(4)]
    hazards = canonical(
        "hazards",
        boxes,
        hazard_id=[f"H{i}" for i in range(4)],
        date=pd.Timestamp("2024-01-01"),
        hazard_type="SHA",
        contamination="unknown",
    )
    return {"hazards": hazards}, boxes


def test_a_big_settlement_next_to_one_task_lifts_it_by_its_weight():
    layers, boxes = _four_equal_hazards()
    before = prioritise(layers, as_of=AS_OF)
    t0 = before.tasks
    assert len(t0) == 4
    last_id = t0["task_id"].iloc[-1]
    last_geom = t0.geometry.iloc[-1]
    # a town of 150,000 500 m east of the last-ranked task (the box's east edge + 500 m)
    which = next(i for i, b in enumerate(boxes) if b.intersects(last_geom.representative_point()))
    town = metric_point(36.0, 49.0, 10_000 * which + 500 + 500, 250)
    layers["settlements"] = _settlements([("town", 150_000, town)])

    after = prioritise(layers, as_of=AS_OF)
    t1 = after.tasks.set_index("task_id")
    assert after.tasks["task_id"].iloc[0] == last_id  # now first
    assert t1.loc[last_id, "people_exposed"] == 150_000
    assert (t1.drop(index=last_id)["people_exposed"] == 0).all()
    # with rank normalisation the only positive value gets 1: its contribution is the
    # weight's share of the total, 100 × 15 / 115
    w = default_weights().weights
    total = sum(w.values())
    assert t1.loc[last_id, "contrib_people_exposed"] == pytest.approx(
        100 * w["people_exposed"] / total
    )
    # the other components keep their points relative to a total that now includes
    # people_exposed: every other score shrinks by (total − w_people) / total
    old = before.tasks.set_index("task_id")["priority_score"]
    others = t1.drop(index=last_id)["priority_score"]
    scale = (total - w["people_exposed"]) / total
    assert np.allclose(others.to_numpy(), old[others.index].to_numpy() * scale)
    assert after.tasks["priority_rank"].tolist() == [1, 2, 3, 4]
    assert after.run_record["parameters"]["people_exposed"] == {
        "counted": True,
        "n_settlements": 1,
        "exposure_distance_m": 2000.0,
    }


def test_exposure_distance_is_a_parameter_and_recorded():
    layers, _ = _four_equal_hazards()
    # 1.5 km east of the first box's east edge
    layers["settlements"] = _settlements([("v", 900, metric_point(36.0, 49.0, 2000, 250))])
    far = prioritise(layers, as_of=AS_OF, exposure_distance_m=1000)
    near = prioritise(layers, as_of=AS_OF)
    assert far.tasks["people_exposed"].sum() == 0
    assert near.tasks["people_exposed"].sum() == 900
    assert far.run_record["parameters"]["people_exposed"]["exposure_distance_m"] == 1000


def test_rank_tasks_with_settlements_in_another_crs_raises():
    tasks = task_frame([{}, {}])
    settlements = _settlements([("v", 5, shapely.Point(35.0, 49.0))]).to_crs("EPSG:3035")
    with pytest.raises(Exception, match="CRS mismatch"):
        rank_tasks(tasks, settlements=settlements)


def test_prioritise_many_counts_people_in_every_weight_set():
    layers, _ = _four_equal_hazards()
    layers["settlements"] = _settlements([("v", 900, metric_point(36.0, 49.0, 2000, 250))])
    second = default_weights().replace_weights(
        {**default_weights().weights, "cost_per_ha": 1}, suffix="-b"
    )
    results = prioritise_many(layers, [default_weights(), second], as_of=AS_OF)
    for res in results:
        assert res.tasks["people_exposed"].sum() == 900
        assert res.run_record["parameters"]["people_exposed"]["counted"] is True


def test_replace_weights_without_people_exposed_means_zero():
    five = {k: v for k, v in default_weights().weights.items() if k != "people_exposed"}
    assert default_weights().replace_weights(five, suffix="-x").weights["people_exposed"] == 0
    with pytest.raises(KeyError, match="cost_per_ha"):
        default_weights().replace_weights(
            {k: v for k, v in five.items() if k != "cost_per_ha"}, suffix="-y"
        )
