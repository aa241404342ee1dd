"""``minemap backtest --out x.json`` then ``minemap report --backtest x.json``: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.backtest.test_backtest_evaluate import AS_OF
from tests.cli.test_backtest_command import fill
from tests.conftest import REPO


def minemap(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300", "NO_COLOR": "1"}
    env.pop("MINEMAP_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "minemap", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
    return " ".join(out.decode().split())


@pytest.fixture
def backtest_json(store_path: Path, tmp_path: Path) -> Path:
    fill(store_path)
    out = tmp_path / "x.json"
    proc = minemap(
        "backtest", "--store", str(store_path), "--as-of", AS_OF, "--n-boot", "50",
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_methods_section_summarises_the_backtest(
    store_path: Path, tmp_path: Path, backtest_json: Path
):
    doc = json.loads(backtest_json.read_text(encoding="utf-8"))
    findings = next(s for s in doc["scores"] if s["outcome"] == "findings")
    auc = findings["auc"]
    gain = findings["gain"]["25"]
    as_of = pd.Timestamp(doc["split"]["as_of"])
    for lang, date, auc_text, gain_text in (
        (
            "en",
            f"{as_of.day} {as_of.strftime('%B')} {as_of.year}",
            f"ROC AUC {auc['estimate']:.2f} ({auc['low']:.2f}–{auc['high']:.2f}",
            f"held {gain['estimate'] * 100:.0f} % ({gain['low'] * 100:.0f}–",
        ),
        (
            "uk",
            as_of.strftime("%d.%m.%Y"),
            f"ROC AUC {auc['estimate']:.2f} ({auc['low']:.2f}–{auc['high']:.2f}".replace(".", ","),
            f"охопила {gain['estimate'] * 100:.0f} % ({gain['low'] * 100:.0f}–",
        ),
    ):
        out = tmp_path / f"r_{lang}.pdf"
        proc = minemap(
            "report", "--store", str(store_path), "--backtest", str(backtest_json),
            "--lang", lang, "--out", str(out),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        text = pdf_text(out)
        methods = text[text.index("Methods and data sources" if lang == "en" else "Методи та") :]
        assert date in methods, methods[:800]
        assert auc_text in methods, methods[:1500]
        assert gain_text in methods, methods[:1500]
        if lang == "en":
            assert "ranking was rebuilt as it would have been on" in methods
        else:
            assert "Рейтинг відтворено таким, яким він був би" in methods
    # without --backtest the paragraph is absent
    out = tmp_path / "plain.pdf"
    proc = minemap("report", "--store", str(store_path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "ROC AUC" not in pdf_text(out)


def test_report_refuses_a_file_that_is_not_a_backtest(store_path: Path, tmp_path: Path):
    fill(store_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    proc = minemap(
        "report", "--store", str(store_path), "--backtest", str(bad),
        "--out", str(tmp_path / "r.pdf"),
    )  # fmt: skip
    assert proc.returncode == 1
    assert "minemap backtest --out" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r.pdf").exists()
    bad.write_text("not json", encoding="utf-8")
    proc = minemap(
        "report", "--store", str(store_path), "--backtest", str(bad),
        "--out", str(tmp_path / "r.pdf"),
    )  # fmt: skip
    assert proc.returncode == 1
    assert "bad.json" in proc.stdout + proc.stderr


def test_report_cli_plan_top_option(store_path: Path, tmp_path: Path):
    fill(store_path)
    out = tmp_path / "r.csv"
    args = ("report", "--store", str(store_path), "--from", AS_OF, "--out", str(out))
    proc = minemap(*args, "--plan-top", "3")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text("utf-8-sig")
    assert "Planned tasks,Value,3" in text
    proc = minemap(*args, "--plan-top", "0")
    assert proc.returncode == 0, proc.stderr
    assert "Planned tasks," not in out.read_text("utf-8-sig")
