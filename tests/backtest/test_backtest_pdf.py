"""The back-test PDF: ``minemap backtest --out FILE.pdf`` read back with poppler.

The figures printed in the PDF must be the ones in the JSON of the same run (same store,
seed and options); no victim name, age or exact casualty position may reach it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from minemap._report import Report
from minemap.backtest.evaluate import backtest
from minemap.backtest.pdf import render_pdf
from minemap.store import open_store
from tests.backtest.test_backtest_evaluate import AS_OF, LAT, LON, N, history, merged
from tests.cli.test_backtest_command import run
from tests.conftest import REPO
from tests.reports.test_pdf import inflated_streams, pdf_text, poppler
from tests.risk._fixtures import canonical, metric_box, metric_point

VICTIM = "Zzyzx Testvictim"
AGE = 97
ARTIFACTS = REPO / "artifacts" / "backtest"
# devices found in some hot and some cold hazards; later casualties in tasks 0, 5 and 6:
# the figures are neither perfect nor trivial
DEVICES = [3, 0, 2, 0, 0, 1, 0, 0]
LATER_CASUALTIES = [0, 5, 6]


def later() -> dict[str, gpd.GeoDataFrame]:
    cleared = canonical(
        "cleared",
        [metric_box(LON, LAT, i * 3000 + 100, 100, 300, 300) for i in range(N)],
        survey_id=[f"R{i}" for i in range(N)],
        date=pd.Timestamp("2024-05-01"),
        team="T1",
        operator="Op",
        status="cleared",
        method="manual",
        devices_found=DEVICES,
    )
    casualties = canonical(
        "casualties",
        [metric_point(LON, LAT, i * 3000 + 800, 800) for i in LATER_CASUALTIES],
        incident_id=[f"L{i}" for i in LATER_CASUALTIES],
        date=pd.Timestamp("2024-03-01"),
        killed=0,
        injured=1,
        civilian=True,
    )
    return {"cleared": cleared, "casualties": casualties}


def layers_with_victims() -> dict[str, gpd.GeoDataFrame]:
    layers = merged(history(), later())
    cas = layers["casualties"].copy()
    cas["victim_name"] = VICTIM
    cas["victim_age"] = AGE
    cas["victim_sex"] = "F"
    layers["casualties"] = cas
    return layers


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """One store; JSON, English and Ukrainian PDFs from the same options."""
    tmp = tmp_path_factory.mktemp("btpdf")
    store_path = tmp / "store.gpkg"
    st = open_store(store_path)
    for name, frame in layers_with_victims().items():
        st.ingest(
            frame,
            layer=name,
            report=Report(f"{name}.geojson", name),
            file_name=f"{name}.geojson",
            sha256=hashlib.sha256(name.encode()).hexdigest(),
        )
    common = ["--store", str(store_path), "--as-of", AS_OF, "--n-boot", "60"]
    common += ["--blocks", "2", "--block-km", "3"]
    out = {"json": tmp / "bt.json", "en": tmp / "bt_en.pdf", "uk": tmp / "bt_uk.pdf"}
    printed = {}
    for key, path in out.items():
        lang = ["--lang", key] if key != "json" else []
        proc = run(*common, *lang, "--out", str(path))
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        printed[key] = proc.stdout
    return {**out, "stdout": printed}


def flat(text: str) -> str:
    return " ".join(text.split())


def pct_iv(iv: dict) -> str:
    return f"{iv['estimate'] * 100:.0f} % ({iv['low'] * 100:.0f}–{iv['high'] * 100:.0f})"


def num_iv(iv: dict, d: int = 2) -> str:
    return f"{iv['estimate']:.{d}f} ({iv['low']:.{d}f}–{iv['high']:.{d}f})"


def uk(text: str) -> str:
    return text.replace(".", ",")


def test_pdf_figures_equal_the_json_of_the_same_run(outputs, tmp_path):
    doc = json.loads(outputs["json"].read_text("utf-8"))
    text = flat(pdf_text(outputs["en"].read_bytes(), tmp_path))
    assert "1 January 2024" in text
    scores = doc["scores"]
    assert {s["outcome"] for s in scores} == {"findings", "harm"}
    for s in scores:
        assert num_iv(s["auc"]) in text, s["name"]
        for k in ("10", "25", "50"):
            assert pct_iv(s["gain"][k]) in text, (s["outcome"], k)
        # lifts: estimate over its interval in a two-line cell
        for k in ("10", "25", "50"):
            for lift in (s["lift_random"][k], s["lift_area"][k]):
                if lift["estimate"] is not None:
                    assert f"{lift['estimate']:.1f}" in text
                    assert f"({lift['low']:.1f}–{lift['high']:.1f})" in text
        assert f"{s['area_auc']:.2f}" in text
    # not trivially perfect: the fixture was chosen so
    assert {round(s["auc"]["estimate"], 2) for s in scores} - {0.0, 1.0}
    # what was ranked: weights hash (wrapped in its cell: check its head) and batch ids
    rec = doc["run_records"]["default weights"]
    assert rec["weights"]["sha256"][:24] in text.replace(" ", "")
    for batch in rec["inputs"]["hazards"]["batch_ids"]:
        assert batch[:12] in text.replace(" ", "")
    # verdicts rendered from the same statements as the JSON's English sentences
    for sentence in doc["verdicts"]:
        assert flat(sentence) in text
    for warning in doc["warnings"]:
        assert flat(warning) in text
    # the block hold-out figures
    assert "Spatial block hold-out" in text
    blocks = doc["blocks"]
    assert f"{blocks['n_blocks']} blocks" in text
    for fold in blocks["folds"]:
        for fig in fold["figures"]:
            if fig["auc"] is not None:
                assert f"{fig['auc']:.2f}" in text
    assert "How to read this" in text


def test_ukrainian_pdf_has_the_same_figures_with_a_decimal_comma(outputs, tmp_path):
    doc = json.loads(outputs["json"].read_text("utf-8"))
    text = flat(pdf_text(outputs["uk"].read_bytes(), tmp_path))
    assert "Ретроспективна перевірка" in text
    assert "01.01.2024" in text
    for s in doc["scores"]:
        assert uk(num_iv(s["auc"])) in text
        assert pct_iv(s["gain"]["25"]) in text
    assert "Як це читати" in text
    for english in ("the top quarter", "random order", "How to read", "nothing to judge"):
        assert english not in text


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_no_victim_data_in_the_pdf(lang, outputs, tmp_path):
    """Through the store (personal fields not read) and in-process with them present."""
    layers = layers_with_victims()
    direct = render_pdf(backtest(layers, as_of=AS_OF, n_boot=20), lang=lang)
    cas = layers["casualties"].geometry
    for data in (outputs[lang].read_bytes(), direct):
        text = pdf_text(data, tmp_path)
        for blob in (text, inflated_streams(data), data.decode("latin-1")):
            assert VICTIM not in blob
            assert "Zzyzx" not in blob
            assert f" {AGE} " not in f" {' '.join(blob.split())} "
            for pt in cas:
                assert f"{pt.x:.4f}" not in blob
                assert f"{pt.y:.4f}" not in blob


def test_pdf_metadata_and_page_one_rendered(outputs, tmp_path):
    info = subprocess.run(
        [poppler("pdfinfo"), str(outputs["en"])], capture_output=True, text=True, check=True
    ).stdout
    assert "Author:          minemap" in info
    assert "Back-test of the priority ranking" in info
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "uk"):
        stem = ARTIFACTS / f"backtest-{lang}-page1"
        subprocess.run(
            [
                poppler("pdftoppm"),
                "-r",
                "70",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(outputs[lang]),
                str(stem),
            ],
            check=True,
        )
        png = stem.with_suffix(".png")
        assert png.stat().st_size > 20_000  # a page with text and two charts, not blank


def test_a_non_backtest_mapping_is_refused_clearly():
    with pytest.raises(ValueError, match="not a back-test result"):
        render_pdf({"title": "x"})


def test_cli_prints_the_verdicts_in_the_chosen_language(outputs):
    doc = json.loads(outputs["json"].read_text("utf-8"))
    en, uk_out = outputs["stdout"]["en"], outputs["stdout"]["uk"]
    assert flat(doc["verdicts"][0]).split(",")[0] in flat(en)
    assert "стандартні ваги: верхня чверть ранжованої небезпечної площі охопила" in flat(uk_out)
    assert "the top quarter" not in uk_out
    # the console table too: Ukrainian headings, decimal comma
    assert "Порівняння" in uk_out
    auc = next(x for x in doc["scores"] if x["outcome"] == "findings")["auc"]["estimate"]
    assert f"{auc:.2f}".replace(".", ",") in uk_out
    assert f"{auc:.2f}" in en


def test_a_period_where_nothing_happened_still_renders_and_says_so(tmp_path):
    result = backtest(history(), as_of=AS_OF, n_boot=20)
    for lang, words in (("en", "Nothing happened inside the ranked area"), ("uk", "нічого")):
        text = flat(pdf_text(render_pdf(result, lang=lang), tmp_path, f"{lang}.pdf"))
        assert words in text
        assert ("nothing to judge by" in text) == (lang == "en")
