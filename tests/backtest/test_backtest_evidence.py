"""Transparent evidence scores and their block cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from minemap.backtest.evidence import choose_directions, out_of_fold_scores, rank_average


def test_rank_average_turns_and_averages_percentiles():
    frame = pd.DataFrame({"victims": [10, 20, 30, 40], "dist_km": [4.0, 3.0, 2.0, 1.0]})
    # both indicators agree: the 4th cell has most victims and is nearest
    score = rank_average(frame, {"victims": 1, "dist_km": -1})
    assert score.tolist() == pytest.approx([0.25, 0.5, 0.75, 1.0])
    # turned the wrong way, they cancel: every cell gets the same score
    flat = rank_average(frame, {"victims": 1, "dist_km": 1})
    assert flat.nunique() == 1
    with pytest.raises(ValueError, match="not in the frame: nope"):
        rank_average(frame, {"nope": 1})
    with pytest.raises(ValueError, match="must be \\+1 or -1"):
        rank_average(frame, {"victims": 2})


def test_choose_directions_follows_the_labels():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(float)
    frame = pd.DataFrame(
        {
            "up": y + rng.normal(0, 1, 500),
            "down": -y + rng.normal(0, 1, 500),
            "noise": rng.normal(0, 1, 500),
        }
    )
    assert choose_directions(frame, y, ["up", "down", "noise"], min_gap=0.1) == {
        "up": 1,
        "down": -1,
    }


def test_out_of_fold_scores_never_see_their_own_labels():
    rng = np.random.default_rng(1)
    n = 300
    y = (rng.random(n) < 0.4).astype(float)
    frame = pd.DataFrame({"a": y + rng.normal(0, 1, n), "b": rng.normal(0, 1, n)})
    folds = np.repeat([0, 1, 2], n // 3)
    scores, chosen = out_of_fold_scores(frame, y, folds, ["a", "b"])
    assert len(chosen) == 3
    # flip every label of fold 0: fold 0's own scores must not change
    flipped = y.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    again, _ = out_of_fold_scores(frame, flipped, folds, ["a", "b"])
    assert again[folds == 0].equals(scores[folds == 0])
