"""Score one ranking against one outcome, with baselines and bootstrap intervals.

:func:`score_ranking` bundles the measures of :mod:`minemap.backtest.metrics` into one
:class:`RankingScore`: ROC AUC, the gain at the top 10/25/50 % of ranked area, the lift
over a random order and over ranking by area alone (largest first), each with a bootstrap
interval over items (or over spatial blocks). Arrays in, dataclass out — no geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minemap.backtest.metrics import (
    DEFAULT_FRACTIONS,
    Interval,
    bootstrap,
    gain_at,
    gain_curve,
    weighted_roc_auc,
)

__all__ = ["CURVE_POINTS", "RankingScore", "score_ranking"]

CURVE_POINTS = 101
"""Points (0, 1 %, …, 100 % of ranked area) at which gain curves are reported."""


def _key(fraction: float) -> str:
    return f"{round(fraction * 100, 4):g}"


@dataclass
class RankingScore:
    """How one ranking did against one outcome.

    Attributes
    ----------
    name : str
        Name of the ranking (weight set, "area only", an evidence score).
    outcome : str
        What it is scored against, e.g. ``"findings"`` or ``"harm"``.
    n_items : int
        Items ranked.
    n_items_with_outcome : int
        Items where the outcome was observed (> 0).
    outcome_total : float
        Total amount of the outcome inside the ranked items.
    auc : Interval
        ROC AUC with its interval (NaN if only one class was observed).
    gain : dict of str to Interval
        Share of the outcome in the top ``k`` % of ranked area (key ``"25"`` = 25 %).
    lift_random : dict of str to Interval
        ``gain / share of area``.
    lift_area : dict of str to Interval
        ``gain / gain of the area-only ranking`` on the same resample.
    area_auc : float
        ROC AUC of the area-only ranking.
    area_gain : dict of str to float
        Gain of the area-only ranking.
    curve : dict
        ``{"x": [...], "y": [...], "area_y": [...]}`` at :data:`CURVE_POINTS` shares of
        area, for plotting (``y`` of this ranking, ``area_y`` of area alone; random = x).
    n_boot, seed : int
        Bootstrap parameters; ``resampled`` says over what (``"items"`` or ``"blocks"``).
    """

    name: str
    outcome: str
    n_items: int
    n_items_with_outcome: int
    outcome_total: float
    auc: Interval
    gain: dict[str, Interval]
    lift_random: dict[str, Interval]
    lift_area: dict[str, Interval]
    area_auc: float
    area_gain: dict[str, float]
    curve: dict[str, list[float]] = field(repr=False)
    n_boot: int = 1000
    seed: int = 0
    resampled: str = "items"

    @property
    def evaluable(self) -> bool:
        """Whether the outcome was observed at all (else every figure is NaN)."""
        return self.outcome_total > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN left as float NaN; the CLI writes it as null)."""
        return {
            "name": self.name,
            "outcome": self.outcome,
            "n_items": self.n_items,
            "n_items_with_outcome": self.n_items_with_outcome,
            "outcome_total": self.outcome_total,
            "auc": self.auc.to_dict(),
            "gain": {k: v.to_dict() for k, v in self.gain.items()},
            "lift_random": {k: v.to_dict() for k, v in self.lift_random.items()},
            "lift_area": {k: v.to_dict() for k, v in self.lift_area.items()},
            "area_auc": self.area_auc,
            "area_gain": dict(self.area_gain),
            "curve": self.curve,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "resampled": self.resampled,
        }

    def rows(self) -> list[dict[str, Any]]:
        """Flat table rows (one per measure) for CSV output."""
        rows = [
            _row(self, "auc", None, self.auc),
        ]
        for k in self.gain:
            rows.append(_row(self, "gain", k, self.gain[k]))
            rows.append(_row(self, "lift_random", k, self.lift_random[k]))
            rows.append(_row(self, "lift_area", k, self.lift_area[k]))
        return rows


def _row(score: RankingScore, measure: str, top: str | None, iv: Interval) -> dict[str, Any]:
    return {
        "ranking": score.name,
        "outcome": score.outcome,
        "measure": measure,
        "top_pct_area": None if top is None else float(top),
        "estimate": iv.estimate,
        "low": iv.low,
        "high": iv.high,
        "level": iv.level,
        "n_items": score.n_items,
        "outcome_total": score.outcome_total,
        "resampled": score.resampled,
    }


def score_ranking(
    scores: Sequence[float] | np.ndarray,
    areas: Sequence[float] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    *,
    auc_positive: Sequence[float] | np.ndarray | None = None,
    auc_negative: Sequence[float] | np.ndarray | None = None,
    name: str = "ranking",
    outcome_name: str = "outcome",
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    groups: Sequence[object] | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> RankingScore:
    """Score a ranking: AUC, gain at top shares of area, lifts, intervals.

    Parameters
    ----------
    scores : array-like of float
        Higher = ranked first (use the score, not a tie-broken rank, so ties stay ties).
    areas : array-like of float
        Positive area of each item.
    outcome : array-like of float
        Amount of the outcome per item, for the gain curve (m² where devices were found,
        number of casualties, 0/1 labels).
    auc_positive, auc_negative : array-like of float, optional
        Weights for :func:`~minemap.backtest.metrics.weighted_roc_auc`. Default: an item
        is positive if its outcome is > 0 and negative otherwise, weight 1 each.
    name, outcome_name : str
        Labels carried into the result.
    fractions : sequence of float
        Shares of ranked area to report.
    groups : array-like, optional
        Spatial block per item: resample whole blocks instead of items.
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    RankingScore
    """
    s = np.asarray(scores, dtype=float)
    a = np.asarray(areas, dtype=float)
    o = np.asarray(outcome, dtype=float)
    pos = (o > 0).astype(float) if auc_positive is None else np.asarray(auc_positive, dtype=float)
    if auc_negative is None:
        neg = (o <= 0).astype(float) if auc_positive is None else np.zeros_like(pos)
    else:
        neg = np.asarray(auc_negative, dtype=float)
    f = np.asarray(fractions, dtype=float)
    keys = [_key(x) for x in f]

    def stats(idx: np.ndarray) -> dict[str, float]:
        ss, aa, oo = s[idx], a[idx], o[idx]
        out = {"auc": weighted_roc_auc(ss, pos[idx], neg[idx])}
        if oo.sum() > 0:
            g = gain_at(ss, aa, oo, f)
            ga = gain_at(aa, aa, oo, f)
        else:
            g = ga = np.full(len(f), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            la = np.where(ga > 0, g / ga, np.nan)
        for k, gi, lai, fi in zip(keys, g, la, f, strict=True):
            out[f"gain_{k}"] = gi
            out[f"lift_random_{k}"] = gi / fi
            out[f"lift_area_{k}"] = lai
        return out

    ivs = bootstrap(stats, len(s), groups=groups, n_boot=n_boot, seed=seed)
    evaluable = o.sum() > 0
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    if evaluable:
        x, y = gain_curve(s, a, o)
        xa, ya = gain_curve(a, a, o)
        curve_y = np.interp(grid, x, y)
        curve_area = np.interp(grid, xa, ya)
        area_gain = np.interp(f, xa, ya)
    else:
        curve_y = curve_area = np.full(len(grid), np.nan)
        area_gain = np.full(len(f), np.nan)
    return RankingScore(
        name=name,
        outcome=outcome_name,
        n_items=len(s),
        n_items_with_outcome=int((o > 0).sum()),
        outcome_total=float(o.sum()),
        auc=ivs["auc"],
        gain={k: ivs[f"gain_{k}"] for k in keys},
        lift_random={k: ivs[f"lift_random_{k}"] for k in keys},
        lift_area={k: ivs[f"lift_area_{k}"] for k in keys},
        area_auc=weighted_roc_auc(a, pos, neg),
        area_gain={k: float(v) for k, v in zip(keys, area_gain, strict=True)},
        curve={
            "x": [round(float(v), 4) for v in grid],
            "y": [round(float(v), 6) for v in curve_y],
            "area_y": [round(float(v), 6) for v in curve_area],
        },
        n_boot=n_boot,
        seed=seed,
        resampled="items" if groups is None else "blocks",
    )
