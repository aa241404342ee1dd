"""Spatial hold-out back-test of minemap's ranking on real Bosnian data (scripts/backtest_bih.py).

Runs on a north-east window of the BiH east data (3 folds). The figures for the whole data
are in docs/backtest.md; here we check structure, sanity and that held-out incidents never
reach the ranking they are scored against.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from geopandas.testing import assert_geodataframe_equal

from tests.conftest import real_data

REPO = Path(__file__).resolve().parents[2]
WINDOW = (18.6, 44.3, 19.3, 45.2)
FOLDS = 3

pytestmark = pytest.mark.realdata


def _script():
    spec = importlib.util.spec_from_file_location("backtest_bih", REPO / "scripts/backtest_bih.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bih():
    real_data("bih_mine_action_east/suspect_areas.geojson")
    data = real_data("bih_mine_action_east/incidents.geojson").parent
    mod = _script()
    real_data("bih_mine_action_east/lifted_minefields.geojson")
    layers = mod.load_layers(data, bbox=WINDOW)
    lifted = mod.load_lifted(data, bbox=WINDOW)
    layers["lifted"] = lifted  # not a minemap layer: kept aside below
    ranked = {k: v for k, v in layers.items() if k != "lifted"}
    res = mod.spatial_holdout(ranked, n_folds=FOLDS, block_size_m=10_000.0, seed=0, lifted=lifted)
    return mod, ranked, res, lifted


def test_every_incident_is_held_out_once_and_outcomes_add_up(bih):
    mod, layers, res, _ = bih
    assert len(layers["casualties"]) > 100
    assert len(layers["hazards"]) > 500
    inc_fold = res["fold_of_incident"]
    assert sorted(set(inc_fold)) == list(range(FOLDS))
    cov = res["coverage"]
    assert sum(c["held_out_incidents"] for c in cov.values()) == len(layers["casualties"])
    pooled = res["tasks"]
    for k, c in cov.items():
        part = pooled[pooled["fold"] == k]
        assert c["held_out_tasks"] == len(part) > 0
        assert part["task_id"].is_unique
        assert 0 <= c["held_out_incidents_in_held_out_tasks"] <= c["held_out_incidents"]
        assert part["casualty_incidents"].sum() == c["held_out_incidents_in_held_out_tasks"]
        # held-out tasks are exactly the ranking's tasks in fold k's blocks
        blocks = mod.aoi_blocks(res["rankings"][k].geometry, block_size_m=10_000.0)
        _, fold_of = mod.assign_folds(layers, n_folds=FOLDS, block_size_m=10_000.0)
        in_k = blocks.map(fold_of) == k
        assert set(res["rankings"][k].loc[in_k.fillna(False), "task_id"]) == set(part["task_id"])
    # blocks of one fold never appear in another
    assert pooled.groupby("block")["fold"].nunique().max() == 1
    assert (pooled["area_m2"] > 0).all()


def test_scores_are_sane_and_intervals_hold_their_estimates(bih):
    mod, _, res, _ = bih
    out = mod.score(res["tasks"], n_boot=200, seed=0)
    s = out["score"]
    assert s.outcome == "harm"
    assert s.resampled == "blocks"
    assert s.n_items == len(res["tasks"])
    assert s.outcome_total > 0
    assert 0.0 <= s.auc.estimate <= 1.0
    assert 0.0 <= s.area_auc <= 1.0
    ivs = [s.auc, *s.gain.values(), *s.lift_random.values()]
    ivs += [iv for iv in s.lift_area.values() if not math.isnan(iv.estimate)]
    for iv in ivs:
        assert iv.low <= iv.estimate <= iv.high
    for iv in s.gain.values():
        assert 0.0 <= iv.low <= iv.high <= 1.0
    gains = [s.gain[k].estimate for k in ("10", "25", "50")]
    assert gains == sorted(gains)
    assert all(0.0 <= a <= 1.0 for a in out["auc_per_fold"].values())
    assert set(out["auc_per_fold"]) == set(range(FOLDS))


def _moved(frame, mask, targets):
    """A copy of ``frame`` whose rows at ``mask`` are moved onto ``targets`` (in order)."""
    out = frame.copy()
    geoms = out.geometry.to_numpy().copy()
    idx = np.flatnonzero(mask)
    geoms[idx] = targets[: len(idx)]
    out = out.set_geometry(geoms, crs=frame.crs)
    out.loc[mask, "killed"] = 5
    return out


def test_held_out_incidents_never_reach_the_ranking_they_are_scored_against(bih):
    mod, layers, res, _ = bih
    inc_fold = res["fold_of_incident"]
    hz = layers["hazards"]
    centres = hz.geometry.representative_point().to_numpy()
    k = 0
    held = inc_fold == k
    assert held.sum() > 0
    # the ranking spatial_holdout scored is the one built without fold k's incidents
    again = mod.fold_ranking(layers, inc_fold != k)
    assert_geodataframe_equal(res["rankings"][k], again)
    # move every held-out incident into a suspect area and make it deadly: same ranking
    perturbed = dict(layers)
    perturbed["casualties"] = _moved(layers["casualties"], held, centres[::-1])
    after = mod.fold_ranking(perturbed, inc_fold != k)
    assert_geodataframe_equal(res["rankings"][k], after)
    # the same move applied to ONE training incident does change it (the test can fail)
    one = np.zeros(len(inc_fold), dtype=bool)
    one[np.flatnonzero(inc_fold != k)[0]] = True
    perturbed["casualties"] = _moved(layers["casualties"], one, centres[:1])
    changed = mod.fold_ranking(perturbed, inc_fold != k)
    assert not changed.drop(columns="geometry").equals(again.drop(columns="geometry"))


def test_lifted_minefields_are_counted_inside_held_out_tasks_independently(bih):
    """Each fold's held-out tasks hold exactly the fold's lifted-minefield points that a plain
    shapely point-in-polygon count finds; points of blocks that are never held out are
    not counted; the score is sane."""
    import shapely

    mod, _, res, lifted = bih
    assert len(lifted) > 20
    lifted_fold = res["fold_of_lifted"]
    assert len(lifted_fold) == len(lifted)
    assert set(lifted_fold) <= {-1, *range(FOLDS)}
    pooled = res["tasks"]
    total = 0
    for k, c in res["coverage"].items():
        ranking = res["rankings"][k]
        held = ranking[
            ranking["task_id"].astype(str).isin(pooled.loc[pooled["fold"] == k, "task_id"])
        ]
        pts = lifted.geometry.to_numpy()[lifted_fold == k]
        union = shapely.union_all(held.geometry.to_numpy())
        inside = int(shapely.intersects(pts, union).sum())
        assert c["held_out_lifted"] == len(pts)
        assert c["held_out_lifted_in_held_out_tasks"] == inside
        assert pooled.loc[pooled["fold"] == k, "lifted_minefields"].sum() == inside
        total += inside
    assert total > 0  # some lifted minefields do lie in held-out suspect land
    out = mod.score(pooled, n_boot=100, seed=0, outcome="lifted_minefields")
    s = out["score"]
    assert s.outcome == "lifted minefields"
    assert s.outcome_total == total
    assert 0.0 <= s.auc.estimate <= 1.0
    for iv in s.gain.values():
        assert 0.0 <= iv.low <= iv.estimate <= iv.high <= 1.0
