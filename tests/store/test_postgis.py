"""What only the PostGIS store has: migrations, the schema in the database, opening rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

try:
    import psycopg
except ImportError:  # the pg_url fixture skips (or fails in CI) with the reason
    psycopg = None

from minemap._errors import StoreError
from minemap.layers import LAYER_NAMES, get_schema
from minemap.store import UserRecord, _postgis, open_store
from minemap.store._postgis import PG_SCHEMA_VERSION, PostGISStore, redact_url
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report, raw_sql, snapshot

pytestmark = pytest.mark.xdist_group("postgis")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _rows(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as con:
        return con.execute(sql, params).fetchall()


def test_schema_has_typed_geometry_srid_and_gist(pg_url):
    with open_store(pg_url) as store:
        assert isinstance(store, PostGISStore)
        assert store.schema_version() == PG_SCHEMA_VERSION
        store.ingest(
            make_frame("strikes", 1),
            layer="strikes",
            report=accepted_report("s", "strikes"),
            file_name="s",
            sha256="s",
        )
    required = ", ".join([*get_schema("strikes").required_fields, "batch_id"])
    types = dict(
        _rows(
            pg_url,
            "SELECT c.relname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attname = 'geom' AND c.relkind = 'r' "
            "AND c.relnamespace = current_schema()::regnamespace",
        )
    )
    assert types == {
        "casualties": "geometry(Point,4326)",
        "strikes": "geometry(Geometry,4326)",
        "hazards": "geometry(MultiPolygon,4326)",
        "cleared": "geometry(MultiPolygon,4326)",
        "farmland": "geometry(MultiPolygon,4326)",
        "settlements": "geometry(Geometry,4326)",
    }
    gist = {
        r[0]
        for r in _rows(
            pg_url,
            "SELECT t.relname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am a ON a.oid = x.relam "
            "WHERE a.amname = 'gist' AND t.relnamespace = current_schema()::regnamespace",
        )
    }
    assert set(LAYER_NAMES) <= gist
    assert _rows(pg_url, "SELECT version, name FROM schema_migrations ORDER BY 1") == [
        (1, "initial"),
        (2, "accounts"),
        (3, "derived"),
        (4, "settlements"),
    ]
    # the database itself refuses what minemap would never write
    for sql, message in (
        (
            "INSERT INTO casualties (geom, incident_id, date, killed, injured, civilian, batch_id)"
            " VALUES (ST_GeomFromText('POINT(30 50)', 3857), 'x', '2024-01-01', 0, 0, true, 'b')",
            "SRID",
        ),
        (
            "INSERT INTO hazards (geom) VALUES (ST_GeomFromText('POINT(30 50)', 4326))",
            "Geometry type \\(Point\\) does not match column type",
        ),
        (
            f"INSERT INTO strikes (geom, {required}) SELECT "
            f"ST_GeomFromText('LINESTRING(30 50, 31 51)', 4326), {required} FROM strikes",
            "strikes_geom_type",
        ),
    ):
        with pytest.raises(psycopg.Error, match=message):
            raw_sql(pg_url, sql)


def test_spatial_query_uses_the_index(pg_url):
    frame = make_frame("hazards", 400, seed=3)
    with open_store(pg_url) as store:
        store.ingest(
            frame,
            layer="hazards",
            report=accepted_report("h", "hazards"),
            file_name="h",
            sha256="h",
        )
    box = (27.0, 46.0, 33.0, 49.0)
    sql = "SELECT hazard_id FROM hazards WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    with psycopg.connect(pg_url) as con:
        con.execute("ANALYZE hazards")
        con.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in con.execute("EXPLAIN " + sql, box))
        found = sorted(r[0] for r in con.execute(sql, box))
    assert "hazards_geom" in plan
    import shapely

    want = frame[frame.geometry.intersects(shapely.box(*box).envelope)]
    assert found == sorted(want["hazard_id"])


def test_existing_database_upgrades_in_place(pg_url, monkeypatch):
    with open_store(pg_url) as store:
        store.ingest(
            make_frame("cleared", 5),
            layer="cleared",
            report=accepted_report("c", "cleared"),
            file_name="c",
            sha256="c",
        )
        version = store.data_version()
    # a field added to the layer schema since the store was made
    raw_sql(pg_url, "ALTER TABLE cleared DROP COLUMN devices_found")
    # and a new numbered migration shipped with a newer minemap
    nxt = PG_SCHEMA_VERSION + 1
    new = (*_postgis.MIGRATIONS, (nxt, "test_notes", "CREATE TABLE minemap_notes (note text);"))
    monkeypatch.setattr(_postgis, "MIGRATIONS", new)
    monkeypatch.setattr(_postgis, "PG_SCHEMA_VERSION", nxt)
    with open_store(pg_url) as store:
        assert store.schema_version() == nxt
        assert store.data_version() == version + 1
        got = store.read_layer("cleared")
        assert len(got) == 5
        assert got["devices_found"].isna().all()  # back, as a nullable column
        assert store.integrity_check() == []
    applied = [r[0] for r in _rows(pg_url, "SELECT version FROM schema_migrations ORDER BY 1")]
    assert applied == list(range(1, nxt + 1))
    before = snapshot(pg_url)
    open_store(pg_url).close()  # nothing left to do: nothing changes
    assert snapshot(pg_url) == before
    monkeypatch.undo()
    with pytest.raises(StoreError, match="newer minemap"):
        open_store(pg_url)


def test_open_refuses_other_databases_and_hides_passwords(pg_url, pg_cluster):
    with pytest.raises(StoreError, match="no minemap store"):
        open_store(pg_url, create=False)
    assert _rows(pg_url, "SELECT to_regclass('minemap_meta') IS NULL") == [(True,)]
    raw_sql(pg_url, "CREATE TABLE hazards (id int)", "INSERT INTO hazards VALUES (1)")
    before = snapshot(pg_url)
    with pytest.raises(StoreError, match=r"not a minemap store .*hazards"):
        open_store(pg_url)
    assert snapshot(pg_url) == before
    url = f"postgresql://minemap:s3cret@127.0.0.1:{pg_cluster.port}/no_such_db"
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "s3cret" not in str(info.value)
    assert "no_such_db" in str(info.value)
    assert redact_url("postgresql://a:b@h/d") == "postgresql://a:***@h/d"
    assert redact_url("postgresql://a@h/d") == "postgresql://a@h/d"


def test_store_url_from_environment(pg_url, monkeypatch):
    monkeypatch.setenv("MINEMAP_STORE", pg_url)
    with open_store() as store:
        assert isinstance(store, PostGISStore)
        assert store.path == pg_url
        assert store.counts() == dict.fromkeys(LAYER_NAMES, 0)


def test_a_version_1_store_gets_the_account_tables(pg_url):
    """A store made before accounts existed (schema 1) upgrades in place, data kept."""
    with open_store(pg_url) as store:
        store.ingest(
            make_frame("farmland", 7),
            layer="farmland",
            report=accepted_report("f", "farmland"),
            file_name="f",
            sha256="f",
        )
    raw_sql(
        pg_url,
        "DROP TABLE minemap_sessions, minemap_login_attempts, minemap_users, minemap_derived",
        "DELETE FROM schema_migrations WHERE version >= 2",
        "UPDATE minemap_meta SET value = '1' WHERE key = 'schema_version'",
    )
    with open_store(pg_url) as store:
        assert store.schema_version() == PG_SCHEMA_VERSION
        assert store.counts()["farmland"] == 7
        user = UserRecord("olena", "planner", "$argon2id$x", False, T0, T0, "root")
        store.add_user(user, by="root")
        assert store.get_user("olena") == user
        assert store.integrity_check() == []
    with pytest.raises(psycopg.Error, match="never deleted"):
        raw_sql(pg_url, "DELETE FROM minemap_users")


def test_cli_ingests_the_demo_data_into_postgis(pg_url):
    """The real pipeline (read → validate → store) with ``--store postgresql://…``."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MINEMAP_STORE", None)
    demo = REPO / "minemap" / "data" / "demo"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "minemap", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    done = cli("ingest", str(demo / "hazards.geojson"), "--layer", "hazards", "--store", pg_url,
               "--json", "--user", "olena")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "accepted"
    again = cli("ingest", str(demo / "hazards.geojson"), "--layer", "hazards", "--store", pg_url)
    assert again.returncode == 1
    assert "already imported" in again.stderr + again.stdout
    with open_store(pg_url) as store:
        assert store.counts()["hazards"] == result["accepted"] > 0
        assert store.list_batches()[0].user == "olena"
        assert store.integrity_check() == []
