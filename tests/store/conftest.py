"""Store fixtures: the same tests run against the GeoPackage and the PostGIS store.

``store_location`` is parametrised over ``gpkg`` (a fresh ``.gpkg`` path) and
``postgis`` (a fresh database in a throwaway cluster, see :mod:`tests.store.pg`).
PostGIS tests are skipped with the reason when PostgreSQL/PostGIS/psycopg are not
installed here, and fail instead in CI (``CI=true``), where ``.ci/run`` installs them.
They share one cluster per test worker (``xdist_group``), started once per session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.pg import PgCluster, missing_reason

BACKENDS = [
    pytest.param("gpkg", id="gpkg"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.xdist_group("postgis")),
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL + PostGIS cluster for the session (per xdist worker)."""
    reason = missing_reason()
    if reason is not None:
        message = f"PostGIS store tests need a local PostgreSQL + PostGIS: {reason}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """The URL of a new, empty PostGIS store location (a fresh schema)."""
    return pg_cluster.new_store_url()


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
