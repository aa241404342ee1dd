"""The ingestion pipeline as a library call: read → validate → store, all or nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from minemap.ingest import ingest_file, parse_mapping
from minemap.store import open_store


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _hazard(hid: str, coords: list) -> dict:
    props = {"hazard_id": hid, "date": "2024-01-01", "hazard_type": "SHA", "contamination": "AP"}
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": coords},
    }


SQUARE = [[[36.0, 49.0], [36.1, 49.0], [36.1, 49.1], [36.0, 49.1], [36.0, 49.0]]]


def test_unreadable_geometry_is_reported_once(tmp_path: Path, store_path: Path) -> None:
    path = _write(
        tmp_path / "f.geojson", [_hazard("H-1", [[[36, 49], [36.1, 49]]]), _hazard("H-2", SQUARE)]
    )
    result = ingest_file(path, "hazards", store=store_path)
    assert result.status == "rejected"
    about_first = [p for p in result.report.errors if p.feature.startswith("feature 1")]
    assert len(about_first) == 1, about_first
    assert "fewer than 4 positions" in about_first[0].problem


def test_rejection_leaves_every_table_unchanged(tmp_path: Path, store_path: Path) -> None:
    ok = ingest_file(
        _write(tmp_path / "a.geojson", [_hazard("H-1", SQUARE)]), "hazards", store=store_path
    )
    assert ok.status == "accepted"
    store = open_store(store_path)
    before = (store.counts(), [b.batch_id for b in store.list_batches()], store.data_version())
    bad = _write(
        tmp_path / "b.geojson", [_hazard("H-9", SQUARE), _hazard("H-9", [[[0, 0], [1, 0]]])]
    )
    result = ingest_file(bad, "hazards", store=store_path)
    assert result.status == "rejected"
    assert result.batch_id is None
    after = (store.counts(), [b.batch_id for b in store.list_batches()], store.data_version())
    assert after == before


def test_accepted_batch_records_file_hash_and_repairs(tmp_path: Path, store_path: Path) -> None:
    unclosed = [[[36.0, 49.0], [36.1, 49.0], [36.1, 49.1], [36.0, 49.1]]]
    path = _write(tmp_path / "survey.geojson", [_hazard("H-1", unclosed)])
    result = ingest_file(path, "hazards", store=store_path, user="field-team-3")
    assert result.status == "accepted", result.report.errors
    record = open_store(store_path).get_batch(result.batch_id)
    assert record.file_name == "survey.geojson"
    assert record.user == "field-team-3"
    assert record.feature_count == 1
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert any("not closed" in r["problem"] for r in record.report["repairs"])


def test_unsupported_file_is_a_rejection_not_a_traceback(tmp_path: Path, store_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes, no coordinates here\n", "utf-8")
    result = ingest_file(path, "hazards", store=store_path)
    assert result.status == "rejected"
    assert result.report.errors[0].feature == "file"
    assert "notes.txt" in result.report.errors[0].problem


def test_parse_mapping() -> None:
    assert parse_mapping(["Kind=hazard_type", " id = hazard_id "]) == {
        "Kind": "hazard_type",
        "id": "hazard_id",
    }
    with pytest.raises(ValueError, match="SRC=DST"):
        parse_mapping(["hazard_type"])
