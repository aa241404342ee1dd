"""Known-answer tests of the ranking measures (independent brute-force checks)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from minemap.backtest.metrics import (
    bootstrap,
    gain_at,
    gain_curve,
    lift_over_random,
    roc_auc,
    weighted_roc_auc,
)
from minemap.backtest.scoring import score_ranking


def brute_auc(scores, pos, neg):
    """Pairwise definition: P(score_pos > score_neg) + ½ P(tie), weighted."""
    num = den = 0.0
    for i, j in itertools.product(range(len(scores)), repeat=2):
        w = pos[i] * neg[j]
        den += w
        if scores[i] > scores[j]:
            num += w
        elif scores[i] == scores[j]:
            num += 0.5 * w
    return num / den


@pytest.fixture
def labelled():
    rng = np.random.default_rng(7)
    labels = (rng.random(400) < 0.3).astype(float)
    return rng, labels


def test_oracle_reversed_and_constant_rankings(labelled):
    _, y = labelled
    assert roc_auc(y, y) == 1.0
    assert roc_auc(-y, y) == 0.0
    assert roc_auc(np.zeros_like(y), y) == 0.5  # all tied: no information


def test_auc_matches_pairwise_definition_with_ties_and_weights():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 40).astype(float)  # many ties
    pos = rng.uniform(0, 3, 40) * (rng.random(40) < 0.5)
    neg = rng.uniform(0, 3, 40) * (rng.random(40) < 0.6)
    assert weighted_roc_auc(scores, pos, neg) == pytest.approx(brute_auc(scores, pos, neg))


def test_auc_matches_scipy_mann_whitney_u():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(11)
    scores = rng.integers(0, 8, 300).astype(float)
    y = (rng.random(300) < 0.4).astype(float)
    u = stats.mannwhitneyu(scores[y == 1], scores[y == 0]).statistic
    assert roc_auc(scores, y) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()))


def test_auc_single_class_is_nan_and_bad_input_is_named():
    assert np.isnan(roc_auc([1, 2, 3], [1, 1, 1]))
    with pytest.raises(ValueError, match="scores has 1 missing"):
        roc_auc([1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="labels must be 0/1"):
        roc_auc([1, 2], [0, 2])
    with pytest.raises(ValueError, match="differ in length"):
        roc_auc([1, 2, 3], [0, 1])


def test_gain_curve_hand_computed():
    # areas 1, 3, 4 (total 8); outcome 2, 0, 2 (total 4); ranked by score 3 > 2 > 1
    x, y = gain_curve([3, 2, 1], [1, 3, 4], [2, 0, 2])
    assert x.tolist() == [0.0, 1 / 8, 4 / 8, 1.0]
    assert y.tolist() == [0.0, 0.5, 0.5, 1.0]
    # top 25 % of area = first item (1/8) + 1/8 of the second, which holds nothing
    assert gain_at([3, 2, 1], [1, 3, 4], [2, 0, 2], [0.0625, 0.25, 0.75]).tolist() == [
        0.25,
        0.5,
        0.75,
    ]


def test_gain_curve_ties_are_one_block_whatever_the_row_order():
    # two tied items: the curve runs straight through them, order cannot matter
    a = gain_at([1, 1], [1, 1], [1, 0], [0.5])
    b = gain_at([1, 1], [1, 1], [0, 1], [0.5])
    assert a.tolist() == b.tolist() == [0.5]


def test_oracle_gain_dominates_random_and_reversed(labelled):
    rng, y = labelled
    areas = rng.uniform(1, 5, len(y))
    noise = rng.random(len(y))
    f = np.linspace(0.05, 0.95, 19)
    oracle = gain_at(y + 0.01 * noise, areas, y, f)
    random_ = gain_at(noise, areas, y, f)
    reverse = gain_at(-y - 0.01 * noise, areas, y, f)
    assert (oracle >= random_).all()
    assert (random_ >= reverse).all()
    # once the oracle has worked through the positives' area, it has met every positive
    positive_share = areas[y == 1].sum() / areas.sum()
    assert gain_at(y + 0.01 * noise, areas, y, [positive_share])[0] == pytest.approx(1.0)
    assert lift_over_random(oracle, f)[0] > 2


def test_random_ranking_is_indistinguishable_from_chance():
    rng = np.random.default_rng(2024)
    n = 600
    y = (rng.random(n) < 0.25).astype(float)
    areas = rng.uniform(1, 4, n)
    score = score_ranking(rng.random(n), areas, y, n_boot=300, seed=1)
    assert score.auc.contains(0.5)
    assert abs(score.auc.estimate - 0.5) < 0.06
    for key, share in (("10", 0.1), ("25", 0.25), ("50", 0.5)):
        assert score.gain[key].contains(share)
        assert score.lift_random[key].contains(1.0)


def test_oracle_and_reversed_score_ranking():
    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.2).astype(float)
    areas = np.ones(300)
    best = score_ranking(y, areas, y, n_boot=200)
    worst = score_ranking(-y, areas, y, n_boot=200)
    assert best.auc.estimate == 1.0
    assert best.auc.low == 1.0
    assert worst.auc.estimate == 0.0
    # equal areas: ranking by area alone is one tied block = random order
    assert best.area_auc == 0.5
    assert best.area_gain["25"] == pytest.approx(0.25)
    positives = y.mean()
    assert best.gain["10"].estimate == pytest.approx(0.1 / positives)
    assert worst.gain["50"].estimate == pytest.approx(max(0.0, (0.5 - (1 - positives)) / positives))


def test_bootstrap_is_reproducible_and_resamples_blocks():
    values = np.arange(20, dtype=float)

    def mean(idx):
        return {"mean": values[idx].mean()}

    a = bootstrap(mean, 20, n_boot=200, seed=9)
    b = bootstrap(mean, 20, n_boot=200, seed=9)
    assert a == b
    assert a["mean"].estimate == 9.5
    assert a["mean"].low < 9.5 < a["mean"].high
    # two blocks of constant values: a block resample can only average 0, 5 or 10
    groups = np.repeat(["lo", "hi"], 10)
    values[:10], values[10:] = 0.0, 10.0
    c = bootstrap(mean, 20, groups=groups, n_boot=200, seed=9)
    assert {c["mean"].low, c["mean"].high} <= {0.0, 5.0, 10.0}
