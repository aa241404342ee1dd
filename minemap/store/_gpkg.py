"""The embedded store: one GeoPackage file that QGIS and ``ogrinfo`` open.

Layout (see ``docs/store.md``):

- GeoPackage 1.4 metadata (``gpkg_spatial_ref_sys``, ``gpkg_contents``,
  ``gpkg_geometry_columns``, ``gpkg_extensions``), ``application_id`` 'GPKG';
- one feature table per canonical layer, named as the layer: ``fid``, ``geom``
  (EPSG:4326, with an R-tree spatial index maintained by the standard triggers), the
  schema's fields, ``batch_id`` and ``extra_json``;
- ``minemap_batches`` (one row per import; only *active → undone* may change),
  ``minemap_audit`` (append-only, hash-chained, guarded by triggers) and
  ``minemap_meta`` (schema version, data version);
- accounts (issue 6, not registered in ``gpkg_contents``, so GIS tools don't list
  them): ``minemap_users`` (never deleted), ``minemap_sessions`` (token hashes) and
  ``minemap_login_attempts`` (for rate limiting);
- ``minemap_derived``: derived results kept with the store (the cached hazard
  surface), a plain SQLite table (not registered, so ``ogrinfo`` and QGIS do not list
  it); writing it never moves ``data_version``.

Every write runs in one ``BEGIN IMMEDIATE`` transaction on one ``sqlite3``
connection, in WAL mode with ``synchronous=FULL``: a crash or ``kill -9`` at any
moment leaves the store as before or as after the change. Writers from several
processes queue on SQLite's lock (``busy_timeout``) instead of failing.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap import __version__
from minemap._errors import StoreError
from minemap._report import Report
from minemap.layers import LAYER_NAMES, LayerSchema, get_schema
from minemap.store._base import (
    BatchRecord,
    DerivedRecord,
    DuplicateImportError,
    LoginAttempt,
    LoginOutcome,
    SessionRecord,
    Store,
    UserRecord,
    _audit_hash,
    _human_time,
)
from minemap.store._frames import PreparedRows, canonical_frame, prepare_rows
from minemap.store._gpkgwkb import decode_geometries, encode_geometries, register_functions

if TYPE_CHECKING:
    from minemap.store.copy import AuditEntry

__all__ = ["SCHEMA_VERSION", "GeoPackageStore"]

SCHEMA_VERSION = 2
"""Version of the minemap tables' layout (``minemap_meta.schema_version``).

2: the optional ``settlements`` layer. A store opened by this minemap is raised to 2 (with
the new table), so a minemap that does not know the layer refuses it ("upgrade minemap")
instead of misreading its settlements batches (as PostGIS migration 0003 does)."""

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300  # GeoPackage 1.3.0: read without warnings by GDAL 3.6 (QGIS 3.28 LTR era)
_SQLITE_MAGIC = b"SQLite format 3\x00"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_CHUNK_ROWS = 5_000
_SQL_TYPES = {
    "str": "TEXT",
    "enum": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "bool": "BOOLEAN",
    "date": "DATE",
}
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

_GPKG_TABLES_SQL = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
  definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""

_MINEMAP_TABLES_SQL = """
CREATE TABLE minemap_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE minemap_batches (
  batch_id TEXT PRIMARY KEY NOT NULL,
  file_name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  layer TEXT NOT NULL,
  user TEXT,
  created_at TEXT NOT NULL,
  feature_count INTEGER NOT NULL,
  repair_count INTEGER NOT NULL,
  warning_count INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'undone')),
  undone_at TEXT,
  undone_by TEXT,
  report_json TEXT NOT NULL,
  extra_columns_json TEXT NOT NULL DEFAULT '[]');
CREATE UNIQUE INDEX minemap_batches_one_active_sha
  ON minemap_batches (layer, sha256) WHERE status = 'active';
CREATE TRIGGER minemap_batches_no_delete BEFORE DELETE ON minemap_batches
BEGIN SELECT RAISE(ABORT, 'minemap_batches is permanent: undo a batch instead of deleting it'); END;
CREATE TRIGGER minemap_batches_only_undo BEFORE UPDATE ON minemap_batches
WHEN NOT (OLD.status = 'active' AND NEW.status = 'undone'
  AND NEW.batch_id IS OLD.batch_id AND NEW.file_name IS OLD.file_name
  AND NEW.sha256 IS OLD.sha256 AND NEW.layer IS OLD.layer AND NEW.user IS OLD.user
  AND NEW.created_at IS OLD.created_at AND NEW.feature_count IS OLD.feature_count
  AND NEW.repair_count IS OLD.repair_count AND NEW.warning_count IS OLD.warning_count
  AND NEW.report_json IS OLD.report_json
  AND NEW.extra_columns_json IS OLD.extra_columns_json)
BEGIN SELECT RAISE(ABORT, 'minemap_batches: a batch can only go from active to undone'); END;
CREATE TABLE minemap_audit (
  id INTEGER PRIMARY KEY NOT NULL,
  at TEXT NOT NULL,
  user TEXT,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE TRIGGER minemap_audit_no_update BEFORE UPDATE ON minemap_audit
BEGIN SELECT RAISE(ABORT, 'minemap_audit is append-only: entries cannot be changed'); END;
CREATE TRIGGER minemap_audit_no_delete BEFORE DELETE ON minemap_audit
BEGIN SELECT RAISE(ABORT, 'minemap_audit is append-only: entries cannot be deleted'); END;
"""

# Accounts (issue 6). Added to existing stores on open (new tables only, so older
# minemap versions still read the store: the schema version stays 1).
_AUTH_TABLES_SQL = """
CREATE TABLE minemap_users (
  name TEXT PRIMARY KEY NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at TEXT NOT NULL,
  created_by TEXT,
  changed_at TEXT NOT NULL);
CREATE TRIGGER minemap_users_no_delete BEFORE DELETE ON minemap_users
BEGIN SELECT RAISE(ABORT, 'minemap_users: accounts are disabled, never deleted'); END;
CREATE TABLE minemap_sessions (
  token_hash TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL REFERENCES minemap_users (name),
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at TEXT NOT NULL);
CREATE INDEX minemap_sessions_name ON minemap_sessions (name);
CREATE TABLE minemap_login_attempts (
  id INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  at TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'bad', 'refused')));
CREATE INDEX minemap_login_attempts_name_at ON minemap_login_attempts (name, at);
CREATE INDEX minemap_login_attempts_at ON minemap_login_attempts (at);
"""
_AUTH_TABLES = ("minemap_users", "minemap_sessions", "minemap_login_attempts")

# Derived results (caches of the data, e.g. the hazard surface). Added on open (a new
# table only: older minemap versions ignore it; the schema version stays 1).
_DERIVED_TABLE_SQL = """
CREATE TABLE minemap_derived (
  key TEXT PRIMARY KEY NOT NULL,
  params_sha256 TEXT NOT NULL,
  inputs_json TEXT NOT NULL,
  minemap_version TEXT NOT NULL,
  created_at TEXT NOT NULL,
  payload BLOB NOT NULL,
  payload_sha256 TEXT NOT NULL)
"""

_RTREE_TRIGGERS = [
    'CREATE TRIGGER "rtree_{t}_geom_insert" AFTER INSERT ON "{t}" '
    'WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN '
    'INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid",'
    'ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update6" AFTER UPDATE OF "geom" ON "{t}" '
    'WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) '
    'AND (OLD."geom" NOTNULL AND NOT ST_IsEmpty(OLD."geom")) BEGIN '
    'UPDATE "rtree_{t}_geom" SET minx = ST_MinX(NEW."geom"), maxx = ST_MaxX(NEW."geom"),'
    'miny = ST_MinY(NEW."geom"), maxy = ST_MaxY(NEW."geom") WHERE id = NEW."fid";END',
    'CREATE TRIGGER "rtree_{t}_geom_update7" AFTER UPDATE OF "geom" ON "{t}" '
    'WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) '
    'AND (OLD."geom" ISNULL OR ST_IsEmpty(OLD."geom")) BEGIN '
    'INSERT INTO "rtree_{t}_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),'
    'ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update2" AFTER UPDATE OF "geom" ON "{t}" '
    'WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN '
    'DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END',
    'CREATE TRIGGER "rtree_{t}_geom_update5" AFTER UPDATE ON "{t}" '
    'WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN '
    'DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; '
    'INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), '
    'ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update4" AFTER UPDATE ON "{t}" '
    'WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN '
    'DELETE FROM "rtree_{t}_geom" WHERE id IN (OLD."fid", NEW."fid"); END',
    'CREATE TRIGGER "rtree_{t}_geom_delete" AFTER DELETE ON "{t}" '
    'WHEN old."geom" NOT NULL BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END',
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _format_time(moment: datetime) -> str:
    """A timezone-aware datetime as the store's UTC text (sorts as it compares)."""
    if moment.tzinfo is None:
        raise StoreError("account times must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def geometry_type_name(schema: LayerSchema) -> str:
    """The GeoPackage geometry type of a layer's ``geom`` column.

    Polygonal layers store MultiPolygons (Polygons are promoted on import); a layer
    mixing points and polygons (strikes) is ``GEOMETRY``.
    """
    types = set(schema.geometry_types)
    if types == {"Point"}:
        return "POINT"
    if types <= {"Polygon", "MultiPolygon"}:
        return "MULTIPOLYGON"
    return "GEOMETRY"


class GeoPackageStore(Store):
    """The embedded minemap store: one GeoPackage (SQLite) file.

    Use :func:`minemap.store.open_store` rather than this constructor.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gpkg`` file.
    create : bool, default True
        Create a new store if ``path`` does not exist (or is empty).
    timeout_s : float, default 60
        How long a writer waits for another process's transaction to finish.

    Raises
    ------
    StoreError
        ``path`` is not a minemap store (another GeoPackage, another SQLite
        database, not SQLite at all), was written by a newer minemap, or does not
        exist and ``create`` is False.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, timeout_s: float = 60.0
    ) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        fresh = self._check_file(create=create)
        try:
            con = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from None
        self._con = con
        try:
            register_functions(con)
            con.execute("PRAGMA foreign_keys = ON")
            if not fresh:
                self._check_is_minemap()
            else:
                self._create()
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            self._upgrade_layers()
            self._upgrade_auth()
            self._upgrade_derived()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(
                f"{self.path} is not a usable minemap store ({exc}); "
                "choose another --store path or restore a backup"
            ) from None
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------
    def _check_file(self, *, create: bool) -> bool:
        """True when a new store must be created at ``self.path``."""
        if self.path.is_dir():
            raise StoreError(f"the store path {self.path} is a directory, not a .gpkg file")
        if not self.path.exists() or self.path.stat().st_size == 0:
            if not create:
                raise StoreError(f"no minemap store at {self.path}")
            if not self.path.parent.is_dir():
                raise StoreError(
                    f"cannot create the store {self.path}: folder {self.path.parent} does not exist"
                )
            return True
        with open(self.path, "rb") as fh:
            head = fh.read(16)
        if head != _SQLITE_MAGIC:
            raise StoreError(
                f"{self.path} is not a minemap store (not a GeoPackage/SQLite file); "
                "choose another --store path"
            )
        return False

    def _has_table(self, name: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _check_is_minemap(self) -> None:
        if not self._has_table("minemap_meta"):
            kind = "a GeoPackage" if self._has_table("gpkg_contents") else "an SQLite database"
            raise StoreError(
                f"{self.path} is {kind} but not a minemap store (no minemap_meta table); "
                "minemap never writes into other files: choose another --store path"
            )
        version = self._meta("schema_version")
        if version is None or int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer minemap (store schema {version}, "
                f"this minemap reads up to {SCHEMA_VERSION}); upgrade minemap"
            )

    def _create(self) -> None:
        with self._write() as con:
            if self._has_table("minemap_meta"):  # another process created it meanwhile
                return
            if self._has_table("gpkg_contents"):
                raise StoreError(f"{self.path} is a GeoPackage but not a minemap store")
            con.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
            for statement in _split_sql(_GPKG_TABLES_SQL + _MINEMAP_TABLES_SQL):
                con.execute(statement)
            con.executemany(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        "Undefined Cartesian SRS",
                        -1,
                        "NONE",
                        -1,
                        "undefined",
                        "undefined Cartesian coordinate reference system",
                    ),
                    (
                        "Undefined geographic SRS",
                        0,
                        "NONE",
                        0,
                        "undefined",
                        "undefined geographic coordinate reference system",
                    ),
                    (
                        "WGS 84 geodetic",
                        4326,
                        "EPSG",
                        4326,
                        _WGS84_WKT,
                        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
                    ),
                ],
            )
            con.executemany(
                "INSERT INTO minemap_meta VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("data_version", "0"),
                    ("created_at", _now()),
                    ("created_by", f"minemap {__version__}"),
                ],
            )
            # Registered as GeoPackage attribute tables: QGIS shows batches and audit log,
            # and GDAL then hides the unregistered minemap_meta.
            con.executemany(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change) VALUES (?, 'attributes', ?, ?, ?)",
                [
                    ("minemap_batches", "minemap_batches", "minemap import batches", _now()),
                    ("minemap_audit", "minemap_audit", "minemap audit log (append-only)", _now()),
                ],
            )
            self._append_audit(con, "store_created", None, {"schema_version": SCHEMA_VERSION})

    def _upgrade_layers(self) -> None:
        """Create missing layer tables and add schema fields new since the store was made;
        raise ``schema_version`` to :data:`SCHEMA_VERSION`."""
        todo = []
        for layer in LAYER_NAMES:
            if not self._has_table(layer):
                todo.append((layer, None))
                continue
            have = {row[1] for row in self._db.execute(f'PRAGMA table_info("{layer}")')}
            missing = [f for f in get_schema(layer).fields if f.name not in have]
            if missing:
                todo.append((layer, missing))
        old_version = int(self._meta("schema_version") or SCHEMA_VERSION)
        if not todo and old_version >= SCHEMA_VERSION:
            return
        with self._write() as con:
            con.execute(
                "UPDATE minemap_meta SET value = ? WHERE key = 'schema_version' "
                "AND CAST(value AS INTEGER) < ?",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )
            for layer, missing in todo:
                if missing is None:
                    if not self._has_table(layer):
                        self._create_layer(con, get_schema(layer))
                    continue
                have = {row[1] for row in con.execute(f'PRAGMA table_info("{layer}")')}
                for fld in missing:
                    if fld.name not in have:
                        con.execute(
                            f'ALTER TABLE "{layer}" ADD COLUMN "{fld.name}" {_SQL_TYPES[fld.kind]}'
                        )
            self._bump_version(con)

    def _upgrade_auth(self) -> None:
        """Create the account tables in stores made before they existed."""
        if all(self._has_table(t) for t in _AUTH_TABLES):
            return
        with self._write() as con:
            if all(self._has_table(t) for t in _AUTH_TABLES):  # another process did it
                return
            for statement in _split_sql(_AUTH_TABLES_SQL):
                con.execute(statement)

    def _upgrade_derived(self) -> None:
        """Create the derived-results table in stores made before it existed."""
        if self._has_table("minemap_derived"):
            return
        with self._write() as con:
            if not self._has_table("minemap_derived"):  # another process may have made it
                con.execute(_DERIVED_TABLE_SQL)

    @staticmethod
    def _create_layer(con: sqlite3.Connection, schema: LayerSchema) -> None:
        t = schema.name
        cols = ['"fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
        cols.append(f'"geom" {geometry_type_name(schema)}')
        for fld in schema.fields:
            not_null = " NOT NULL" if fld.required else ""
            cols.append(f'"{fld.name}" {_SQL_TYPES[fld.kind]}{not_null}')
        cols.append('"batch_id" TEXT NOT NULL REFERENCES minemap_batches (batch_id)')
        cols.append('"extra_json" TEXT')
        con.execute(f'CREATE TABLE "{t}" ({", ".join(cols)})')
        con.execute(f'CREATE INDEX "{t}_batch_id" ON "{t}" ("batch_id")')
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change, srs_id) VALUES (?, 'features', ?, ?, ?, 4326)",
            (t, t, schema.description, _now()),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
            (t, geometry_type_name(schema)),
        )
        con.execute(
            f'CREATE VIRTUAL TABLE "rtree_{t}_geom" USING rtree(id, minx, maxx, miny, maxy)'
        )
        for template in _RTREE_TRIGGERS:
            con.execute(template.format(t=t))
        con.execute(
            "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (t,),
        )

    # -- plumbing --------------------------------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any error."""
        with self._lock:
            con = self._db
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(
                    f"the store {self.path} is busy or read-only ({exc}); try again"
                ) from None
            try:
                yield con
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM minemap_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _bump_version(con: sqlite3.Connection) -> None:
        con.execute(
            "UPDATE minemap_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'"
        )

    @staticmethod
    def _append_audit(
        con: sqlite3.Connection, action: str, user: str | None, detail: Mapping[str, Any]
    ) -> int:
        last = con.execute("SELECT id, hash FROM minemap_audit ORDER BY id DESC LIMIT 1").fetchone()
        entry_id, prev_hash = (1, "") if last is None else (last[0] + 1, last[1])
        at = _now()
        text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
        digest = _audit_hash(prev_hash, entry_id, at, user, action, text)
        con.execute(
            "INSERT INTO minemap_audit (id, at, user, action, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entry_id, at, user, action, text, prev_hash, digest),
        )
        return entry_id

    @staticmethod
    def _update_contents(con: sqlite3.Connection, layer: str) -> None:
        extent = con.execute(
            f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {_q(f'rtree_{layer}_geom')}"  # noqa: S608
        ).fetchone()
        con.execute(
            "UPDATE gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, "
            "max_y = ? WHERE table_name = ?",
            (_now(), *extent, layer),
        )

    @staticmethod
    def _stored_time(value: str | None) -> datetime | None:
        return _parse_time(value)

    _BATCH_COLUMNS = (
        "batch_id, file_name, sha256, layer, user, created_at, feature_count, repair_count, "
        "warning_count, status, undone_at, undone_by, report_json, extra_columns_json"
    )

    def _restore_copy(
        self,
        *,
        batches: Sequence[BatchRecord],
        rows: Mapping[str, PreparedRows],
        audit: Sequence[AuditEntry],
        detail: Mapping[str, Any],
        users: Sequence[UserRecord] = (),
        derived: Sequence[DerivedRecord] = (),
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Receive a whole store (see :func:`minemap.store.copy.copy_store`), atomically.

        The store must be empty: no batches, no accounts, and only its own
        ``store_created`` audit entry, which the copied log replaces (the guard trigger
        is dropped and re-created around that one statement, inside the transaction).
        Then accounts, batches, rows, audit entries and derived records (replacing any
        the empty store had) are written verbatim and a ``store_copied`` entry is
        appended.
        """
        total = sum(len(r) for r in rows.values())
        guard = next(s for s in _split_sql(_MINEMAP_TABLES_SQL) if "minemap_audit_no_delete" in s)
        with self._write() as con:
            n_batches = con.execute("SELECT count(*) FROM minemap_batches").fetchone()[0]
            actions = [a for (a,) in con.execute("SELECT action FROM minemap_audit ORDER BY id")]
            n_users = con.execute("SELECT count(*) FROM minemap_users").fetchone()[0]
            if n_batches or n_users or actions != ["store_created"]:
                raise StoreError(
                    f"the store {self.path} is not empty ({n_batches} batches, {n_users} "
                    f"accounts, {len(actions)} audit entries); copy into a new store"
                )
            con.executemany(
                f"INSERT INTO minemap_users ({self._USER_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (u.name, u.role, u.password_hash, int(u.disabled),
                     _format_time(u.created_at), _format_time(u.changed_at), u.created_by)
                    for u in users
                ],
            )  # fmt: skip
            con.execute("DROP TRIGGER minemap_audit_no_delete")
            con.execute("DELETE FROM minemap_audit")
            con.execute(guard)
            con.executemany(
                "INSERT INTO minemap_audit (id, at, user, action, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.id, e.at, e.user, e.action, e.detail, e.prev_hash, e.hash) for e in audit],
            )
            done = 0
            for batch in batches:
                con.execute(
                    f"INSERT INTO minemap_batches ({self._BATCH_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        batch.batch_id,
                        batch.file_name,
                        batch.sha256,
                        batch.layer,
                        batch.user,
                        batch.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        batch.feature_count,
                        batch.repair_count,
                        batch.warning_count,
                        batch.status,
                        None
                        if batch.undone_at is None
                        else batch.undone_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        batch.undone_by,
                        json.dumps(batch.report, ensure_ascii=False, default=str),
                        json.dumps([list(p) for p in batch.extra_columns]),
                    ),
                )
                prepared = rows.get(batch.batch_id)
                if prepared is None or not len(prepared):
                    continue
                schema = get_schema(batch.layer)
                names = ["fid", *schema.field_names, "batch_id", "extra_json", "geom"]
                start = self._next_fid(con, batch.layer)
                con.executemany(
                    f"INSERT INTO {_q(batch.layer)} ({', '.join(_q(n) for n in names)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' * len(names))})",
                    zip(
                        range(start, start + len(prepared)),
                        *[prepared.columns[n] for n in schema.field_names],
                        [batch.batch_id] * len(prepared),
                        prepared.extra_json,
                        encode_geometries(prepared.geometries),
                        strict=True,
                    ),
                )
                done += len(prepared)
                if progress is not None:
                    progress(done, total)
            for layer in LAYER_NAMES:
                self._update_contents(con, layer)
            con.execute("DELETE FROM minemap_derived")  # caches of the empty store, if any
            con.executemany(
                "INSERT INTO minemap_derived (key, params_sha256, inputs_json, "
                "minemap_version, created_at, payload, payload_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (d.key, d.params_sha256, d.inputs_json, d.minemap_version,
                     _format_time(d.created_at), sqlite3.Binary(d.payload), d.payload_sha256)
                    for d in derived
                ],
            )  # fmt: skip
            self._append_audit(con, "store_copied", None, detail)
            self._bump_version(con)

    # -- the interface ---------------------------------------------------------------
    def ingest(
        self,
        frame: gpd.GeoDataFrame,
        *,
        layer: str,
        report: Report,
        file_name: str,
        sha256: str,
        user: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Store a validated canonical frame as one new batch, atomically.

        Parameters
        ----------
        frame : geopandas.GeoDataFrame
            Canonical frame (``ValidationResult.frame``) in EPSG:4326.
        layer : str
            Canonical layer name.
        report : minemap.Report
            The accepted validation report (no errors); stored with the batch.
        file_name : str
            The file name as the user gave it (a label, never opened).
        sha256 : str
            SHA-256 of the uploaded bytes.
        user : str, optional
            Who imports it.
        progress : callable, optional
            ``progress(rows_written, rows_total)`` after every chunk of rows.

        Returns
        -------
        str
            The new batch id.

        Raises
        ------
        DuplicateImportError
            The same bytes are already active for this layer.
        StoreError
            The report has errors, or the frame does not fit the layer (every problem
            listed), or the database refused the rows; nothing was stored.
        """
        schema = get_schema(layer)
        if report.errors:
            raise StoreError(
                f"cannot store {file_name!r}: its report has {len(report.errors)} error(s); "
                "a file with any rejected feature stores nothing"
            )
        prepared = prepare_rows(frame, schema, file=file_name)
        blobs = encode_geometries(prepared.geometries)
        names = ["fid", *schema.field_names, "batch_id", "extra_json", "geom"]
        insert = (
            f"INSERT INTO {_q(layer)} ({', '.join(_q(n) for n in names)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(names))})"
        )
        total = len(prepared)
        report_json = json.dumps(report.to_dict(), ensure_ascii=False, default=str)
        extra_columns_json = json.dumps([list(p) for p in prepared.extra_columns])
        with self._write() as con:
            existing = self._find_batch(con, sha256=sha256, layer=layer)
            if existing is not None:
                raise DuplicateImportError(_duplicate_message(file_name, existing), existing)
            batch_id = self._new_batch_id(con)
            con.execute(
                f"INSERT INTO minemap_batches ({self._BATCH_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, NULL, ?, ?)",
                (
                    batch_id,
                    file_name,
                    sha256,
                    layer,
                    user,
                    _now(),
                    total,
                    len(report.repairs),
                    len(report.warnings),
                    report_json,
                    extra_columns_json,
                ),
            )
            start = self._next_fid(con, layer)
            fids = np.arange(start, start + total, dtype=np.int64)
            rows = zip(
                fids.tolist(),
                *[prepared.columns[n] for n in schema.field_names],
                [batch_id] * total,
                prepared.extra_json,
                blobs,
                strict=True,
            )
            # The spatial index is filled in bulk below, in this same transaction: the
            # standard per-row insert trigger (kept for other writers such as QGIS) costs
            # 2-3x the whole insert. It is dropped and re-created inside the transaction,
            # so no committed state ever lacks it.
            con.execute(f"DROP TRIGGER {_q(f'rtree_{layer}_geom_insert')}")
            written = 0
            try:
                while written < total:
                    chunk = [next(rows) for _ in range(min(_CHUNK_ROWS, total - written))]
                    con.executemany(insert, chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written, total)
            except sqlite3.IntegrityError as exc:
                where = f"row {written} or one after it"
                column = str(exc).rpartition(f"{layer}.")[2]
                if column in prepared.columns:
                    first = next(
                        (i for i, v in enumerate(prepared.columns[column]) if v is None), None
                    )
                    if first is not None:
                        ident = prepared.columns[schema.id_field][first]
                        where = f"row {first} ({schema.id_field} {ident}), field {column}"
                raise StoreError(
                    f"cannot store {file_name!r} in layer {layer}: the database refused "
                    f"{where} ({exc}); nothing was stored"
                ) from None
            bounds = shapely.bounds(prepared.geometries)
            indexed = ~np.isnan(bounds[:, 0])
            con.executemany(
                f"INSERT INTO {_q(f'rtree_{layer}_geom')} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                zip(
                    fids[indexed].tolist(),
                    bounds[indexed, 0].tolist(),
                    bounds[indexed, 2].tolist(),
                    bounds[indexed, 1].tolist(),
                    bounds[indexed, 3].tolist(),
                    strict=True,
                ),
            )
            con.execute(_RTREE_TRIGGERS[0].format(t=layer))
            self._update_contents(con, layer)
            self._append_audit(
                con,
                "ingest",
                user,
                {
                    "batch_id": batch_id,
                    "layer": layer,
                    "file_name": file_name,
                    "sha256": sha256,
                    "features": total,
                    "repairs": len(report.repairs),
                },
            )
            self._bump_version(con)
        return batch_id

    @staticmethod
    def _next_fid(con: sqlite3.Connection, layer: str) -> int:
        """The first fid of a new batch (never reuses an fid, like AUTOINCREMENT)."""
        seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
        top = con.execute(f"SELECT max(fid) FROM {_q(layer)}").fetchone()[0]  # noqa: S608
        return max(seq[0] if seq else 0, top or 0) + 1

    @staticmethod
    def _new_batch_id(con: sqlite3.Connection) -> str:
        while True:
            batch_id = uuid.uuid4().hex[:12]
            taken = con.execute(
                "SELECT 1 FROM minemap_batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            if taken is None:
                return batch_id

    def _find_batch(self, con: sqlite3.Connection, *, sha256: str, layer: str):
        row = con.execute(
            f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches "  # noqa: S608
            "WHERE sha256 = ? AND layer = ? AND status = 'active'",
            (sha256, layer),
        ).fetchone()
        return None if row is None else self._batch_from_row(row)

    def find_batch(self, *, sha256: str, layer: str) -> BatchRecord | None:
        """The active batch of ``layer`` imported from bytes with ``sha256``, or None."""
        with self._lock:
            return self._find_batch(self._db, sha256=sha256, layer=layer)

    def read_layer(self, layer: str, *, include_personal: bool = False) -> gpd.GeoDataFrame:
        """Every stored feature of ``layer`` as a canonical frame, plus ``batch_id``.

        Parameters
        ----------
        layer : str
            Canonical layer name.
        include_personal : bool, default False
            Read victims' personal fields too (planner role only). When False they
            are not even selected from the database.

        Returns
        -------
        geopandas.GeoDataFrame
            Schema fields typed as ``ValidationResult.frame``, then extra columns,
            then ``batch_id``, then ``geometry`` (EPSG:4326); index 0..n-1, in
            import order.
        """
        schema = get_schema(layer)
        personal = set(schema.personal_fields)
        fields = [f.name for f in schema.fields if include_personal or f.name not in personal]
        select = ", ".join(_q(n) for n in [*fields, "batch_id", "extra_json", "geom"])
        with self._lock:
            con = self._db
            con.execute("BEGIN")  # one snapshot for rows and batch metadata
            try:
                rows = con.execute(
                    f"SELECT {select} FROM {_q(layer)} ORDER BY fid"  # noqa: S608
                ).fetchall()
                extra_rows = con.execute(
                    "SELECT extra_columns_json FROM minemap_batches "
                    "WHERE layer = ? AND status = 'active' ORDER BY rowid",
                    (layer,),
                ).fetchall()
            finally:
                con.execute("COMMIT")
        n_fields = len(fields)
        transposed = list(zip(*rows, strict=True)) if rows else [()] * (n_fields + 3)
        extra_columns = [tuple(p) for (text,) in extra_rows for p in json.loads(text)]
        try:
            geometries = decode_geometries(transposed[n_fields + 2])
            return canonical_frame(
                schema,
                fields=fields,
                columns=dict(zip(fields, transposed[:n_fields], strict=True)),
                batch_ids=transposed[n_fields],
                extra_json=transposed[n_fields + 1],
                extra_columns=extra_columns,
                geometries=geometries,
            )
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"layer {layer} in {self.path} holds values minemap cannot read ({exc}); "
                "was it edited outside minemap? run `integrity_check`"
            ) from None

    def counts(self) -> dict[str, int]:
        """Stored feature count per layer (every canonical layer)."""
        with self._lock:
            return {
                layer: self._db.execute(f"SELECT count(*) FROM {_q(layer)}").fetchone()[0]  # noqa: S608
                for layer in LAYER_NAMES
            }

    def list_batches(self) -> list[BatchRecord]:
        """Every batch, active and undone, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches ORDER BY rowid"  # noqa: S608
            ).fetchall()
        return [self._batch_from_row(r) for r in rows]

    def get_batch(self, batch_id: str) -> BatchRecord:
        """One batch by id.

        Raises
        ------
        StoreError
            No batch has this id.
        """
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches WHERE batch_id = ?",  # noqa: S608
                (batch_id,),
            ).fetchone()
        if row is None:
            raise self._no_such_batch(batch_id)
        return self._batch_from_row(row)

    def undo_batch(self, batch_id: str, *, user: str | None = None) -> BatchRecord:
        """Remove a batch's rows, mark it undone and audit it, in one transaction.

        Returns
        -------
        BatchRecord
            The batch as it is now (``status == "undone"``).

        Raises
        ------
        StoreError
            No such batch, or it was already undone.
        """
        with self._write() as con:
            row = con.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches WHERE batch_id = ?",  # noqa: S608
                (batch_id,),
            ).fetchone()
            if row is None:
                raise self._no_such_batch(batch_id)
            batch = self._batch_from_row(row)
            self._check_undoable(batch)
            removed = con.execute(
                f"DELETE FROM {_q(batch.layer)} WHERE batch_id = ?",  # noqa: S608
                (batch_id,),
            ).rowcount
            con.execute(
                "UPDATE minemap_batches SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE batch_id = ?",
                (_now(), user, batch_id),
            )
            self._update_contents(con, batch.layer)
            self._append_audit(con, "undo", user, self._undo_detail(batch, removed))
            self._bump_version(con)
        return self.get_batch(batch_id)

    def record_audit(
        self, action: str, *, user: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> int:
        """Append one entry to the audit log and return its id.

        Parameters
        ----------
        action : str
            What happened (``"sign_in"``, ``"rejected"``, ``"download"``, ...).
        user : str, optional
            Who did it.
        detail : mapping, optional
            JSON-serialisable detail. Never victims' personal data or passwords.
        """
        if not action:
            raise StoreError("an audit entry needs an action")
        with self._write() as con:
            entry_id = self._append_audit(con, action, user, detail or {})
        return entry_id

    def audit_log(self) -> pd.DataFrame:
        """The audit log, oldest first.

        Returns
        -------
        pandas.DataFrame
            ``id`` (int), ``at`` (datetime64, UTC), ``user``, ``action``, ``detail``
            (a dict per entry).
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, user, action, detail FROM minemap_audit ORDER BY id"
            ).fetchall()
        return self._audit_frame(rows, [at for _, at, *_ in rows])

    def data_version(self) -> int:
        """A counter that increases whenever the layers or batches change (cache key).

        Ingest, undo and a store copy bump it; audit-only entries, accounts, sessions
        and sign-in attempts do not.
        """
        with self._lock:
            return int(self._meta("data_version") or 0)

    def audit_version(self) -> int:
        """The id of the newest audit entry (0 if none): changes with every entry."""
        with self._lock:
            row = self._db.execute("SELECT max(id) FROM minemap_audit").fetchone()
        return int(row[0] or 0)

    # -- derived results (caches; not data) --------------------------------------------
    def get_derived(self, key: str) -> DerivedRecord | None:
        """The derived record under ``key`` as stored, or None (see :class:`Store`)."""
        with self._lock:
            row = self._db.execute(
                "SELECT key, params_sha256, inputs_json, minemap_version, created_at, "
                "payload, payload_sha256 FROM minemap_derived WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        key, params, inputs, version, created_at, payload, digest = row
        try:  # returned as stored: the caller judges a damaged row, the store never raises
            when = _parse_time(str(created_at))
        except ValueError:
            when = None
        return DerivedRecord(
            key=key,
            params_sha256=str(params),
            inputs_json=str(inputs),
            minemap_version=str(version),
            created_at=when or datetime.fromtimestamp(0, UTC),
            payload=bytes(payload) if isinstance(payload, (bytes, memoryview)) else b"",
            payload_sha256=str(digest),
        )

    def put_derived(
        self, key: str, *, params_sha256: str, inputs_json: str, payload: bytes
    ) -> DerivedRecord:
        """Store or replace the derived record under ``key`` (``data_version`` unchanged)."""
        record = DerivedRecord.new(
            key, params_sha256=params_sha256, inputs_json=inputs_json, payload=payload
        )
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO minemap_derived (key, params_sha256, inputs_json, "
                "minemap_version, created_at, payload, payload_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.key,
                    record.params_sha256,
                    record.inputs_json,
                    record.minemap_version,
                    _format_time(record.created_at),
                    sqlite3.Binary(record.payload),
                    record.payload_sha256,
                ),
            )
        return record

    def derived_keys(self) -> list[str]:
        """The keys of every derived record kept, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT key FROM minemap_derived ORDER BY key").fetchall()
        return [str(k) for (k,) in rows]

    def integrity_check(self) -> list[str]:
        """Check SQLite, GeoPackage and minemap invariants; ``[]`` when healthy.

        Checks: ``PRAGMA integrity_check`` and ``foreign_key_check``; the GeoPackage
        application id and metadata rows of every layer; that each R-tree holds
        exactly the non-empty geometries of its table; that every active batch has
        exactly its recorded number of rows and undone batches none; and that the
        audit log's hash chain is unbroken.
        """
        problems: list[str] = []
        with self._lock:
            con = self._db
            con.execute("BEGIN")
            try:
                self._check_into(con, problems)
            finally:
                con.execute("COMMIT")
        return problems

    def _check_into(self, con: sqlite3.Connection, problems: list[str]) -> None:
        result = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.extend(f"SQLite integrity: {r}" for r in result)
        for table, rowid, parent, _ in con.execute("PRAGMA foreign_key_check"):
            problems.append(f"table {table} row {rowid} refers to a missing {parent} row")
        if con.execute("PRAGMA application_id").fetchone()[0] != GPKG_APPLICATION_ID:
            problems.append("the file's application_id is not 'GPKG'")
        srs = con.execute("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = 4326").fetchone()
        if srs is None:
            problems.append("gpkg_spatial_ref_sys has no EPSG:4326 entry")
        for layer in LAYER_NAMES:
            problems.extend(self._check_layer(con, layer))
        counts = {
            layer: dict(
                con.execute(f"SELECT batch_id, count(*) FROM {_q(layer)} GROUP BY batch_id")  # noqa: S608
            )
            for layer in LAYER_NAMES
        }
        problems += self._batch_count_problems(
            counts,
            con.execute("SELECT batch_id, layer, status, feature_count FROM minemap_batches"),
        )
        problems += self._audit_chain_problems(
            con.execute(
                "SELECT id, at, user, action, detail, prev_hash, hash FROM minemap_audit "
                "ORDER BY id"
            )
        )
        if self._meta("data_version") is None:
            problems.append("minemap_meta has no data_version")

    @staticmethod
    def _check_layer(con: sqlite3.Connection, layer: str) -> list[str]:
        problems = []
        contents = con.execute(
            "SELECT data_type, srs_id FROM gpkg_contents WHERE table_name = ?", (layer,)
        ).fetchone()
        if contents != ("features", 4326):
            problems.append(f"layer {layer} is not registered in gpkg_contents as EPSG:4326")
        column = con.execute(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
            (layer,),
        ).fetchone()
        if column != ("geom", 4326):
            problems.append(f"layer {layer} is not registered in gpkg_geometry_columns")
        table, rtree = _q(layer), _q(f"rtree_{layer}_geom")
        missing = con.execute(
            f"SELECT count(*) FROM {table} WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) "  # noqa: S608
            f"AND fid NOT IN (SELECT id FROM {rtree})"
        ).fetchone()[0]
        stale = con.execute(
            f"SELECT count(*) FROM {rtree} WHERE id NOT IN (SELECT fid FROM {table})"  # noqa: S608
        ).fetchone()[0]
        if missing or stale:
            problems.append(
                f"spatial index of {layer} is out of date ({missing} features missing, "
                f"{stale} stale entries)"
            )
        return problems

    # -- accounts (issue 6): records only; the rules live in minemap.auth -------------
    _USER_COLUMNS = "name, role, password_hash, disabled, created_at, changed_at, created_by"

    @staticmethod
    def _user_from_row(row: tuple) -> UserRecord:
        name, role, password_hash, disabled, created_at, changed_at, created_by = row
        return UserRecord(
            name=name,
            role=role,
            password_hash=password_hash,
            disabled=bool(disabled),
            created_at=_parse_time(created_at),
            changed_at=_parse_time(changed_at),
            created_by=created_by,
        )

    def add_user(self, user: UserRecord, *, by: str | None = None) -> None:
        """Insert a new account and audit it (``user_added``) in one transaction.

        Raises
        ------
        StoreError
            An account with this name exists already.
        """
        with self._write() as con:
            taken = con.execute(
                "SELECT 1 FROM minemap_users WHERE name = ?", (user.name,)
            ).fetchone()
            if taken is not None:
                raise StoreError(
                    f"an account {user.name!r} exists already in {self.path}; "
                    "`minemap users list` shows the accounts"
                )
            con.execute(
                f"INSERT INTO minemap_users ({self._USER_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user.name,
                    user.role,
                    user.password_hash,
                    int(user.disabled),
                    _format_time(user.created_at),
                    _format_time(user.changed_at),
                    by if by is not None else user.created_by,
                ),
            )
            self._append_audit(con, "user_added", by, {"name": user.name, "role": user.role})

    def get_user(self, name: str) -> UserRecord | None:
        """The account called ``name``, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._USER_COLUMNS} FROM minemap_users WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchone()
        return None if row is None else self._user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        """Every account, enabled and disabled, sorted by name."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._USER_COLUMNS} FROM minemap_users ORDER BY name"  # noqa: S608
            ).fetchall()
        return [self._user_from_row(r) for r in rows]

    def update_user(
        self,
        name: str,
        *,
        at: datetime,
        by: str | None = None,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> UserRecord:
        """Change an account and audit it (``user_changed``) in one transaction.

        Disabling ends the account's sessions in the same transaction.

        Raises
        ------
        StoreError
            No account has this name.
        """
        changes, detail = self._user_changes(
            name, role=role, password_hash=password_hash, disabled=disabled
        )
        if "disabled" in changes:
            changes["disabled"] = int(changes["disabled"])  # SQLite has no boolean
        with self._write() as con:
            exists = con.execute("SELECT 1 FROM minemap_users WHERE name = ?", (name,)).fetchone()
            if exists is None:
                raise StoreError(
                    f"no account {name!r} in {self.path}; `minemap users list` shows the accounts"
                )
            if changes:
                assignments = ", ".join(f"{_q(k)} = ?" for k in changes)
                con.execute(
                    f"UPDATE minemap_users SET {assignments}, changed_at = ? WHERE name = ?",  # noqa: S608
                    (*changes.values(), _format_time(at), name),
                )
                if disabled:
                    detail["sessions_ended"] = con.execute(
                        "DELETE FROM minemap_sessions WHERE name = ?", (name,)
                    ).rowcount
                self._append_audit(con, "user_changed", by, detail)
        user = self.get_user(name)
        assert user is not None
        return user

    def record_login_attempt(self, name: str, *, at: datetime, outcome: LoginOutcome) -> None:
        """Remember one sign-in attempt (``data_version`` unchanged)."""
        if outcome not in ("ok", "bad", "refused"):
            raise StoreError(f"unknown sign-in outcome {outcome!r}")
        with self._write() as con:
            con.execute(
                "INSERT INTO minemap_login_attempts (name, at, outcome) VALUES (?, ?, ?)",
                (name, _format_time(at), outcome),
            )

    def login_attempts(self, *, since: datetime, name: str | None = None) -> list[LoginAttempt]:
        """Attempts at or after ``since`` (only ``name``'s if given), oldest first."""
        query = "SELECT name, at, outcome FROM minemap_login_attempts WHERE at >= ?"
        params: tuple[Any, ...] = (_format_time(since),)
        if name is not None:
            query += " AND name = ?"
            params += (name,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY at, id", params).fetchall()
        return [LoginAttempt(name=n, at=_parse_time(a), outcome=o) for n, a, o in rows]

    def add_session(self, session: SessionRecord) -> None:
        """Store a new session (``data_version`` unchanged)."""
        with self._write() as con:
            con.execute(
                "INSERT INTO minemap_sessions (token_hash, name, created_at, last_seen_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.name,
                    _format_time(session.created_at),
                    _format_time(session.last_seen_at),
                    _format_time(session.expires_at),
                ),
            )

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session with this token hash, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT token_hash, name, created_at, last_seen_at, expires_at "
                "FROM minemap_sessions WHERE token_hash = ?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        token_hash, name, created_at, last_seen_at, expires_at = row
        return SessionRecord(
            token_hash=token_hash,
            name=name,
            created_at=_parse_time(created_at),
            last_seen_at=_parse_time(last_seen_at),
            expires_at=_parse_time(expires_at),
        )

    def touch_session(self, token_hash: str, *, at: datetime) -> None:
        """Set a session's ``last_seen_at``; no-op if it is gone."""
        with self._write() as con:
            con.execute(
                "UPDATE minemap_sessions SET last_seen_at = ? WHERE token_hash = ?",
                (_format_time(at), token_hash),
            )

    def delete_sessions(
        self,
        *,
        token_hash: str | None = None,
        name: str | None = None,
        expired_before: datetime | None = None,
    ) -> int:
        """Delete the sessions matching any given criterion; returns how many."""
        where, params = [], []
        if token_hash is not None:
            where.append("token_hash = ?")
            params.append(token_hash)
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if expired_before is not None:
            where.append("expires_at < ?")
            params.append(_format_time(expired_before))
        if not where:
            return 0
        with self._write() as con:
            return con.execute(
                f"DELETE FROM minemap_sessions WHERE {' OR '.join(where)}",  # noqa: S608
                params,
            ).rowcount

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL into the .gpkg)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __repr__(self) -> str:
        return f"GeoPackageStore({os.fspath(self.path)!r})"


def _duplicate_message(file_name: str, batch: BatchRecord) -> str:
    return (
        f"{file_name!r} was already imported on {_human_time(batch.created_at)} as batch "
        f"{batch.batch_id} (layer {batch.layer}, file {batch.file_name!r}, "
        f"{batch.feature_count} features); nothing was stored. Undo that batch first "
        "to import it again."
    )


def _q(name: str) -> str:
    """Quote an SQL identifier; only plain lower-case names (layers, fields) are allowed.

    Every identifier interpolated into SQL in this module comes from the layer schemas
    or from constants, and passes through here (hence the ``noqa: S608`` marks).
    """
    if not _IDENTIFIER.fullmatch(name):
        raise StoreError(f"not a valid table or column name: {name!r}")
    return f'"{name}"'


def _split_sql(script: str) -> list[str]:
    """Split a script of CREATE statements (triggers contain ';' inside BEGIN…END)."""
    statements, buffer = [], []
    for line in script.strip().splitlines():
        buffer.append(line)
        text = "\n".join(buffer).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            buffer = []
    if buffer and "\n".join(buffer).strip():
        statements.append("\n".join(buffer).strip())
    return statements
