from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from minemap.risk.priority import (
    contribution_columns,
    normalise,
    priority_components,
    priority_score,
)
from minemap.risk.weights import COMPONENTS, default_weights, weights_from_mapping
from tests.risk._taskframe import task_frame


def _only(component: str):
    return weights_from_mapping(
        {"version": "1", "name": "only", "weights": {c: float(c == component) for c in COMPONENTS}}
    )


def _ranked(tasks, weights=None):
    comps = priority_components(tasks, weights=weights)
    return comps.join(priority_score(comps, weights))


def test_rank_normalisation_known_values_and_outlier_robustness():
    s = pd.Series([0.0, 3.0, 1.0, 3.0, 100.0], name="x")
    # positives 3,1,3,100 → average ranks 2.5,1,2.5,4 out of 4
    assert normalise(s).tolist() == [0.0, 0.625, 0.25, 0.625, 1.0]
    outlier = normalise(pd.Series([0.0, 3.0, 1.0, 3.0, 1e12]))
    assert outlier.tolist() == normalise(s).tolist()
    cost = normalise(pd.Series([100.0, 200.0, np.nan]), higher_is_better=False)
    assert cost.tolist() == [1.0, 0.5, 0.0]


def test_log_minmax_normalisation():
    s = pd.Series([0.0, 9.0, 99.0])
    got = normalise(s, method="log-minmax")
    assert got.tolist() == pytest.approx([0.0, np.log(10) / np.log(100), 1.0])
    cost = normalise(pd.Series([9.0, 99.0, 99.0]), method="log-minmax", higher_is_better=False)
    assert cost.tolist() == pytest.approx([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="negative"):
        normalise(pd.Series([-1.0], name="bad"))


def test_contributions_sum_to_score_and_ranks_are_a_permutation():
    rng = np.random.default_rng(1)
    rows = [
        {
            "area_m2": float(rng.uniform(1e3, 1e5)),
            "evidence_class": str(rng.choice(["CHA", "SHA", "strike", "casualty"])),
            "casualty_recency": float(rng.choice([0, 0, 0.5, 2.0])),
            "expected_items_low": float(rng.uniform(0, 10)),
            "expected_items_high": float(rng.uniform(10, 40)),
            "farmland_area_m2": float(rng.choice([0, 5e3, 2e4])),
            "land_use": "arable",
        }
        for _ in range(40)
    ]
    ranked = _ranked(task_frame(rows))
    contrib = ranked[contribution_columns()].sum(axis=1)
    assert np.allclose(contrib, ranked["priority_score"], atol=1e-9)
    assert ranked["priority_score"].between(0, 100).all()
    assert sorted(ranked["priority_rank"]) == list(range(1, 41))
    by_rank = ranked.sort_values("priority_rank")
    assert by_rank["priority_score"].is_monotonic_decreasing
    for comp in COMPONENTS:
        assert ranked[f"norm_{comp}"].between(0, 1).all()


def test_single_component_weights_give_score_100_times_component():
    t = task_frame([{"casualty_recency": v} for v in (0.0, 1.0, 4.0, 2.0)])
    ranked = _ranked(t, _only("casualty_risk"))
    # rank normalisation of positives 1,4,2 → 1/3, 1, 2/3
    assert ranked["priority_score"].tolist() == pytest.approx([0, 100 / 3, 100, 200 / 3])
    assert ranked["priority_rank"].tolist() == [4, 3, 1, 2]


def test_cha_outranks_identical_sha_even_when_cost_differs_most():
    # worst case for the cost component: many tasks of an intermediate cost between them
    rows = [
        {
            "evidence_class": "SHA",
            "task_id": "A-sha",
            "farmland_area_m2": 1e4,
            "land_use": "arable",
        },
        {
            "evidence_class": "CHA",
            "task_id": "Z-cha",
            "farmland_area_m2": 1e4,
            "land_use": "arable",
        },
    ] + [{"evidence_class": "strike", "area_m2": 10_000.0} for _ in range(50)]
    ranked = _ranked(task_frame(rows)).set_index("task_id")
    assert ranked.loc["Z-cha", "priority_rank"] < ranked.loc["A-sha", "priority_rank"]
    assert ranked.loc["Z-cha", "norm_evidence_strength"] == 1.0
    assert ranked.loc["A-sha", "norm_evidence_strength"] == 0.4
    # SHA is cheaper per hectare released (survey releases more of it)
    assert ranked.loc["A-sha", "norm_cost_per_ha"] > ranked.loc["Z-cha", "norm_cost_per_ha"]


def test_casualties_put_a_task_first_under_default_weights():
    rows = [{"evidence_class": "CHA", "farmland_area_m2": 5e4, "land_use": "arable"}] * 3
    rows.append(
        {"evidence_class": "SHA", "casualty_recency": 1.0, "killed": 1, "n_casualty_incidents": 1}
    )
    ranked = _ranked(task_frame(rows))
    assert ranked["priority_rank"].iloc[3] == 1
    # a casualty counts as evidence too (strength of "casualty" > SHA)
    assert (
        ranked["norm_evidence_strength"].iloc[3] == default_weights().evidence_strength["casualty"]
    )


def test_ties_are_broken_by_task_id():
    t = task_frame([{"task_id": tid} for tid in ("T9", "T1", "T5")])
    ranked = _ranked(t)
    assert ranked["priority_score"].nunique() == 1
    assert ranked.set_index("task_id")["priority_rank"].to_dict() == {"T1": 1, "T5": 2, "T9": 3}


def test_precomputed_columns_are_used():
    t = task_frame([{"farmland_area_m2": 1e4}, {"farmland_area_m2": 1e4}])
    t["farmland_impact"] = [5.0, 50.0]
    comps = priority_components(t)
    assert comps["norm_farmland_impact"].tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="task_id"):
        priority_components(t.drop(columns="task_id"))
