"""The CLI contract of ``minemap ingest / layers / export / batches``, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    env.pop("MINEMAP_STORE", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "minemap", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def hazard_feature(hid: str, lon: float, lat: float, **props) -> dict:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {
            "hazard_id": hid,
            "date": "2024-05-01",
            "hazard_type": "CHA",
            "contamination": "AP",
            "evidence": "accident reported by villagers",
            **props,
        },
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write_fc(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_fc(
        tmp_path / "good.geojson",
        [hazard_feature("H-1", 36.1, 49.9), hazard_feature("H-2", 36.3, 49.9, team_note="x")],
    )


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    bad_date = hazard_feature("H-3", 36.1, 49.9, date="03/04/2023")
    outside = hazard_feature("H-4", 10.0, 49.9)
    no_type = hazard_feature("H-5", 36.5, 49.9)
    no_type["properties"]["hazard_type"] = "maybe"
    return write_fc(
        tmp_path / "bad.geojson", [hazard_feature("H-1", 36.1, 49.9), bad_date, outside, no_type]
    )


def test_ingest_accepts_and_reports_json(good_file: Path, store_path: Path) -> None:
    res = run_cli(
        "ingest", str(good_file), "--layer", "hazards", "--store", str(store_path), "--json"
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "accepted"
    assert out["accepted"] == 2
    assert out["file"] == "good.geojson"
    assert out["layer"] == "hazards"
    assert out["batch_id"]
    assert out["errors"] == []
    assert set(out) >= {
        "file",
        "layer",
        "status",
        "accepted",
        "batch_id",
        "repairs",
        "errors",
        "warnings",
    }
    stored = gpd.read_file(store_path, layer="hazards")
    assert sorted(stored["hazard_id"]) == ["H-1", "H-2"]


def test_rejected_file_stores_nothing_and_names_every_problem(
    good_file: Path, bad_file: Path, store_path: Path
) -> None:
    assert (
        run_cli(
            "ingest", str(good_file), "--layer", "hazards", "--store", str(store_path)
        ).returncode
        == 0
    )
    res = run_cli(
        "ingest", str(bad_file), "--layer", "hazards", "--store", str(store_path), "--json"
    )
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "rejected"
    assert out["accepted"] == 0
    assert out["batch_id"] is None
    text = json.dumps(out["errors"])
    for needle in ("H-3", "H-4", "H-5"):
        assert needle in text, (needle, text)
    assert all({"feature", "field", "problem", "fix"} <= set(e) for e in out["errors"])
    assert len(gpd.read_file(store_path, layer="hazards")) == 2
    listed = json.loads(run_cli("batches", "list", "--store", str(store_path), "--json").stdout)
    assert len(listed) == 1


def test_dry_run_writes_nothing(good_file: Path, store_path: Path) -> None:
    res = run_cli(
        "ingest",
        str(good_file),
        "--layer",
        "hazards",
        "--store",
        str(store_path),
        "--dry-run",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["accepted"] == 2
    layers = run_cli("layers", "--store", str(store_path))
    assert layers.returncode == 0
    if store_path.exists():
        assert gpd.read_file(store_path, layer="hazards").empty


def test_reupload_is_refused_with_its_batch(good_file: Path, store_path: Path) -> None:
    first = json.loads(
        run_cli(
            "ingest", str(good_file), "--layer", "hazards", "--store", str(store_path), "--json"
        ).stdout
    )
    res = run_cli(
        "ingest", str(good_file), "--layer", "hazards", "--store", str(store_path), "--json"
    )
    assert res.returncode == 1
    problem = json.loads(res.stdout)["errors"][0]["problem"]
    assert "already imported" in problem
    assert first["batch_id"] in problem
    assert len(gpd.read_file(store_path, layer="hazards")) == 2


def test_usage_errors_exit_2(good_file: Path, store_path: Path) -> None:
    assert (
        run_cli("ingest", str(good_file), "--layer", "mines", "--store", str(store_path)).returncode
        == 2
    )
    assert run_cli("ingest", str(good_file), "--store", str(store_path)).returncode == 2
    res = run_cli(
        "ingest", str(good_file), "--layer", "hazards", "--aoi", "1,2,3", "--store", str(store_path)
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def test_map_option_and_aoi(tmp_path: Path, store_path: Path) -> None:
    feature = hazard_feature("B-1", 18.5, 44.0)
    feature["properties"]["kind"] = feature["properties"].pop("hazard_type")
    path = write_fc(tmp_path / "bosnia.geojson", [feature])
    res = run_cli(
        "ingest", str(path), "--layer", "hazards", "--store", str(store_path), "--json",
        "--map", "kind=hazard_type", "--aoi", "15.7,42.5,19.7,45.3",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["column_mapping"]["kind"] == "hazard_type"


def test_batches_list_undo_and_export(good_file: Path, store_path: Path, tmp_path: Path) -> None:
    out = json.loads(
        run_cli(
            "ingest", str(good_file), "--layer", "hazards", "--store", str(store_path), "--json"
        ).stdout
    )
    listed = json.loads(run_cli("batches", "list", "--store", str(store_path), "--json").stdout)
    assert [b["batch_id"] for b in listed] == [out["batch_id"]]
    exported = tmp_path / "hazards.geojson"
    res = run_cli("export", "hazards", "--out", str(exported), "--store", str(store_path))
    assert res.returncode == 0, res.stderr
    assert sorted(gpd.read_file(exported)["hazard_id"]) == ["H-1", "H-2"]
    res = run_cli(
        "batches", "undo", out["batch_id"], "--store", str(store_path), "--user", "tester"
    )
    assert res.returncode == 0, res.stderr
    assert gpd.read_file(store_path, layer="hazards").empty
    res = run_cli("batches", "undo", "no-such-batch", "--store", str(store_path))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr


def test_map_file_option(tmp_path: Path, store_path: Path) -> None:
    feature = hazard_feature("B-2", 36.2, 49.2)
    feature["properties"]["Kind"] = feature["properties"].pop("hazard_type")
    path = write_fc(tmp_path / "mapped.geojson", [feature])
    mapping = tmp_path / "columns.txt"
    mapping.write_text("Kind=hazard_type\n", "utf-8")
    res = run_cli(
        "ingest", str(path), "--layer", "hazards", "--store", str(store_path), "--json",
        "--map-file", str(mapping),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["column_mapping"]["Kind"] == "hazard_type"
    bad = tmp_path / "bad.txt"
    bad.write_text("Kind hazard_type\n", "utf-8")
    res = run_cli(
        "ingest",
        str(path),
        "--layer",
        "hazards",
        "--store",
        str(store_path),
        "--map-file",
        str(bad),
    )
    assert res.returncode == 2
    message = " ".join(res.stderr.replace("│", " ").split())  # rich draws a wrapped box
    assert "line 1: expected SRC=DST" in message, message
