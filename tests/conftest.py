"""Shared test fixtures.

Real public data live in ``../shared/data/real`` (each folder has a SOURCE.md). Tests
that need them use :func:`real_data`: in CI (``CI=true``) missing data is a failure;
elsewhere the test is skipped with a clear reason, so a newcomer's clone still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.store.pg import pg_cluster, pg_url  # noqa: F401  (fixtures: throwaway PostGIS)

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("MINEMAP_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


def real_data(relative: str) -> Path:
    """Path of a file under ``../shared/data/real``; fail in CI, skip elsewhere if absent."""
    path = REAL_DATA / relative
    if not path.exists():
        message = f"real data {relative} not found under {REAL_DATA} (see ../shared/data/real)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A path for a fresh GeoPackage store in a private temporary directory."""
    return tmp_path / "store.gpkg"
