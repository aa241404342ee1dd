"""Plain-words verdicts and warnings a planner can read out loud, in English or Ukrainian.

"The top quarter of the ranked hazard area held 61 % (52–70 %) of later findings,
2.4× random." Every figure comes with its interval, and the verdict says so plainly when
the interval does not rule out a random order, or when nothing happened to judge by.

Verdicts and warnings are first built as **statements**: plain dicts with a ``kind`` and
the numbers (:func:`verdict_facts`, :func:`overfitting_facts`, :func:`outside_facts`,
:func:`unknown_devices_facts`), JSON-able and language-free. :func:`render` turns one into
a sentence through one formatter per language (:data:`FORMATTERS`); Ukrainian numbers use
the reports' formatter (decimal comma, no-break spaces: ``0,71``, ``2,4×``).

Statement kinds
---------------
``verdict``
    ``name``, ``outcome``, ``top`` (``"25"``), ``gain`` (estimate/low/high), ``lift_random``,
    ``lift_area`` (None if area alone found nothing), ``relation`` (``"chance"``: the
    interval holds the random share; ``"worse"``: wholly below it; ``"better"``), ``auc``
    (estimate/low/high or None), ``n_items_with_outcome``, ``n_items``.
``nothing``
    ``name``, ``outcome``: no outcome inside the ranked area.
``overfitting``
    ``n`` weight sets compared on the reported period; ``cross_validated``.
``outside``
    ``outcome`` and ``share`` of it that lay outside every ranked task.
``unknown_devices``
    ``n`` later releases without a ``devices_found`` figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from minemap.backtest.scoring import RankingScore
from minemap.reports.i18n import check_lang, format_number

__all__ = [
    "FORMATTERS",
    "KINDS",
    "OUTCOME_WORDS",
    "Formatter",
    "outside_facts",
    "overfitting_facts",
    "ranking_name",
    "render",
    "share_words",
    "unknown_devices_facts",
    "verdict",
    "verdict_facts",
]

KINDS = ("verdict", "nothing", "overfitting", "outside", "unknown_devices")
"""The statement kinds every formatter can render."""

OUTCOME_WORDS: dict[str, str] = {
    "findings": "the area where devices were later found",
    "harm": "later casualty incidents",
}
"""How each outcome is named in an English sentence; other names are used as they are."""

_SHARE_WORDS = {"10": "top tenth", "25": "top quarter", "50": "top half"}


def share_words(key: str) -> str:
    """``"25"`` → ``"top quarter"``; other shares → ``"top 30 %"``."""
    return _SHARE_WORDS.get(key, f"top {key} %")


def _iv(iv: Any) -> dict[str, float]:
    return {"estimate": float(iv.estimate), "low": float(iv.low), "high": float(iv.high)}


# --- statements (language-free) ------------------------------------------------------------


def verdict_facts(score: RankingScore, *, top: str = "25") -> dict[str, Any]:
    """The verdict on ``score`` as a statement (kind ``verdict`` or ``nothing``).

    Parameters
    ----------
    score : RankingScore
    top : str
        Which share of ranked area to speak about (a key of ``score.gain``).

    Returns
    -------
    dict
        JSON-able; see the module docstring for the fields.

    Raises
    ------
    ValueError
        ``top`` is not one of the score's shares.
    """
    if not score.evaluable:
        return {"kind": "nothing", "name": score.name, "outcome": score.outcome}
    if top not in score.gain:
        raise ValueError(f"no gain at top {top} %; available: {', '.join(score.gain)}")
    g = score.gain[top]
    share = float(top) / 100.0
    if g.low <= share <= g.high:
        relation = "chance"
    elif g.high < share:
        relation = "worse"
    else:
        relation = "better"
    la = float(score.lift_area[top].estimate)
    auc = score.auc
    return {
        "kind": "verdict",
        "name": score.name,
        "outcome": score.outcome,
        "top": top,
        "gain": _iv(g),
        "lift_random": float(score.lift_random[top].estimate),
        "lift_area": la if math.isfinite(la) else None,
        "relation": relation,
        "auc": _iv(auc) if math.isfinite(auc.estimate) else None,
        "n_items_with_outcome": int(score.n_items_with_outcome),
        "n_items": int(score.n_items),
    }


def overfitting_facts(names: Sequence[str], *, cross_validated: bool) -> dict[str, Any] | None:
    """The over-fitting warning when several weight sets are compared on one period."""
    if len(names) < 2:
        return None
    return {"kind": "overfitting", "n": len(names), "cross_validated": bool(cross_validated)}


def outside_facts(outcome: str, share: float) -> dict[str, Any]:
    """``share`` of the later ``outcome`` lay outside every ranked task."""
    return {"kind": "outside", "outcome": outcome, "share": float(share)}


def unknown_devices_facts(n: int) -> dict[str, Any]:
    """``n`` later releases do not say how many devices were found."""
    return {"kind": "unknown_devices", "n": int(n)}


# --- formatters ----------------------------------------------------------------------------


class Formatter:
    """Renders statements in English; :class:`UkrainianFormatter` overrides the words."""

    lang = "en"
    subjects: ClassVar[Mapping[str, str]] = {}
    names: ClassVar[Mapping[str, str]] = {}

    def num(self, value: float, decimals: int = 0) -> str:
        return format_number(value, self.lang, decimals=decimals)

    def pct(self, value: float) -> str:
        return f"{self.num(value * 100)} %"

    def times(self, value: float) -> str:
        return f"{self.num(value, 1)}×"

    def name(self, name: str) -> str:
        return self.names.get(name, name)

    def subject(self, subject: str) -> str:
        return self.subjects.get(subject, subject)

    def render(self, s: Mapping[str, Any], *, subject: str) -> str:
        kind = s.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown statement kind {kind!r}; known: {', '.join(KINDS)}")
        return getattr(self, f"_{kind}")(s, subject)

    # English words
    def _what(self, outcome: str) -> str:
        return OUTCOME_WORDS.get(outcome, outcome)

    def _nothing(self, s, subject) -> str:
        what = {
            "findings": "released land with devices found",
            "harm": "casualty incidents",
        }.get(s["outcome"], s["outcome"])
        return (
            f"{self.name(s['name'])}: nothing to judge by — no {what} inside the ranked area "
            "in the outcome period."
        )

    def _verdict(self, s, subject) -> str:
        g, share = s["gain"], float(s["top"]) / 100.0
        words = (
            f"{self.name(s['name'])}: the {share_words(s['top'])} of the "
            f"{self.subject(subject)} held {self.pct(g['estimate'])} "
            f"({self.num(g['low'] * 100)}–{self.pct(g['high'])}) of {self._what(s['outcome'])}, "
            f"{self.times(s['lift_random'])} random"
        )
        if s["lift_area"] is not None:
            words += f" and {self.times(s['lift_area'])} ranking by area alone"
        words += "."
        if s["relation"] == "chance":
            words += (
                " The interval includes what a random order would give "
                f"({self.pct(share)}): this is no evidence that the ranking beats chance."
            )
        elif s["relation"] == "worse":
            words += f" That is worse than a random order ({self.pct(share)})."
        a = s["auc"]
        if a is not None:
            words += (
                f" ROC AUC {self.num(a['estimate'], 2)} ({self.num(a['low'], 2)}–"
                f"{self.num(a['high'], 2)}; {self.num(0.5, 1)} = random, 1 = perfect), from "
                f"{self.num(s['n_items_with_outcome'])} of {self.num(s['n_items'])} items "
                "with the outcome."
            )
        return words

    def _overfitting(self, s, subject) -> str:
        text = (
            f"{s['n']} weight sets were compared on the same period that is reported: the "
            "best of them looks better here than it will on new ground, because it was chosen "
            "for this period. Confirm the choice on a later period (another --as-of/--until)"
        )
        if s["cross_validated"]:
            return text + (
                "; the 'chosen by block CV' figure below picks the weights without the block "
                "it is scored on and is the fairer estimate."
            )
        return text + " or with spatial blocks (--blocks)."

    def _outside(self, s, subject) -> str:
        what = {"findings": "found area", "harm": "casualty incidents"}.get(
            s["outcome"], s["outcome"]
        )
        return (
            f"{self.pct(s['share'])} of later {what} lay outside every ranked task: "
            "the ranking cannot take credit for it (no hazard was mapped there)."
        )

    def _unknown_devices(self, s, subject) -> str:
        return (
            f"{self.num(s['n'])} later release(s) do not say how many devices were found: "
            "left out of the findings."
        )


def _uk_plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


class UkrainianFormatter(Formatter):
    """Ukrainian words; numbers with a decimal comma (``0,71``) and no-break spaces."""

    lang = "uk"
    subjects: ClassVar[Mapping[str, str]] = {
        "ranking": "рейтингу",
        "ranked hazard area": "ранжованої небезпечної площі",
        "ranked cells": "ранжованих клітинок",
    }
    names: ClassVar[Mapping[str, str]] = {
        "default weights": "стандартні ваги",
        "weights chosen by block CV": "ваги, вибрані блоковою крос-валідацією",
        "minemap default weights (out of fold)": "стандартні ваги minemap (поза фолдом)",
        "minemap default weights (all incidents)": "стандартні ваги minemap (усі події)",
    }
    _shares: ClassVar[dict[str, str]] = {
        "10": "верхня десята частина",
        "25": "верхня чверть",
        "50": "верхня половина",
    }
    _whats: ClassVar[dict[str, str]] = {
        "findings": "площі, де згодом знайшли вибухонебезпечні предмети",
        "harm": "пізніших подій з постраждалими",
        "lifted minefields": "знятих мінних полів",
    }

    def pct(self, value: float) -> str:
        return f"{self.num(value * 100)}\u00a0%"

    def _what(self, outcome: str) -> str:
        return self._whats.get(outcome, outcome)

    def _nothing(self, s, subject) -> str:
        return (
            f"{self.name(s['name'])}: немає з чим порівняти — у ранжованій площі за період "
            f"оцінювання немає {self._what(s['outcome'])}."
        )

    def _verdict(self, s, subject) -> str:
        g, share = s["gain"], float(s["top"]) / 100.0
        top = self._shares.get(s["top"], f"верхні {s['top']}\u00a0%")
        words = (
            f"{self.name(s['name'])}: {top} {self.subject(subject)} охопила "
            f"{self.pct(g['estimate'])} ({self.num(g['low'] * 100)}–{self.pct(g['high'])}) "
            f"{self._what(s['outcome'])}, {self.times(s['lift_random'])} від випадкового порядку"
        )
        if s["lift_area"] is not None:
            words += f" і {self.times(s['lift_area'])} від ранжування лише за площею"
        words += "."
        if s["relation"] == "chance":
            words += (
                " Інтервал містить те, що дав би випадковий порядок "
                f"({self.pct(share)}): це не доводить, що рейтинг кращий за випадковість."
            )
        elif s["relation"] == "worse":
            words += f" Це гірше за випадковий порядок ({self.pct(share)})."
        a = s["auc"]
        if a is not None:
            words += (
                f" ROC AUC {self.num(a['estimate'], 2)} ({self.num(a['low'], 2)}–"
                f"{self.num(a['high'], 2)}; {self.num(0.5, 1)} — випадковий порядок, 1 — "
                f"ідеальний), за {self.num(s['n_items_with_outcome'])} з "
                f"{self.num(s['n_items'])} об'єктів, де результат спостерігався."
            )
        return words

    def _overfitting(self, s, subject) -> str:
        n = int(s["n"])
        sets = _uk_plural(n, "набір", "набори", "наборів")
        text = (
            f"{n} {sets} ваг порівняно на тому самому періоді, за який подано результати: "
            "найкращий з них тут виглядає кращим, ніж буде на новій території, бо його "
            "вибрано саме для цього періоду. Перевірте вибір на пізнішому періоді (інші "
            "--as-of/--until)"
        )
        if s["cross_validated"]:
            return text + (
                "; показник «ваги, вибрані блоковою крос-валідацією» нижче вибирає ваги без "
                "блоку, на якому їх оцінено, і є чеснішою оцінкою."
            )
        return text + " або просторовими блоками (--blocks)."

    def _outside(self, s, subject) -> str:
        what = {
            "findings": "площі, де пізніше знайшли предмети,",
            "harm": "пізніших подій з постраждалими",
        }.get(s["outcome"], s["outcome"])
        return (
            f"{self.pct(s['share'])} {what} лежало поза всіма ранжованими завданнями: "
            "рейтинг не може приписати це собі (там не було нанесено небезпеки)."
        )

    def _unknown_devices(self, s, subject) -> str:
        n = int(s["n"])
        releases = _uk_plural(n, "пізнішого звільнення", "пізніших звільнень", "пізніших звільнень")
        return (
            f"Для {self.num(n)} {releases} не вказано, скільки предметів знайдено: "
            "їх не враховано в знахідках."
        )


FORMATTERS: dict[str, Formatter] = {"en": Formatter(), "uk": UkrainianFormatter()}
"""One formatter per language."""


def render(
    statement: Mapping[str, Any], lang: str = "en", *, subject: str = "ranked hazard area"
) -> str:
    """One statement (verdict or warning) as a sentence in ``lang`` (``en`` or ``uk``).

    Parameters
    ----------
    statement : mapping
        From :func:`verdict_facts`, :func:`overfitting_facts`, :func:`outside_facts` or
        :func:`unknown_devices_facts` (or the same dict read back from JSON).
    lang : str
    subject : str
        What was ranked, e.g. ``"ranked hazard area"`` (known subjects are translated).

    Returns
    -------
    str
    """
    return FORMATTERS[check_lang(lang)].render(statement, subject=subject)


def ranking_name(name: str, lang: str = "en") -> str:
    """A ranking's name in ``lang``: the engine's own names (``"default weights"``,
    ``"weights chosen by block CV"``) are translated, a weight file's name is kept."""
    return FORMATTERS[check_lang(lang)].name(name)


def verdict(
    score: RankingScore, *, top: str = "25", subject: str = "ranking", lang: str = "en"
) -> str:
    """One or two sentences on how ``score``'s ranking did.

    Parameters
    ----------
    score : RankingScore
    top : str
        Which share of ranked area to speak about (a key of ``score.gain``).
    subject : str
        What was ranked, e.g. ``"ranked hazard area"``.
    lang : str
        ``en`` or ``uk``.

    Returns
    -------
    str

    Examples
    --------
    The figures come straight from the score; see ``tests/backtest`` for full cases.
    """
    return render(verdict_facts(score, top=top), lang, subject=subject)
