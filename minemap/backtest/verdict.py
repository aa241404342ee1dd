"""Plain-words verdicts a planner can read out loud.

"The top quarter of the ranked hazard area held 61 % (52–70 %) of later findings,
2.4× random." Every figure comes with its interval, and the verdict says so plainly when
the interval does not rule out a random order, or when nothing happened to judge by.
"""

from __future__ import annotations

import math

from minemap.backtest.scoring import RankingScore

__all__ = ["OUTCOME_WORDS", "share_words", "verdict"]

OUTCOME_WORDS: dict[str, str] = {
    "findings": "the area where devices were later found",
    "harm": "later casualty incidents",
}
"""How each outcome is named in a sentence; other names are used as they are."""

_SHARE_WORDS = {"10": "top tenth", "25": "top quarter", "50": "top half"}


def share_words(key: str) -> str:
    """``"25"`` → ``"top quarter"``; other shares → ``"top 30 %"``."""
    return _SHARE_WORDS.get(key, f"top {key} %")


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def _times(value: float) -> str:
    return f"{value:.1f}×"


def verdict(score: RankingScore, *, top: str = "25", subject: str = "ranking") -> str:
    """One or two sentences on how ``score``'s ranking did.

    Parameters
    ----------
    score : RankingScore
    top : str
        Which share of ranked area to speak about (a key of ``score.gain``).
    subject : str
        What was ranked, e.g. ``"ranked hazard area"``.

    Returns
    -------
    str

    Examples
    --------
    The figures come straight from the score; see ``tests/backtest`` for full cases.
    """
    what = OUTCOME_WORDS.get(score.outcome, score.outcome)
    if not score.evaluable:
        return (
            f"{score.name}: nothing to judge by — no {what} inside the ranked area in the "
            "outcome period."
        )
    if top not in score.gain:
        raise ValueError(f"no gain at top {top} %; available: {', '.join(score.gain)}")
    g = score.gain[top]
    lift = score.lift_random[top]
    share = float(top) / 100.0
    words = (
        f"{score.name}: the {share_words(top)} of the {subject} held {_pct(g.estimate)} "
        f"({g.low * 100:.0f}–{_pct(g.high)}) of {what}, {_times(lift.estimate)} random"
    )
    la = score.lift_area[top]
    if math.isfinite(la.estimate):
        words += f" and {_times(la.estimate)} ranking by area alone"
    words += "."
    if g.low <= share <= g.high:
        words += (
            " The interval includes what a random order would give "
            f"({_pct(share)}): this is no evidence that the ranking beats chance."
        )
    elif g.high < share:
        words += f" That is worse than a random order ({_pct(share)})."
    auc = score.auc
    if math.isfinite(auc.estimate):
        words += (
            f" ROC AUC {auc.estimate:.2f} ({auc.low:.2f}–{auc.high:.2f}; 0.5 = random, "
            f"1 = perfect), from {score.n_items_with_outcome} of {score.n_items} items "
            "with the outcome."
        )
    return words
