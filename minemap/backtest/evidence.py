"""Simple, transparent evidence scores for grid cells, and their block cross-validation.

When a programme has no hazard polygons yet — only a grid with a few indicators per cell
(victims recorded in the municipality, distance to roads or settlements) — the most
defensible ranking is an open one: put each indicator on a 0–1 percentile scale, turn it
the way the evidence says (more victims → higher; nearer a settlement → higher) and
average. :func:`rank_average` does exactly that, with no fitted parameter.

If the directions are *chosen from outcomes* instead of declared beforehand, the choice
must be made on other places than the ones it is scored on: :func:`choose_directions`
picks them on training cells, and :func:`out_of_fold_scores` scores every cell with the
directions chosen without its own fold (block cross-validation). The percentile scales
use every cell's indicator values but never a label, so no outcome leaks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from minemap.backtest.metrics import roc_auc

__all__ = ["choose_directions", "out_of_fold_scores", "percentile_scale", "rank_average"]


def percentile_scale(values: pd.Series) -> pd.Series:
    """Average-rank percentile in (0, 1]; ties share a value; missing values → 0.5.

    Examples
    --------
    >>> percentile_scale(pd.Series([10.0, 30.0, 20.0, 20.0])).tolist()
    [0.25, 1.0, 0.625, 0.625]
    """
    ranked = values.astype("float64").rank(method="average", pct=True)
    return ranked.fillna(0.5)


def rank_average(frame: pd.DataFrame, directions: Mapping[str, int]) -> pd.Series:
    """Mean of the indicators' percentile scales, each turned by its direction.

    Parameters
    ----------
    frame : DataFrame
        One row per cell.
    directions : mapping of column to +1 or -1
        +1: a higher value means more likely hazardous; -1: a lower value does.

    Returns
    -------
    Series
        ``evidence_score`` in [0, 1], aligned to ``frame.index``.
    """
    if not directions:
        raise ValueError("no indicator given")
    missing = [c for c in directions if c not in frame]
    if missing:
        raise ValueError(f"indicator column(s) not in the frame: {', '.join(missing)}")
    bad = {c: d for c, d in directions.items() if d not in (1, -1)}
    if bad:
        raise ValueError(f"directions must be +1 or -1, got {bad}")
    parts = [
        percentile_scale(sign * frame[col].astype("float64")) for col, sign in directions.items()
    ]
    score = pd.concat(parts, axis=1).mean(axis=1)
    return score.rename("evidence_score")


def choose_directions(
    frame: pd.DataFrame,
    labels: Sequence[float] | np.ndarray,
    columns: Sequence[str],
    *,
    min_gap: float = 0.02,
) -> dict[str, int]:
    """Pick each indicator's direction (and keep it) from labelled training cells.

    An indicator is kept if its ROC AUC on these cells is at least ``min_gap`` away from
    0.5, with direction +1 if the AUC is above 0.5 and -1 below. If none qualifies, the
    single indicator furthest from 0.5 is kept, so a score always exists.

    Parameters
    ----------
    frame : DataFrame
        Training cells.
    labels : array-like of {0, 1}
        Outcome per training cell.
    columns : sequence of str
        Candidate indicators.
    min_gap : float

    Returns
    -------
    dict of str to int
    """
    y = np.asarray(labels, dtype=float)
    aucs = {c: roc_auc(frame[c].astype("float64").fillna(frame[c].median()), y) for c in columns}
    chosen = {c: (1 if a > 0.5 else -1) for c, a in aucs.items() if abs(a - 0.5) >= min_gap}
    if not chosen:
        best = max(aucs, key=lambda c: abs(aucs[c] - 0.5))
        chosen = {best: 1 if aucs[best] >= 0.5 else -1}
    return chosen


def out_of_fold_scores(
    frame: pd.DataFrame,
    labels: Sequence[float] | np.ndarray,
    folds: Sequence[int] | np.ndarray,
    columns: Sequence[str],
    *,
    min_gap: float = 0.02,
) -> tuple[pd.Series, list[dict[str, int]]]:
    """Score each cell with directions chosen on the other folds only.

    Parameters
    ----------
    frame : DataFrame
        Cells (all of them labelled).
    labels : array-like of {0, 1}
    folds : array-like of int
        Fold per cell (from :func:`minemap.backtest.split.block_folds`).
    columns : sequence of str
        Candidate indicators.
    min_gap : float
        As in :func:`choose_directions`.

    Returns
    -------
    scores : Series
        Out-of-fold ``evidence_score`` aligned to ``frame.index``.
    chosen : list of dict
        The directions chosen for each fold (fold order), to show how stable they are.
    """
    y = np.asarray(labels, dtype=float)
    f = np.asarray(folds)
    if len(y) != len(frame) or len(f) != len(frame):
        raise ValueError("frame, labels and folds differ in length")
    values = {c: frame[c].astype("float64") for c in columns}
    scores = pd.Series(np.nan, index=frame.index, name="evidence_score")
    chosen: list[dict[str, int]] = []
    for k in np.unique(f):
        test = f == k
        dirs = choose_directions(frame[~test], y[~test], columns, min_gap=min_gap)
        chosen.append(dirs)
        # percentiles over every cell (label-free), turned by the training-fold direction
        parts = [percentile_scale(s * values[c])[test] for c, s in dirs.items()]
        scores[test] = pd.concat(parts, axis=1).mean(axis=1).to_numpy()
    return scores, chosen
