"""Explainable priorities: normalised components, weighted score, rank and contributions.

The score of a task is

    priority_score = 100 × Σ_i w_i · c_i / Σ_i w_i

where ``c_i`` (0..1) are the normalised components of :func:`priority_components` and
``w_i`` the weights of a :class:`~minemap.risk.weights.Weights` set. Each term
``contrib_<i> = 100 × w_i · c_i / Σ w`` is reported, so the contributions add up to the
score and a planner can say *why* a task ranks where it does.

Components (raw value → normalisation, see ``docs/priorities.md``):

========================  =========================================  ====================
component                 raw value                                  normalisation
========================  =========================================  ====================
``casualty_risk``         ``casualty_recency`` (recency-weighted     method of the set
                          victims; else killed + injured)
``expected_items``        mid-point of ``expected_items_low/high``   method of the set
``people_exposed``        ``people_exposed`` (residents within       method of the set
                          walking distance, :mod:`~.exposure`)
``evidence_strength``     strongest evidence present (CHA, casualty, fixed 0..1 scale
                          strike, SHA) → its strength
``farmland_impact``       ``farmland_impact`` (UAH/yr)               method of the set
``cost_per_ha``           ``cost_per_ha_uah_mid`` (UAH/ha released)  method, inverted:
                                                                     cheaper → higher
========================  =========================================  ====================

Normalisation methods: ``"rank"`` (default) — 0 stays 0, positive values become
``rank / n_positive`` (average rank for ties), so one extreme task cannot squash all others;
``"log-minmax"`` — ``log1p(x) / log1p(max)``, keeps magnitudes but damps outliers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minemap.risk.effort import DEFAULT_EFFORT, EffortParams, estimate_effort
from minemap.risk.farmland import LandValues, farmland_impact
from minemap.risk.weights import COMPONENTS, EVIDENCE_CLASSES, Weights, default_weights

__all__ = [
    "contribution_columns",
    "norm_columns",
    "normalise",
    "priority_components",
    "priority_score",
    "raw_components",
]

_EVIDENCE_COUNTS = {
    "CHA": ("n_cha",),
    "SHA": ("n_sha",),
    "strike": ("n_strikes", "n_cluster_strikes"),
    "casualty": ("n_casualty_incidents",),
}


def norm_columns(components: tuple[str, ...] = COMPONENTS) -> list[str]:
    """Column names of the normalised components (``norm_<component>``)."""
    return [f"norm_{c}" for c in components]


def contribution_columns(components: tuple[str, ...] = COMPONENTS) -> list[str]:
    """Column names of the score contributions (``contrib_<component>``)."""
    return [f"contrib_{c}" for c in components]


def normalise(
    values: pd.Series, *, method: str = "rank", higher_is_better: bool = True
) -> pd.Series:
    """Map non-negative raw values to 0..1.

    Parameters
    ----------
    values : Series
        Raw values (NaN = unknown, treated as 0 when ``higher_is_better``, as the worst
        value otherwise).
    method : {"rank", "log-minmax"}
        ``"rank"``: 0 → 0; positive values → average rank among the positive values
        divided by their count (the largest gets 1). ``"log-minmax"``: ``log1p(x) /
        log1p(max)``.
    higher_is_better : bool
        False (costs): rank → ``(n_pos − rank + 1) / n_pos`` (the cheapest gets 1, unknown
        cost 0); log-minmax → ``(log1p(max) − log1p(x)) / (log1p(max) − log1p(min))``
        over positive values (all equal → 1).

    Returns
    -------
    Series with the same index and name.

    Examples
    --------
    >>> normalise(pd.Series([0.0, 5.0, 1000.0, 5.0])).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    x = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    if (x[~np.isnan(x)] < 0).any():
        raise ValueError(f"component {values.name!r} has negative raw values")
    out = np.zeros(len(x))
    pos = ~np.isnan(x) & (x > 0)
    n_pos = int(pos.sum())
    if n_pos:
        xp = x[pos]
        if method == "rank":
            ranks = pd.Series(xp).rank(method="average").to_numpy()
            out[pos] = ranks / n_pos if higher_is_better else (n_pos - ranks + 1) / n_pos
        elif method == "log-minmax":
            lx = np.log1p(xp)
            if higher_is_better:
                out[pos] = lx / lx.max()
            else:
                span = lx.max() - lx.min()
                out[pos] = (lx.max() - lx) / span if span > 0 else 1.0
        else:
            raise ValueError(f"unknown normalisation {method!r}; use 'rank' or 'log-minmax'")
    return pd.Series(out, index=values.index, name=values.name)


def _num(tasks: pd.DataFrame, col: str) -> pd.Series:
    if col not in tasks:
        return pd.Series(0.0, index=tasks.index)
    return pd.to_numeric(tasks[col], errors="coerce").astype("float64").fillna(0.0)


def _evidence_strength(tasks: pd.DataFrame, strength: dict[str, float]) -> pd.Series:
    best = np.zeros(len(tasks))
    cls = (
        tasks["evidence_class"].astype(object).to_numpy()
        if "evidence_class" in tasks
        else np.full(len(tasks), None, dtype=object)
    )
    for name in EVIDENCE_CLASSES:
        present = cls == name
        for col in _EVIDENCE_COUNTS[name]:
            present |= _num(tasks, col).to_numpy() > 0
        best = np.where(present, np.maximum(best, strength[name]), best)
    return pd.Series(best, index=tasks.index, name="evidence_strength")


def raw_components(
    tasks: pd.DataFrame,
    *,
    weights: Weights | None = None,
    as_of=None,
    land_values: LandValues | None = None,
    effort: EffortParams = DEFAULT_EFFORT,
) -> pd.DataFrame:
    """The raw (un-normalised) value behind each component, aligned to ``tasks``.

    ``farmland_impact`` and ``cost_per_ha_uah_mid`` are taken from ``tasks`` when present
    (the pipeline computes them once), otherwise computed with
    :func:`~minemap.risk.farmland.farmland_impact` and
    :func:`~minemap.risk.effort.estimate_effort`.
    """
    w = weights or default_weights()
    if "casualty_recency" in tasks:
        casualty = _num(tasks, "casualty_recency")
    else:
        casualty = _num(tasks, "killed") + _num(tasks, "injured")
    items = (_num(tasks, "expected_items_low") + _num(tasks, "expected_items_high")) / 2.0
    people = _num(tasks, "people_exposed")  # 0 without a settlements layer
    if "farmland_impact" in tasks:
        farm = _num(tasks, "farmland_impact")
    else:
        farm = farmland_impact(tasks, land_values=land_values, as_of=as_of)
    if "cost_per_ha_uah_mid" in tasks:
        cost = pd.to_numeric(tasks["cost_per_ha_uah_mid"], errors="coerce").astype("float64")
    else:
        cost = estimate_effort(tasks, params=effort)["cost_per_ha_uah_mid"]
    return pd.DataFrame(
        {
            "casualty_risk": casualty.to_numpy(),
            "expected_items": items.to_numpy(),
            "people_exposed": people.to_numpy(),
            "evidence_strength": _evidence_strength(tasks, w.evidence_strength).to_numpy(),
            "farmland_impact": farm.to_numpy(),
            "cost_per_ha": cost.to_numpy(),
        },
        index=tasks.index,
    )


def priority_components(
    tasks: pd.DataFrame,
    *,
    weights: Weights | None = None,
    as_of=None,
    land_values: LandValues | None = None,
    effort: EffortParams = DEFAULT_EFFORT,
) -> pd.DataFrame:
    """Normalised priority components (0..1) per task.

    Parameters
    ----------
    tasks : DataFrame
        The task frame (see :mod:`minemap.risk.tasks`); needs ``task_id``.
    weights : Weights, optional
        Supplies the normalisation method and evidence strengths (default set if None).
    as_of : date-like, optional
        Season date for farmland impact when it has to be computed here.
    land_values : LandValues, optional
    effort : EffortParams

    Returns
    -------
    DataFrame aligned to ``tasks`` with ``task_id`` and ``norm_<component>`` for every
    component in :data:`~minemap.risk.weights.COMPONENTS`, each within 0..1.
    """
    if "task_id" not in tasks:
        raise ValueError("the task frame needs a task_id column (for ranking ties)")
    w = weights or default_weights()
    raw = raw_components(tasks, weights=w, as_of=as_of, land_values=land_values, effort=effort)
    out = pd.DataFrame({"task_id": tasks["task_id"].astype(str).to_numpy()}, index=tasks.index)
    for comp in COMPONENTS:
        if comp == "evidence_strength":
            out[f"norm_{comp}"] = raw[comp].clip(0.0, 1.0)
        else:
            out[f"norm_{comp}"] = normalise(
                raw[comp], method=w.normalisation, higher_is_better=comp != "cost_per_ha"
            )
    return out


def priority_score(components: pd.DataFrame, weights: Weights | None = None) -> pd.DataFrame:
    """Weighted score (0–100), rank and per-component contributions.

    Parameters
    ----------
    components : DataFrame
        Output of :func:`priority_components` (``task_id`` and ``norm_*`` columns).
    weights : Weights, optional
        Default set if None.

    Returns
    -------
    DataFrame aligned to ``components`` with ``priority_score``, ``priority_rank`` (1 =
    first; equal scores are ordered by ``task_id``, so the ranking is deterministic) and
    ``contrib_<component>`` columns that add up to ``priority_score``.

    Examples
    --------
    >>> comps = pd.DataFrame({"task_id": ["b", "a"], **{c: [1.0, 1.0] for c in norm_columns()}})
    >>> priority_score(comps)["priority_rank"].tolist()
    [2, 1]
    """
    w = weights or default_weights()
    total = w.total
    if total <= 0:
        raise ValueError(f"weights {w.name!r}: all weights are zero")
    out = pd.DataFrame(index=components.index)
    score = np.zeros(len(components))
    for comp in COMPONENTS:
        col = f"norm_{comp}"
        if col not in components:
            raise ValueError(f"components frame lacks {col!r} (use priority_components)")
        contrib = 100.0 * w.weights[comp] * components[col].to_numpy(dtype="float64") / total
        out[f"contrib_{comp}"] = contrib
        score = score + contrib
    out.insert(0, "priority_score", score)
    out.insert(1, "priority_rank", _rank(score, components["task_id"]))
    return out


def _rank(score: np.ndarray, task_id: pd.Series) -> np.ndarray:
    """1-based rank by score (descending) then task_id (ascending)."""
    order = pd.DataFrame(
        {"s": -np.round(score, 9), "t": task_id.astype(str).to_numpy()}
    ).sort_values(["s", "t"], kind="mergesort")
    rank = np.empty(len(score), dtype="int64")
    rank[order.index.to_numpy()] = np.arange(1, len(score) + 1)
    return rank
