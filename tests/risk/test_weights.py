from __future__ import annotations

import pytest

from minemap._errors import ConfigError
from minemap.risk.weights import COMPONENTS, default_weights, load_weights, parse_weights

GOOD = """
version = "2025.1"
name = "test-set"
[weights]
casualty_risk = 3
expected_items = 2
evidence_strength = 1
farmland_impact = 1
cost_per_ha = 0
"""


def test_default_weights_are_valid_and_versioned():
    w = default_weights()
    assert w.version
    assert w.name == "minemap-default"
    assert set(w.weights) == set(COMPONENTS)
    assert all(v >= 0 for v in w.weights.values())
    assert w.total > 0
    # Lives first: the two lives components outweigh farmland and cost together.
    lives = w.weights["casualty_risk"] + w.weights["expected_items"]
    assert lives > w.weights["farmland_impact"] + w.weights["cost_per_ha"]
    # Cost can never overturn CHA > SHA (strength gap 1.0 - 0.4 times its weight).
    gap = w.evidence_strength["CHA"] - w.evidence_strength["SHA"]
    assert w.weights["cost_per_ha"] < gap * w.weights["evidence_strength"]


def test_user_file_is_read(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    w = load_weights(path)
    assert w.weights["casualty_risk"] == 3.0
    assert w.weights["cost_per_ha"] == 0.0
    assert w.version == "2025.1"
    assert w.normalisation == "rank"
    assert w.evidence_strength == default_weights().evidence_strength


def test_hash_depends_on_numbers_not_on_source():
    a = parse_weights(GOOD, source="a.toml")
    b = parse_weights(GOOD.replace("casualty_risk = 3", "casualty_risk = 3.0"), source="b.toml")
    c = parse_weights(GOOD.replace("casualty_risk = 3", "casualty_risk = 4"))
    assert a.sha256 == b.sha256
    assert a.sha256 != c.sha256


def test_three_mistakes_are_reported_together(tmp_path):
    text = """
name = "bad"
[weights]
casualty_risk = -1
expected_items = 2
evidence_strength = 1
farmland_impact = 1
cost_per_ha = 1
lives_saved = 5
"""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_weights(path)
    message = str(info.value)
    assert "bad.toml" in message
    assert "3 problems" in message
    assert "version" in message
    assert "casualty_risk = -1 is negative" in message
    assert "unknown component 'lives_saved'" in message
    assert message.count("\n  - ") == 3


def test_all_zero_and_missing_and_non_numeric():
    text = GOOD.replace("casualty_risk = 3", 'casualty_risk = "high"')
    with pytest.raises(ConfigError, match="not a finite number"):
        parse_weights(text)
    zeros = """version = "1"\nname = "z"\n[weights]\n""" + "\n".join(f"{c} = 0" for c in COMPONENTS)
    with pytest.raises(ConfigError, match="all weights are zero"):
        parse_weights(zeros)
    missing = GOOD.replace("cost_per_ha = 0\n", "")
    with pytest.raises(ConfigError, match="'cost_per_ha' missing"):
        parse_weights(missing)


def test_optional_tables_validated():
    text = GOOD + '[normalisation]\nmethod = "zscore"\n[evidence_strength]\nCHA = 1.5\nUXO = 1\n'
    with pytest.raises(ConfigError) as info:
        parse_weights(text)
    msg = str(info.value)
    assert "zscore" in msg
    assert "CHA = 1.5" in msg
    assert "'UXO'" in msg
    ok = parse_weights(GOOD + '[normalisation]\nmethod = "log-minmax"\n')
    assert ok.normalisation == "log-minmax"


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_weights("version = ", source="x.toml")
    with pytest.raises(ConfigError, match=r"nope\.toml: not found"):
        load_weights(tmp_path / "nope.toml")
