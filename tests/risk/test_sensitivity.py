from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from minemap.risk.priority import norm_columns
from minemap.risk.sensitivity import kendall_tau_b, rank_sensitivity
from minemap.risk.weights import COMPONENTS, weights_from_mapping


def _tau_brute_force(x, y):
    """Kendall tau-b from its definition, pair by pair."""
    nc = nd = tx = ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tx += 1
        elif dy == 0:
            ty += 1
        elif dx == dy:
            nc += 1
        else:
            nd += 1
    return (nc - nd) / np.sqrt((nc + nd + tx) * (nc + nd + ty))


@pytest.mark.parametrize("seed", range(6))
def test_tau_b_matches_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    x = rng.integers(0, 6, n).astype(float)
    y = x + rng.integers(-3, 4, n)
    if len(set(x)) == 1 or len(set(y)) == 1:
        assert np.isnan(kendall_tau_b(x, y))
    else:
        assert kendall_tau_b(x, y) == pytest.approx(_tau_brute_force(x, y), abs=1e-12)


def test_tau_b_extremes():
    x = np.arange(1000.0)
    assert kendall_tau_b(x, x) == 1.0
    assert kendall_tau_b(x, -x) == -1.0
    assert np.isnan(kendall_tau_b([1.0, 1.0], [1.0, 2.0]))


def _components(rows):
    frame = pd.DataFrame(rows, columns=norm_columns())
    frame.insert(0, "task_id", [f"T{i:03d}" for i in range(len(frame))])
    return frame


def _weights(**w):
    return weights_from_mapping(
        {"version": "1", "name": "t", "weights": {c: w.get(c, 0.0) for c in COMPONENTS}}
    )


def test_clear_cut_ranking_is_stable():
    # task i dominates task i-1 on every component: every scenario keeps the order
    n = 30
    rows = [[i / n] * len(COMPONENTS) for i in range(n)]
    res = rank_sensitivity(_components(rows), _weights(**dict.fromkeys(COMPONENTS, 1.0)), top=5)
    assert len(res.scenarios) == 3 * len(COMPONENTS)
    assert res.scenarios["kendall_tau"].to_numpy() == pytest.approx(1.0)
    assert (res.scenarios["top_kept_share"] == 1.0).all()
    assert not res.tasks["flag_single_weight"].any()
    top = res.tasks[res.tasks["in_top_base"]]
    assert len(top) == 5
    assert (top["top_share"] == 1.0).all()
    assert (res.tasks["rank_min"] == res.tasks["rank_max"]).all()


def test_tie_prone_ranking_flags_the_tasks_that_swap():
    # A: casualty 1.0; B: farmland 0.95 — with equal weights A is just ahead (top-1).
    cas, farm = COMPONENTS.index("casualty_risk"), COMPONENTS.index("farmland_impact")
    rows = []
    for c, f in ((1.0, 0.0), (0.0, 0.95), (0.2, 0.2), (0.1, 0.0)):
        r = [0.0] * len(COMPONENTS)
        r[cas], r[farm] = c, f
        rows.append(r)
    comps = _components(rows)
    res = rank_sensitivity(comps, _weights(casualty_risk=1.0, farmland_impact=1.0), top=1)
    t = res.tasks.set_index("task_id")
    assert t.loc["T000", "in_top_base"]
    assert t["flag_single_weight"].tolist() == [True, True, False, False]
    # +20% farmland (1.2 × 0.95 > 1) or -20% casualty (0.8 < 0.95) swaps A and B
    assert set(t.loc["T000", "depends_on"].split(",")) == {"casualty_risk", "farmland_impact"}
    # leaving casualty out drops A (score 0) behind C (0.2) and, by task_id, ahead of D
    assert (t.loc["T000", "rank_min"], t.loc["T000", "rank_max"]) == (1, 3)
    # A is first in 2 of 4 ±20% scenarios and in 1 of 2 leave-outs
    assert t.loc["T000", "top_share"] == pytest.approx(3 / 6)
    assert res.min_tau < 1.0


def test_bad_arguments():
    comps = _components([[0.5] * len(COMPONENTS)])
    with pytest.raises(ValueError, match="delta"):
        rank_sensitivity(comps, delta=1.5)
    with pytest.raises(ValueError, match="top"):
        rank_sensitivity(comps, top=0)
