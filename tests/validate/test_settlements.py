"""The settlements layer through the real read → validate → store path (library and CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minemap.ingest import ingest_file
from minemap.store import open_store
from tests.conftest import REPO


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        "utf-8",
    )
    return path


def _point(props: dict, lon: float = 36.2, lat: float = 49.9) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def _osm_like() -> list[dict]:
    """An OpenStreetMap/HOT-style place export: osm_id, place, name, name:uk, population."""
    square = [[[36.0, 49.0], [36.02, 49.0], [36.02, 49.02], [36.0, 49.02], [36.0, 49.0]]]
    return [
        _point({"osm_id": "n1", "place": "village", "name:uk": "Вільхівка", "population": 1200}),
        _point({"osm_id": "n2", "place": "хутір", "name:uk": "Тихе", "population": "35"}, 36.3),
        {
            "type": "Feature",
            "properties": {"osm_id": "r3", "place": "місто", "population": 48000, "is_in": "x"},
            "geometry": {"type": "Polygon", "coordinates": square},
        },
    ]


def test_an_osm_like_place_export_is_accepted_and_mapped(tmp_path: Path) -> None:
    path = _write(tmp_path / "places.geojson", _osm_like())
    store = tmp_path / "s.gpkg"
    result = ingest_file(path, "settlements", store=store)
    assert result.status == "accepted", [str(e) for e in result.report.errors]
    mapping = result.report.column_mapping
    assert mapping["osm_id"] == "settlement_id"
    assert mapping["place"] == "settlement_type"
    assert mapping["name:uk"] == "name"
    with open_store(store) as st:
        got = st.read_layer("settlements")
    assert got["settlement_id"].tolist() == ["n1", "n2", "r3"]
    assert got["settlement_type"].tolist() == ["village", "hamlet", "city"]
    assert got["name"].tolist()[:2] == ["Вільхівка", "Тихе"]
    assert got["population"].tolist() == [1200, 35, 48000]
    assert list(got.geometry.geom_type) == ["Point", "Point", "MultiPolygon"]


def test_bad_settlements_file_names_file_feature_and_field(tmp_path: Path) -> None:
    features = [
        _point({"settlement_id": "S-1", "population": -5}),  # negative
        _point({"settlement_id": "S-2", "population": "many"}),  # not a number
        _point({"settlement_id": "S-3"}),  # population missing (required)
        _point({"settlement_id": "S-4", "population": 10, "settlement_type": "metropolis"}),
        _point({"settlement_id": "S-4", "population": 10}),  # duplicate id
        _point({"settlement_id": "S-6", "population": 10, "population_year": 1066}),
        {
            "type": "Feature",
            "properties": {"settlement_id": "S-7", "population": 10},
            "geometry": {"type": "LineString", "coordinates": [[36.0, 49.0], [36.1, 49.1]]},
        },
    ]
    path = _write(tmp_path / "bad_places.geojson", features)
    store = tmp_path / "s.gpkg"
    result = ingest_file(path, "settlements", store=store)
    assert result.status == "rejected"
    report = result.report
    assert report.file == "bad_places.geojson"
    by_field = {}
    for e in report.errors:
        by_field.setdefault(e.field, []).append(e.feature)
    assert any("S-1" in f for f in by_field["population"])
    assert any("S-2" in f for f in by_field["population"])
    assert any("S-3" in f for f in by_field["population"])
    assert any("S-4" in f for f in by_field["settlement_type"])
    assert any("S-4" in f for f in by_field["settlement_id"])  # the duplicate
    assert any("S-6" in f for f in by_field["population_year"])
    assert any("S-7" in f for f in by_field["geometry"])
    assert all(e.problem for e in report.errors)
    # all or nothing: nothing was stored
    with open_store(store) as st:
        assert st.counts()["settlements"] == 0


@pytest.mark.parametrize(
    ("raw", "want"),
    [("Село", "village"), ("смт", "town"), ("City", "city"), ("hamlet", "hamlet")],
)
def test_settlement_type_aliases(tmp_path: Path, raw: str, want: str) -> None:
    path = _write(tmp_path / "p.geojson", [_point({"id": "P1", "population": 3, "type": raw})])
    result = ingest_file(path, "settlements", dry_run=True)
    assert result.status == "accepted", [str(e) for e in result.report.errors]
    assert result.frame["settlement_type"].tolist() == [want]


def test_cli_ingest_layer_settlements(tmp_path: Path) -> None:
    path = _write(tmp_path / "places.geojson", _osm_like())
    store = tmp_path / "cli.gpkg"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MINEMAP_STORE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "minemap",
            "ingest",
            str(path),
            "--layer",
            "settlements",
            "--store",
            str(store),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with open_store(store) as st:
        assert st.counts()["settlements"] == 3
