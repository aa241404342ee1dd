"""Fixtures for the auth tests: a real GeoPackage store with planted victims' data,
a cheap (but real) argon2id hasher, and a clock the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely
from argon2 import PasswordHasher

from minemap._report import Report
from minemap.layers import LAYER_NAMES
from minemap.store import open_store
from tests.store.frames import make_frame

VICTIM_NAME = "Zzyzx Testvictim"
VICTIM_AGE = 97
INFORMANT = "Qwylla Informantova"  # planted in an unvetted extra column
# Exact positions written as text so the tests can look for them in any output.
CASUALTY_POINTS = [("31.274619", "48.613517"), ("35.918273", "47.561829"), ("31.274733", "48.6139")]
HAZARD_CORNER = ("33.918273", "49.127364")


class Clock:
    """A UTC clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def fast_hasher() -> PasswordHasher:
    """Real argon2id with small parameters: same code path, a fraction of the time."""
    return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def _casualties():
    points = [shapely.Point(float(x), float(y)) for x, y in CASUALTY_POINTS]
    frame = make_frame("casualties", n=len(points), geometries=points)
    frame["victim_name"] = pd.Series([VICTIM_NAME] * len(points), dtype="str")
    frame["victim_age"] = pd.Series([VICTIM_AGE] * len(points), dtype="Int64")
    frame["victim_sex"] = pd.Series(["female"] * len(points), dtype="str")
    frame["killed"] = pd.Series([1, 0, 2], dtype="Int64")
    frame["injured"] = pd.Series([0, 3, 1], dtype="Int64")
    frame["informant"] = pd.Series([INFORMANT] * len(points), dtype="str")
    return frame


def _hazards():
    x, y = (float(v) for v in HAZARD_CORNER)
    polygons = [
        shapely.box(x, y, x + 0.0123, y + 0.0071),
        shapely.box(x + 0.5, y - 0.3, x + 0.52, y - 0.29),
    ]
    return make_frame("hazards", n=2, geometries=polygons)


def build_store(path: Path) -> Path:
    frames = {"casualties": _casualties(), "hazards": _hazards()}
    with open_store(path) as store:
        for i, layer in enumerate(LAYER_NAMES):
            frame = frames.get(layer)
            if frame is None:
                frame = make_frame(layer, n=4, seed=i)
            store.ingest(
                frame,
                layer=layer,
                report=Report(file=f"{layer}.geojson", layer=layer),
                file_name=f"{layer}.geojson",
                sha256=f"{i:064x}",
                user="loader",
            )
    return path


@pytest.fixture(scope="module")
def data_store_path(tmp_path_factory) -> Path:
    """A store holding every layer, with planted victims' names, ages and positions."""
    return build_store(tmp_path_factory.mktemp("auth-data") / "data.gpkg")


@pytest.fixture
def store(tmp_path):
    """A fresh, empty store for account tests."""
    with open_store(tmp_path / "accounts.gpkg") as opened:
        yield opened
