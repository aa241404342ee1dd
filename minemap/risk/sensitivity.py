"""How much a ranking depends on its weights.

For a weight set, every non-zero weight is moved by ±``delta`` (default 20 %) one at a
time, and every component is left out once (its weight set to 0). Each scenario re-scores
the same normalised components (:func:`~minemap.risk.priority.priority_score`) and is
compared with the base ranking:

- **per scenario**: Kendall's tau-b between base and scenario scores (1 = same order) and
  the share of the base top-N still in the top-N;
- **per task**: the share of scenarios in which it is in the top-N, its best and worst rank,
  and ``flag_single_weight``: its top-N membership flips when a *single* weight moves by
  ±``delta`` (the components whose move flips it are listed in ``depends_on``; those whose
  removal flips it in ``loo_depends_on``).

Kendall's tau-b is computed here with numpy in O(n log² n) (merge-sort inversion count),
so no extra dependency is needed and national-scale task lists stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from minemap.risk.priority import priority_score
from minemap.risk.weights import COMPONENTS, Weights, default_weights

__all__ = ["SensitivityResult", "kendall_tau_b", "rank_sensitivity"]


def _count_inversions(a: np.ndarray) -> int:
    """Pairs i < j with a[i] > a[j], for non-negative integers ``a`` (bottom-up merge)."""
    a = np.asarray(a, dtype=np.int64)
    n = len(a)
    if n < 2:
        return 0
    m = int(a.max()) + 1
    idx = np.arange(n, dtype=np.int64)
    total = 0
    width = 1
    while width < n:
        block = idx // (2 * width)
        right = (idx % (2 * width)) >= width
        left_keys = block[~right] * m + a[~right]  # ascending: blocks in order, parts sorted
        right_keys = block[right] * m + a[right]
        pos = np.searchsorted(left_keys, right_keys, side="right")
        end = np.searchsorted(left_keys, (block[right] + 1) * m, side="left")
        total += int((end - pos).sum())
        a = np.sort(block * m + a) - block * m
        width *= 2
    return total


def _tied_pairs(sorted_values: np.ndarray) -> int:
    if len(sorted_values) == 0:
        return 0
    change = np.flatnonzero(np.diff(sorted_values) != 0)
    sizes = np.diff(np.concatenate(([0], change + 1, [len(sorted_values)])))
    return int((sizes * (sizes - 1) // 2).sum())


def kendall_tau_b(x: np.ndarray | pd.Series, y: np.ndarray | pd.Series) -> float:
    """Kendall's tau-b rank correlation (ties handled as in scipy.stats.kendalltau).

    Parameters
    ----------
    x, y : array-like of float, same length, no NaN.

    Returns
    -------
    float
        In -1..1; NaN if fewer than two values or either input is constant.

    Examples
    --------
    >>> kendall_tau_b([1, 2, 3], [1, 2, 3]), kendall_tau_b([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.shape != y.shape:
        raise ValueError("kendall_tau_b: x and y must have the same length")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("kendall_tau_b: NaN values")
    n = len(x)
    if n < 2:
        return float("nan")
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    n0 = n * (n - 1) // 2
    n1 = _tied_pairs(xs)
    n2 = _tied_pairs(np.sort(ys))
    both = np.flatnonzero((np.diff(xs) != 0) | (np.diff(ys) != 0))
    sizes = np.diff(np.concatenate(([0], both + 1, [n])))
    n3 = int((sizes * (sizes - 1) // 2).sum())
    y_rank = np.unique(ys, return_inverse=True)[1]
    nd = _count_inversions(y_rank)
    denom = np.sqrt(float(n0 - n1) * float(n0 - n2))
    if denom == 0:
        return float("nan")
    return float((n0 - n1 - n2 + n3 - 2 * nd) / denom)


@dataclass
class SensitivityResult:
    """Outcome of :func:`rank_sensitivity`.

    Attributes
    ----------
    tasks : DataFrame
        Aligned to the components: ``task_id``, ``base_rank``, ``in_top_base``,
        ``top_share``, ``rank_min``, ``rank_max``, ``flag_single_weight``, ``depends_on``,
        ``loo_depends_on``.
    scenarios : DataFrame
        One row per scenario: ``scenario``, ``component``, ``change`` (``"+20%"``,
        ``"-20%"``, ``"leave-out"``), ``kendall_tau``, ``top_kept_share``.
    top : int
        N of the top-N.
    delta : float
    """

    tasks: pd.DataFrame
    scenarios: pd.DataFrame
    top: int
    delta: float

    @property
    def min_tau(self) -> float:
        return float(self.scenarios["kendall_tau"].min()) if len(self.scenarios) else 1.0


def _scenarios(weights: Weights, delta: float) -> list[tuple[str, str, Weights]]:
    out = []
    pct = f"{round(delta * 100):d}%"
    for comp in COMPONENTS:
        base = weights.weights[comp]
        if base <= 0:
            continue  # a zero weight scaled by ±delta stays zero: nothing to test
        for sign, factor in (("+", 1 + delta), ("-", 1 - delta)):
            w = dict(weights.weights)
            w[comp] = base * factor
            out.append((f"{sign}{pct}", comp, weights.replace_weights(w, suffix="")))
    for comp in COMPONENTS:
        if weights.weights[comp] <= 0:
            continue
        w = dict(weights.weights)
        w[comp] = 0.0
        if sum(w.values()) > 0:
            out.append(("leave-out", comp, weights.replace_weights(w, suffix="")))
    return out


def rank_sensitivity(
    components: pd.DataFrame,
    weights: Weights | None = None,
    *,
    top: int = 10,
    delta: float = 0.2,
    progress=None,
) -> SensitivityResult:
    """Rank stability of every task under ±``delta`` weight changes and leave-one-out.

    Parameters
    ----------
    components : DataFrame
        Output of :func:`~minemap.risk.priority.priority_components`.
    weights : Weights, optional
        The base weight set (default set if None).
    top : int
        Size of the top-N whose membership is tracked (capped at the number of tasks).
    delta : float
        Relative weight change, 0 < delta < 1.
    progress : callable(done, total), optional

    Returns
    -------
    SensitivityResult
    """
    if not 0 < delta < 1:
        raise ValueError(f"delta must be within (0, 1), got {delta}")
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    w = weights or default_weights()
    n = len(components)
    top_n = min(top, n)
    base = priority_score(components, w)
    base_rank = base["priority_rank"].to_numpy()
    base_score = base["priority_score"].to_numpy()
    base_top = base_rank <= top_n
    scenarios = _scenarios(w, delta)
    in_top_count = np.zeros(n)
    rank_min = base_rank.copy()
    rank_max = base_rank.copy()
    depends: list[list[str]] = [[] for _ in range(n)]
    loo_depends: list[list[str]] = [[] for _ in range(n)]
    rows = []
    for i, (change, comp, sw) in enumerate(scenarios):
        s = priority_score(components, sw)
        rank = s["priority_rank"].to_numpy()
        in_top = rank <= top_n
        in_top_count += in_top
        rank_min = np.minimum(rank_min, rank)
        rank_max = np.maximum(rank_max, rank)
        flipped = np.flatnonzero(in_top != base_top)
        target = loo_depends if change == "leave-out" else depends
        for j in flipped:
            if comp not in target[j]:
                target[j].append(comp)
        tau = kendall_tau_b(base_score, s["priority_score"].to_numpy()) if n > 1 else 1.0
        kept = float((in_top & base_top).sum() / top_n) if top_n else 1.0
        rows.append(
            {
                "scenario": f"{comp} {change}",
                "component": comp,
                "change": change,
                "kendall_tau": tau,
                "top_kept_share": kept,
            }
        )
        if progress is not None:
            progress(i + 1, len(scenarios))
    n_scen = len(scenarios)
    tasks = pd.DataFrame(
        {
            "task_id": components["task_id"].astype(str).to_numpy(),
            "base_rank": base_rank,
            "in_top_base": base_top,
            "top_share": in_top_count / n_scen if n_scen else base_top.astype(float),
            "rank_min": rank_min,
            "rank_max": rank_max,
            "flag_single_weight": np.array([bool(d) for d in depends]),
            "depends_on": [",".join(d) for d in depends],
            "loo_depends_on": [",".join(d) for d in loo_depends],
        },
        index=components.index,
    )
    return SensitivityResult(tasks, pd.DataFrame(rows), top_n, delta)
