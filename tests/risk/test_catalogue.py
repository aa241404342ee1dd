"""Munition catalogue: data file, alias matching (Latin/Cyrillic), validation of user files."""

from __future__ import annotations

import pandas as pd
import pytest

from minemap._errors import ConfigError
from minemap.risk import load_catalogue, match_munition, match_munitions
from minemap.risk.catalogue import fold_text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("9M55K", "9m55k"),
        ("9м55к", "9m55k"),  # Cyrillic м and к
        ("9М55К1 cargo rocket", "9m55k"),
        ("Смерч", "9m55k"),
        ("smerch MLRS", "9m55k"),
        ("Ураган", "9m27k"),
        ("URAGAN 220mm", "9m27k"),
        ("9M27K", "9m27k"),
        ("M26 rocket", "m26"),
        ("155mm DPICM", "m483a1"),
        ("M864 base bleed", "m864"),
        ("РБК-500", "rbk500"),
        ("rbk 500 with PTAB-1M", "rbk500_ptab1m"),
        ("ПТАБ", "rbk500_ptab1m"),
        ("РБК-500 АО-2,5РТ", "rbk500_ao25rt"),
        ("SPBE-D", "rbk500_spbe"),
        ("9M218 Grad", "9m218"),
        ("Iskander-M cluster warhead", "iskander_cluster"),
        ("3-O-23", "3o23"),
        ("M31A1", "m31"),
    ],
)
def test_match_munition_aliases(text, key):
    entry = match_munition(text)
    assert entry is not None, text
    assert entry.key == key


@pytest.mark.parametrize("text", [None, "", "   ", "artillery shell", float("nan")])
def test_unmatched_gives_none(text):
    assert match_munition(text) is None


def test_fold_text_cyrillic_lookalikes():
    assert fold_text("9М55К") == fold_text("9m55k") == "9m55k"


def test_match_munitions_vectorised_keeps_unmatched_rows():
    texts = pd.Series(["Смерч", "mystery rocket", None, "M26"], index=[7, 3, 9, 1])
    out = match_munitions(texts)
    assert list(out.index) == [7, 3, 9, 1]
    assert out["matched"].tolist() == [True, False, False, True]
    assert out.loc[7, "submunitions"] == 72
    assert out.loc[1, "submunitions"] == 644
    assert out.loc[3, "munition_key"] is None
    assert pd.isna(out.loc[3, "dud_rate_low"])


def test_packaged_catalogue_figures_and_sources():
    cat = load_catalogue()
    # figures from DOMAIN.md
    assert cat["9m55k"].submunitions == 72
    assert cat["9m27k"].submunitions == 30
    assert cat["m26"].submunitions == 644
    assert cat["m483a1"].submunitions == 88
    assert cat["m864"].submunitions == 72
    for entry in cat.entries.values():
        assert 0.0 <= entry.dud_rate_low <= entry.dud_rate_high <= 1.0, entry.key
        assert entry.footprint_radius_m > 0
        assert set(entry.source) == {"submunitions", "footprint", "dud_rate"}
        assert all(entry.source.values()), entry.key
        if entry.cluster:  # a range, never one number
            assert entry.dud_rate_low < entry.dud_rate_high, entry.key
    assert not cat.default.cluster
    assert cat.default.submunitions == 0
    assert cat.default_cluster.cluster


def test_user_catalogue_file(tmp_path):
    path = tmp_path / "cat.toml"
    path.write_text(
        """
[munitions.x1]
name = "X1"
aliases = ["Xone"]
cluster = true
submunitions = 10
footprint_radius_m = 80
dud_rate_low = 0.1
dud_rate_high = 0.2
source_submunitions = "test"
source_footprint = "test"
source_dud_rate = "test"

[munitions.default]
name = "d"
aliases = []
cluster = false
submunitions = 0
footprint_radius_m = 50
dud_rate_low = 0.0
dud_rate_high = 0.0
source_submunitions = "t"
source_footprint = "t"
source_dud_rate = "t"

[munitions.default_cluster]
name = "dc"
aliases = []
cluster = true
submunitions = 5
footprint_radius_m = 50
dud_rate_low = 0.0
dud_rate_high = 0.1
source_submunitions = "t"
source_footprint = "t"
source_dud_rate = "t"
""",
        encoding="utf-8",
    )
    cat = load_catalogue(path)
    assert match_munition("XONE strike", catalogue=cat).key == "x1"
    assert match_munition("Smerch", catalogue=cat) is None


def test_invalid_catalogue_lists_every_problem(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        """
[munitions.a]
name = "A"
aliases = ["a"]
cluster = true
submunitions = 10
footprint_radius_m = -5
dud_rate_low = 0.5
dud_rate_high = 0.2
source_submunitions = "x"
source_footprint = "x"
source_dud_rate = "x"
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    message = str(err.value)
    assert "bad.toml" in message
    assert "dud rates" in message
    assert "footprint_radius_m" in message
    assert "default" in message


def test_broken_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[munitions\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml.*not valid TOML"):
        load_catalogue(path)
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "nope.toml")
