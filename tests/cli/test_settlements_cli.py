"""Settlements through the command line: ingest and export (points and outlines,
populations exact); demo + prioritise counts people."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minemap.io import read_upload
from minemap.store import open_store
from tests.conftest import REPO

DEMO = REPO / "minemap" / "data" / "demo"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MINEMAP_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "minemap", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_ingest_then_export_keeps_every_settlement(tmp_path: Path, suffix: str) -> None:
    store = tmp_path / "a.gpkg"
    done = _cli("ingest", str(DEMO / "settlements.geojson"), "--layer", "settlements",
                "--store", str(store))  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / f"settlements{suffix}"
    done = _cli("export", "settlements", "--store", str(store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    with open_store(store) as st:
        stored = st.read_layer("settlements")
    back = read_upload(out).frame
    assert len(stored) == len(back) == 40
    assert back["settlement_id"].astype(str).tolist() == stored["settlement_id"].tolist()
    assert back["population"].astype(int).tolist() == stored["population"].tolist()
    assert back["settlement_type"].astype(str).tolist() == stored["settlement_type"].tolist()
    # points and outlines, coordinates exact
    assert back.geometry.geom_equals_exact(stored.geometry, tolerance=0).all()


def test_prioritise_on_the_demo_counts_people(tmp_path: Path) -> None:
    store = tmp_path / "demo.gpkg"
    done = _cli("demo", "--store", str(store), "--load-only")
    assert done.returncode == 0, done.stderr
    assert "settlements" in done.stdout
    out = tmp_path / "plan.csv"
    done = _cli("prioritise", "--store", str(store), "--as-of", "2025-03-01", "--out", str(out))
    assert done.returncode == 0, done.stderr
    import pandas as pd

    plan = pd.read_csv(out)
    assert (plan["people_exposed"] > 0).sum() > 10
    assert plan["contrib_people_exposed"].max() > 0
    record = json.loads((tmp_path / "plan.run.json").read_text(encoding="utf-8"))
    assert record["parameters"]["people_exposed"]["counted"] is True
    assert record["parameters"]["people_exposed"]["n_settlements"] == 40
    assert record["inputs"]["settlements"]["n_records"] == 40
    assert "people exposed: 40 settlement(s), within 2000 m" in done.stdout
    # a shorter reach counts fewer people, and the record says which reach was used
    near = tmp_path / "near.csv"
    done = _cli("prioritise", "--store", str(store), "--as-of", "2025-03-01", "--out", str(near),
                "--exposure-distance", "500")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(near)["people_exposed"].sum() < plan["people_exposed"].sum()
    record = json.loads((tmp_path / "near.run.json").read_text(encoding="utf-8"))
    assert record["parameters"]["people_exposed"]["exposure_distance_m"] == 500


def test_cli_default_reach_is_the_library_default() -> None:
    import inspect

    from minemap.cli.prioritise import prioritise_command
    from minemap.risk.exposure import EXPOSURE_DISTANCE_M

    default = inspect.signature(prioritise_command).parameters["exposure_distance"].default
    assert default == EXPOSURE_DISTANCE_M
