"""Helpers for the io tests: small upload files written in code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def square(x: float = 30.0, y: float = 50.0, d: float = 0.01) -> list[list[float]]:
    """A closed square ring, lon/lat."""
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def feature(geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **extra, "features": list(features)}


@pytest.fixture
def write_json(tmp_path: Path):
    """Write a JSON object (or raw text/bytes) to a file in tmp_path and return its path."""

    def _write(obj: Any, name: str = "upload.geojson") -> Path:
        path = tmp_path / name
        if isinstance(obj, bytes):
            path.write_bytes(obj)
        elif isinstance(obj, str):
            path.write_text(obj, encoding="utf-8")
        else:
            path.write_text(json.dumps(obj), encoding="utf-8")
        return path

    return _write
