"""``minemap prioritise`` end to end: a real store, a real subprocess, real output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

from tests.risk._taskframe import synthetic_layers

REPO = Path(__file__).resolve().parents[2]
# Registers the command even before the lead adds it to minemap/cli/__init__.py.
_RUN = "import minemap.cli.prioritise; from minemap.cli import main; main()"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", _RUN, "prioritise", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def filled_store(store_path: Path) -> tuple[Path, dict[str, str]]:
    from minemap._report import Report
    from minemap.store import open_store

    store = open_store(store_path)
    batches = {}
    for name, frame in synthetic_layers().items():
        batches[name] = store.ingest(
            frame.drop(columns="batch_id"),
            layer=name,
            report=Report(file=f"{name}.geojson", layer=name),
            file_name=f"{name}.geojson",
            sha256=f"{name:0<64}"[:64],
        )
    return store_path, batches


def test_prioritise_writes_ranked_tasks_and_run_record(filled_store, tmp_path):
    store_path, batches = filled_store
    out = tmp_path / "plan.gpkg"
    res = _run(
        "--store",
        str(store_path),
        "--out",
        str(out),
        "--as-of",
        "2025-01-01",
        "--top",
        "3",
        "--sensitivity",
    )
    assert res.returncode == 0, res.stderr
    assert "Top 3 of" in res.stdout
    assert "Traceback" not in res.stderr
    tasks = gpd.read_file(out)
    assert tasks["priority_rank"].tolist() == list(range(1, len(tasks) + 1))
    record = json.loads((tmp_path / "plan.run.json").read_text(encoding="utf-8"))
    assert record["as_of"] == "2025-01-01"
    assert record["output"] == "plan.gpkg"
    for name, batch_id in batches.items():
        assert record["inputs"][name]["batch_ids"] == [batch_id]
    assert record["parameters"]["sensitivity"] is True
    assert record["n_tasks"] == len(tasks)


def test_prioritise_reports_every_weights_mistake(filled_store, tmp_path):
    store_path, _ = filled_store
    bad = tmp_path / "w.toml"
    bad.write_text('name = "x"\n[weights]\ncasualty_risk = -1\n', encoding="utf-8")
    res = _run("--store", str(store_path), "--weights", str(bad))
    assert res.returncode == 1
    assert "w.toml" in res.stderr
    assert "version" in res.stderr
    assert "negative" in res.stderr
    assert "Traceback" not in res.stderr


def test_prioritise_refuses_unknown_output_format(filled_store, tmp_path):
    store_path, _ = filled_store
    res = _run("--store", str(store_path), "--out", str(tmp_path / "plan.xlsx"))
    assert res.returncode == 2
    assert "plan.xlsx" in res.stderr
