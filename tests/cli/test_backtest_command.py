"""``minemap backtest`` end to end: a real store, a real subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from minemap._report import Report
from minemap.store import open_store
from tests.backtest.test_backtest_evaluate import AS_OF, history, later, merged
from tests.conftest import REPO

# registers the command even before minemap/cli/__init__.py imports it
RUN = "import minemap.cli.backtest; from minemap.cli._app import app; app()"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", RUN, "backtest", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def fill(store_path: Path) -> None:
    st = open_store(store_path)
    for name, frame in merged(history(), later()).items():
        digest = hashlib.sha256(name.encode()).hexdigest()
        st.ingest(
            frame,
            layer=name,
            report=Report(f"{name}.geojson", name),
            file_name=f"{name}.geojson",
            sha256=digest,
        )


def test_backtest_command_writes_json_and_prints_a_verdict(store_path: Path, tmp_path: Path):
    fill(store_path)
    out = tmp_path / "bt.json"
    proc = run("--store", str(store_path), "--as-of", AS_OF, "--n-boot", "50", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "the top quarter of the ranked hazard area held" in proc.stdout
    doc = json.loads(out.read_text(encoding="utf-8"))
    findings = next(s for s in doc["scores"] if s["outcome"] == "findings")
    assert findings["auc"]["estimate"] == 1.0
    assert doc["split"]["history"]["casualties"] == 4
    assert doc["split"]["outcomes"]["cleared"] == 8


def test_backtest_command_refuses_bad_input_without_traceback(store_path: Path, tmp_path: Path):
    fill(store_path)
    proc = run("--store", str(store_path), "--as-of", "2001-01-01")
    assert proc.returncode == 1
    assert "nothing to rank" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run("--store", str(store_path), "--as-of", AS_OF, "--out", str(tmp_path / "x.docx"))
    assert proc.returncode == 2
    assert "x.docx" in proc.stderr


def test_backtest_command_input_lines_follow_lang(store_path: Path, tmp_path: Path):
    """The input summary ("ranking rebuilt from records before …", "outcomes …") and the
    "wrote" line were English under --lang uk; the counts must match the JSON's split."""
    fill(store_path)
    lines: dict[str, list[str]] = {}
    docs = {}
    for lang in ("en", "uk"):
        out = tmp_path / f"bt-{lang}.json"
        proc = run(
            "--store", str(store_path), "--as-of", AS_OF, "--n-boot", "20",
            "--lang", lang, "--out", str(out),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        lines[lang] = proc.stdout.splitlines()
        docs[lang] = json.loads(out.read_text(encoding="utf-8"))
    split = docs["uk"]["split"]
    assert split == docs["en"]["split"]
    # English: unchanged (ISO dates, layer names as in the JSON)
    en = "\n".join(lines["en"])
    history = ", ".join(f"{k} {v}" for k, v in split["history"].items())
    assert f"ranking rebuilt from records before {AS_OF}: {history}" in en
    assert f"outcomes {AS_OF} → now: " in en
    assert f"wrote {tmp_path / 'bt-en.json'}" in en
    # Ukrainian: the same counts, the reports' date format, translated layer names
    uk = "\n".join(lines["uk"])
    for english in ("ranking rebuilt", "outcomes", "wrote", "records before", " now"):
        assert english not in uk
    day = "01.01.2024"
    assert AS_OF == "2024-01-01"
    first = next(line for line in lines["uk"] if line.startswith("рейтинг відтворено"))
    assert first.startswith(f"рейтинг відтворено за записами до {day}: ")
    second = next(line for line in lines["uk"] if line.startswith("результати"))
    assert second.startswith(f"результати {day} → сьогодні: ")
    names = {"hazards": "небезпечні території", "casualties": "події з постраждалими",
             "cleared": "звільнені землі", "strikes": "місця ударів"}  # fmt: skip
    for line, counts in ((first, split["history"]), (second, split["outcomes"])):
        assert counts  # the fixture has records on both sides
        listed = line.split(": ", 1)[1]
        assert listed == ", ".join(f"{names[k]} {v}" for k, v in counts.items())
    assert f"записано {tmp_path / 'bt-uk.json'}" in uk
