"""How well a ranking anticipated what happened: pure functions on plain arrays.

Every function here takes one value per ranked item (a task, a grid cell): its ``score``
(higher = more urgent), its ``area`` and what was later observed in it (area where devices
were found, clean area released, casualties). Nothing here reads files or knows about
geometry, so each measure can be checked against a hand-computed answer.

Conventions
-----------
* **Ties** never favour the ranking. Items with equal scores form one block: the ROC AUC
  gives a tied positive/negative pair half credit (Mann–Whitney), and the gain curve
  runs straight through a tied block — the expected value over every order of its items.
* **The gain curve is over ranked area**, not over items: its x axis is the share of the
  ranked hazard area worked through in rank order, its y axis the share of the outcome
  (found area, casualties) met so far. Inside one item the outcome is taken as spread
  evenly over its area, so "the top 25 % of ranked area" may cut an item in two.
* **Random order** therefore has an expected gain of exactly ``f`` at every share ``f``
  of area, whatever the areas are: ``lift over random = gain(f) / f``.
* **Ranking by area alone** (largest first) is the naive baseline a programme without
  evidence would use; it is scored with the same functions (``scores = areas``).
* **Bootstrap** resamples items (or whole groups of items, e.g. spatial blocks, which
  is more honest when neighbours are alike) with a fixed seed; the interval is the
  percentile interval of the resampled statistic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_FRACTIONS",
    "Interval",
    "bootstrap",
    "gain_at",
    "gain_curve",
    "lift_over_random",
    "roc_auc",
    "weighted_roc_auc",
]

DEFAULT_FRACTIONS: tuple[float, ...] = (0.10, 0.25, 0.50)
"""Shares of ranked area at which the gain is reported (top 10 %, 25 %, 50 %)."""


def _vector(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} has {bad} missing or infinite value(s); fill or drop them")
    return arr


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"inputs differ in length: {detail}")


def _non_negative(arr: np.ndarray, name: str) -> None:
    if (arr < 0).any():
        raise ValueError(f"{name} has {int((arr < 0).sum())} negative value(s)")


def weighted_roc_auc(
    scores: Sequence[float] | np.ndarray,
    positive: Sequence[float] | np.ndarray,
    negative: Sequence[float] | np.ndarray,
) -> float:
    """ROC AUC where each item carries a positive and a negative weight.

    The probability that a randomly drawn unit of positive weight (e.g. one m² where
    devices were later found) sits in an item scored higher than a randomly drawn unit
    of negative weight (one m² released with nothing found); ties count one half. With
    0/1 weights this is the Mann–Whitney U statistic divided by ``n_pos * n_neg``.

    Parameters
    ----------
    scores : array-like of float
        Ranking score per item, higher = ranked first.
    positive, negative : array-like of float
        Non-negative weight of the positive and of the negative outcome in each item.

    Returns
    -------
    float
        AUC in [0, 1]; NaN when there is no positive or no negative weight at all.

    Examples
    --------
    >>> weighted_roc_auc([3, 2, 1], [1, 0, 0], [0, 1, 1])
    1.0
    >>> weighted_roc_auc([1, 1], [1, 0], [0, 1])  # a tie is half right
    0.5
    """
    s = _vector(scores, "scores")
    p = _vector(positive, "positive")
    n = _vector(negative, "negative")
    _same_length(scores=s, positive=p, negative=n)
    _non_negative(p, "positive")
    _non_negative(n, "negative")
    total_p, total_n = p.sum(), n.sum()
    if total_p <= 0 or total_n <= 0:
        return float("nan")
    levels, block = np.unique(s, return_inverse=True)  # ascending score levels
    pos = np.bincount(block, weights=p, minlength=len(levels))
    neg = np.bincount(block, weights=n, minlength=len(levels))
    neg_below = np.cumsum(neg) - neg
    return float(np.sum(pos * (neg_below + 0.5 * neg)) / (total_p * total_n))


def roc_auc(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[float] | np.ndarray,
    *,
    sample_weight: Sequence[float] | np.ndarray | None = None,
) -> float:
    """ROC AUC of ``scores`` against binary ``labels`` (Mann–Whitney, ties count ½).

    Parameters
    ----------
    scores : array-like of float
        Higher = ranked first.
    labels : array-like of {0, 1} or bool
        1 = the outcome happened (devices found, a casualty), 0 = it did not.
    sample_weight : array-like of float, optional
        Weight of each item (e.g. its area); 1 each if omitted.

    Returns
    -------
    float
        NaN when every label is the same.

    Examples
    --------
    >>> roc_auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    1.0
    >>> roc_auc([0.1, 0.3, 0.8, 0.9], [1, 1, 0, 0])
    0.0
    """
    y = _vector(labels, "labels")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0/1 (or booleans)")
    w = np.ones_like(y) if sample_weight is None else _vector(sample_weight, "sample_weight")
    _same_length(labels=y, sample_weight=w)
    return weighted_roc_auc(scores, y * w, (1.0 - y) * w)


def gain_curve(
    scores: Sequence[float] | np.ndarray,
    areas: Sequence[float] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative gain over ranked area.

    Items are worked through from the highest score down; tied scores form one block.
    The curve's vertices are the block boundaries: ``x`` is the share of total area
    worked through, ``y`` the share of the total outcome met. Between vertices the curve
    is straight (the outcome spread evenly over a block's area).

    Parameters
    ----------
    scores : array-like of float
    areas : array-like of float
        Positive area of each item (any unit; only shares matter).
    outcome : array-like of float
        Non-negative amount of the outcome in each item (m² where devices were found,
        number of casualties, 0/1 labels).

    Returns
    -------
    x, y : ndarray
        Both start at 0 and end at 1. ``y`` is all NaN when the outcome total is 0.

    Examples
    --------
    >>> x, y = gain_curve([2, 1], [1, 3], [1, 0])
    >>> x.tolist(), y.tolist()
    ([0.0, 0.25, 1.0], [0.0, 1.0, 1.0])
    """
    s = _vector(scores, "scores")
    a = _vector(areas, "areas")
    o = _vector(outcome, "outcome")
    _same_length(scores=s, areas=a, outcome=o)
    _non_negative(o, "outcome")
    if (a <= 0).any():
        raise ValueError(f"areas has {int((a <= 0).sum())} zero or negative value(s)")
    if len(s) == 0:
        raise ValueError("nothing to rank: no items")
    levels, block = np.unique(-s, return_inverse=True)  # block 0 = highest score
    block_area = np.bincount(block, weights=a, minlength=len(levels))
    block_out = np.bincount(block, weights=o, minlength=len(levels))
    x = np.concatenate([[0.0], np.cumsum(block_area) / block_area.sum()])
    total = block_out.sum()
    if total <= 0:
        y = np.full_like(x, np.nan)
    else:
        y = np.concatenate([[0.0], np.cumsum(block_out) / total])
    x[-1] = 1.0
    if total > 0:
        y[-1] = 1.0
    return x, y


def gain_at(
    scores: Sequence[float] | np.ndarray,
    areas: Sequence[float] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> np.ndarray:
    """Share of the outcome met within the top ``fractions`` of ranked area.

    Parameters
    ----------
    scores, areas, outcome : array-like of float
        As in :func:`gain_curve`.
    fractions : sequence of float
        Shares of the ranked area in (0, 1].

    Returns
    -------
    ndarray
        One share per fraction (NaN if the outcome total is 0).

    Examples
    --------
    >>> gain_at([2, 1], [1, 3], [1, 0], [0.1, 0.25, 0.5]).tolist()
    [0.4, 1.0, 1.0]
    """
    f = np.asarray(fractions, dtype=float)
    if ((f <= 0) | (f > 1)).any():
        raise ValueError("fractions must lie in (0, 1]")
    x, y = gain_curve(scores, areas, outcome)
    return np.interp(f, x, y)


def lift_over_random(gain: np.ndarray | float, fractions: Sequence[float] | float) -> np.ndarray:
    """Gain divided by what a random order meets in expectation (the area share itself).

    Examples
    --------
    >>> lift_over_random([0.5], [0.25]).tolist()
    [2.0]
    """
    return np.asarray(gain, dtype=float) / np.asarray(fractions, dtype=float)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside ``[low, high]``."""
        return bool(self.low <= value <= self.high)

    def to_dict(self) -> dict[str, float]:
        """JSON-able ``{"estimate", "low", "high", "level"}``."""
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "level": self.level,
        }


def bootstrap(
    statistic: Callable[[np.ndarray], Mapping[str, float]],
    n_items: int,
    *,
    groups: Sequence[object] | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Bootstrap percentile intervals for several statistics of the same resamples.

    Parameters
    ----------
    statistic : callable
        ``statistic(index)`` → mapping name → value, computed on the items at ``index``
        (an integer array, with repeats). Called once on ``arange(n_items)`` for the
        point estimate, then once per resample.
    n_items : int
        Number of items.
    groups : array-like, optional
        Group of each item (e.g. spatial block). If given, whole groups are resampled
        (cluster bootstrap), which keeps neighbouring, alike items together.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the random generator: the same seed gives the same intervals.
    level : float
        Coverage of the interval, e.g. 0.95.

    Returns
    -------
    dict of str to Interval
        Resamples where a statistic is NaN (e.g. no positive drawn) are left out of
        that statistic's interval; all NaN → NaN bounds.
    """
    if n_items <= 0:
        raise ValueError("bootstrap needs at least one item")
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    rng = np.random.default_rng(seed)
    full = statistic(np.arange(n_items))
    if groups is None:
        members = None
    else:
        g = np.asarray(groups)
        if len(g) != n_items:
            raise ValueError(f"groups has {len(g)} values for {n_items} items")
        _, codes = np.unique(g.astype(str), return_inverse=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(codes.max() + 2))
        members = [order[bounds[k] : bounds[k + 1]] for k in range(codes.max() + 1)]
    draws: dict[str, list[float]] = {name: [] for name in full}
    for _ in range(n_boot):
        if members is None:
            idx = rng.integers(0, n_items, n_items)
        else:
            picked = rng.integers(0, len(members), len(members))
            idx = np.concatenate([members[k] for k in picked])
        for name, value in statistic(idx).items():
            draws[name].append(float(value))
    tail = (1.0 - level) / 2.0 * 100.0
    out: dict[str, Interval] = {}
    for name, estimate in full.items():
        values = np.asarray(draws[name])
        values = values[np.isfinite(values)]
        if len(values):
            low, high = np.percentile(values, [tail, 100.0 - tail])
        else:
            low = high = float("nan")
        out[name] = Interval(float(estimate), float(low), float(high), level)
    return out
