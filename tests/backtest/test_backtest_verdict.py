"""Plain-words verdicts carry the measured figures and say when chance is not ruled out."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from minemap.backtest.scoring import score_ranking
from minemap.backtest.verdict import (
    KINDS,
    outside_facts,
    overfitting_facts,
    render,
    unknown_devices_facts,
    verdict,
    verdict_facts,
)


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


# --- structured statements, one formatter per language ------------------------------------

_EN_NUM = re.compile(r"\d(?:\d|,(?=\d{3}))*(?:\.\d+)?")
_UK_NUM = re.compile(r"\d(?:\d|\u00a0(?=\d{3}))*(?:,\d+)?")


def numbers(text: str, lang: str) -> list[float]:
    if lang == "en":
        return [float(m.replace(",", "")) for m in _EN_NUM.findall(text)]
    return [float(m.replace("\u00a0", "").replace(",", ".")) for m in _UK_NUM.findall(text)]


def _verdict(relation: str, *, auc: bool = True, lift_area: bool = True, top: str = "25"):
    return {
        "kind": "verdict",
        "name": "default weights",
        "outcome": "findings",
        "top": top,
        "gain": {"estimate": 0.613, "low": 0.52, "high": 0.704},
        "lift_random": 2.452,
        "lift_area": 1.31 if lift_area else None,
        "relation": relation,
        "auc": {"estimate": 0.7134, "low": 0.6012, "high": 0.8049} if auc else None,
        "n_items_with_outcome": 1234,
        "n_items": 12345,
    }


STATEMENTS = [
    _verdict("better"),
    _verdict("chance", lift_area=False),
    _verdict("worse", auc=False, top="10"),
    {**_verdict("better", top="50"), "outcome": "harm", "name": "weights chosen by block CV"},
    {"kind": "nothing", "name": "default weights", "outcome": "harm"},
    {"kind": "nothing", "name": "default weights", "outcome": "findings"},
    overfitting_facts(["a", "b"], cross_validated=False),
    overfitting_facts(["a", "b", "c", "d", "e"], cross_validated=True),
    outside_facts("findings", 0.3049),
    outside_facts("harm", 0.89),
    unknown_devices_facts(1234),
]


def test_every_known_kind_is_covered():
    assert {s["kind"] for s in STATEMENTS} == set(KINDS)


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s["kind"])
def test_both_languages_carry_the_same_numbers(statement):
    en, uk = render(statement, "en"), render(statement, "uk")
    assert en != uk
    assert numbers(en, "en") == numbers(uk, "uk")
    if statement["kind"] != "nothing":
        assert numbers(en, "en")  # every other statement quotes a figure or a count
    if statement["kind"] == "verdict" and statement["auc"]:
        assert "12,345" in en
        assert "12\u00a0345" in uk
        assert "0.71 (0.60–0.80" in en
        assert "0,71 (0,60–0,80" in uk


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s["kind"])
def test_no_english_word_is_left_in_ukrainian(statement):
    uk = render(statement, "uk")
    # what may stay: the measure's name, CLI options, the tool's name
    rest = re.sub(r"ROC AUC|--[a-z-]+(?:/--[a-z-]+)?|minemap", "", uk)
    assert not re.findall(r"[A-Za-z]{2,}", rest), uk
    assert re.search(r"[а-яіїєґ]{4,}", uk)


def test_verdict_facts_round_trip_through_json_and_match_the_english_sentence():
    rng = np.random.default_rng(3)
    y = (rng.random(200) < 0.3).astype(float)
    score = score_ranking(y + rng.normal(0, 1, 200), np.ones(200), y, n_boot=50, name="x")
    facts = json.loads(json.dumps(verdict_facts(score)))
    assert render(facts, "en", subject="ranking") == verdict(score)
    assert render(facts, "uk", subject="ranking") == verdict(score, lang="uk")
    g = score.gain["25"]
    assert facts["gain"]["estimate"] == g.estimate
    share = 0.25
    expected = "chance" if g.low <= share <= g.high else ("worse" if g.high < share else "better")
    assert facts["relation"] == expected


def test_unknown_kind_or_language_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown statement kind 'bogus'"):
        render({"kind": "bogus"}, "en")
    with pytest.raises(ValueError, match="unsupported report language"):
        render(STATEMENTS[0], "fr")
