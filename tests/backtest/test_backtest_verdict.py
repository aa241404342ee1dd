"""Plain-words verdicts carry the measured figures and say when chance is not ruled out."""

from __future__ import annotations

import numpy as np

from minemap.backtest.scoring import score_ranking
from minemap.backtest.verdict import verdict


def test_verdict_quotes_the_figures_it_was_given():
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.2).astype(float)
    score = score_ranking(
        y + rng.normal(0, 0.5, 400),
        np.ones(400),
        y,
        n_boot=100,
        name="default weights",
        outcome_name="findings",
    )
    text = verdict(score)
    g = score.gain["25"]
    assert text.startswith("default weights: the top quarter of the ranking held ")
    assert f"{g.estimate * 100:.0f} % ({g.low * 100:.0f}–{g.high * 100:.0f} %)" in text
    assert f"{score.lift_random['25'].estimate:.1f}× random" in text
    assert "no evidence" not in text


def test_verdict_says_when_chance_is_not_ruled_out_or_nothing_happened():
    rng = np.random.default_rng(2)
    y = (rng.random(300) < 0.2).astype(float)
    noise = score_ranking(rng.random(300), np.ones(300), y, n_boot=100, outcome_name="harm")
    assert "no evidence that the ranking beats chance" in verdict(noise)
    assert "later casualty incidents" in verdict(noise)
    empty = score_ranking(rng.random(10), np.ones(10), np.zeros(10), n_boot=20)
    assert "nothing to judge by" in verdict(empty)
