"""Back-testing: how well a ranking anticipated later findings and casualties.

* :mod:`~minemap.backtest.metrics` — ROC AUC, gain over ranked area, lift, bootstrap.
* :mod:`~minemap.backtest.scoring` — one ranking against one outcome, with baselines.
* :mod:`~minemap.backtest.split` — as-of (temporal) split and spatial blocks.
* :mod:`~minemap.backtest.verdict` — plain-words verdicts.
"""

from __future__ import annotations

from minemap.backtest.metrics import (
    DEFAULT_FRACTIONS,
    Interval,
    bootstrap,
    gain_at,
    gain_curve,
    lift_over_random,
    roc_auc,
    weighted_roc_auc,
)
from minemap.backtest.scoring import RankingScore, score_ranking
from minemap.backtest.split import (
    Split,
    admin_blocks,
    block_folds,
    grid_blocks,
    split_as_of,
)
from minemap.backtest.verdict import verdict

__all__ = [
    "DEFAULT_FRACTIONS",
    "Interval",
    "RankingScore",
    "Split",
    "admin_blocks",
    "block_folds",
    "bootstrap",
    "gain_at",
    "gain_curve",
    "grid_blocks",
    "lift_over_random",
    "roc_auc",
    "score_ranking",
    "split_as_of",
    "verdict",
    "weighted_roc_auc",
]
