"""Store fixtures: the same tests run against the GeoPackage and the PostGIS store.

``store_location`` is parametrised over ``gpkg`` (a fresh ``.gpkg`` path) and
``postgis`` (a fresh schema in a throwaway cluster, see :mod:`tests.store.pg`).
PostGIS tests are skipped with the reason when PostgreSQL/PostGIS/psycopg are not
installed here, and fail instead in CI (``CI=true``), where ``.ci/run`` installs them.
They share one cluster per test worker (``xdist_group``), started once per session
by the ``pg_cluster`` fixture (:mod:`tests.store.pg`, registered in ``tests/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.pg import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``"gpkg"`` or ``"postgis"``."""
    return request.param


@pytest.fixture
def store_location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where a fresh store of ``backend`` lives: a ``.gpkg`` path or a database URL."""
    if backend == "gpkg":
        return tmp_path / "store.gpkg"
    return request.getfixturevalue("pg_url")
