"""The server store: PostgreSQL + PostGIS, for a shared multi-user server (issue 7).

Layout (see ``docs/store.md``):

- ``schema_migrations``: the numbered SQL files of ``minemap/store/migrations``
  applied to this database (version, name, time), so an existing database
  upgrades in place;
- ``minemap_meta``, ``minemap_batches`` and ``minemap_audit`` as in the GeoPackage
  store (audit append-only and hash-chained, batches only *active → undone*, both
  guarded by triggers);
- one table per canonical layer, named as the layer: ``fid`` (identity), ``geom``
  (``geometry(Point|MultiPolygon|Geometry, 4326)``, GiST index), the schema's
  fields, ``batch_id`` (foreign key, indexed) and ``extra_json``. Layer tables are
  made from the layer schemas when the store opens; fields that are new since the
  store was made are added as nullable columns.

Every write is one transaction on one ``psycopg`` connection. Imports stream rows
with ``COPY`` (geometries as hex EWKB with SRID 4326); an advisory lock per
(layer, SHA-256) and a partial unique index make concurrent duplicate imports
impossible; the audit chain is appended under its own advisory lock, so parallel
imports write their rows in parallel and queue only for the last few statements.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
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
)
from minemap.store._frames import PreparedRows, canonical_frame, prepare_rows
from minemap.store._gpkg import _duplicate_message, geometry_type_name

if TYPE_CHECKING:
    import psycopg

    from minemap.store.copy import AuditEntry

__all__ = ["MIGRATIONS", "PG_SCHEMA_VERSION", "PostGISStore", "redact_url"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_CHUNK_ROWS = 5_000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_PG_TYPES = {
    "str": "text",
    "enum": "text",
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "date": "date",
}
_REL = "to_regclass(quote_ident(current_schema()) || '.' || %s)"
"""SQL: the table named by the parameter in the store's schema (first on search_path)."""
_PG_GEOMETRY = {"POINT": "Point", "MULTIPOLYGON": "MultiPolygon", "GEOMETRY": "Geometry"}
# advisory lock keys (first int4 of the two-key form): "mm" + purpose
_LOCK_MIGRATE = 0x6D6D0001
_LOCK_AUDIT = 0x6D6D0002
_LOCK_IMPORT = 0x6D6D0003
_GUARD_TRIGGERS = {
    "minemap_audit": (
        "minemap_audit_no_update",
        "minemap_audit_no_delete",
        "minemap_audit_no_truncate",
    ),
    "minemap_batches": (
        "minemap_batches_no_delete",
        "minemap_batches_no_truncate",
        "minemap_batches_only_undo",
    ),
    "minemap_users": ("minemap_users_no_delete", "minemap_users_no_truncate"),
}


def _load_migrations() -> tuple[tuple[int, str, str], ...]:
    """The numbered SQL files of ``minemap/store/migrations``: (version, name, sql)."""
    found = []
    for entry in resources.files("minemap.store").joinpath("migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):  # pragma: no cover - packaging error
        raise StoreError(f"minemap's store migrations are not numbered 1..n: {versions}")
    return tuple(found)


MIGRATIONS = _load_migrations()
"""Every schema migration, oldest first: ``(version, name, sql)``."""

PG_SCHEMA_VERSION = MIGRATIONS[-1][0]
"""The schema version this minemap writes (the newest migration)."""


def redact_url(url: str) -> str:
    """``url`` without its password, for messages, logs and ``store.path``.

    Parameters
    ----------
    url : str
        A ``postgresql://`` connection URL.

    Returns
    -------
    str
        The same URL with any password replaced by ``***``.
    """
    return re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)


def _q(name: str) -> str:
    """Quote an SQL identifier; only plain lower-case names (layers, fields) are allowed.

    Every identifier interpolated into SQL in this module comes from the layer schemas
    or from constants, and passes through here (hence the ``noqa: S608`` marks).
    """
    if not _IDENTIFIER.fullmatch(name):
        raise StoreError(f"not a valid table or column name: {name!r}")
    return f'"{name}"'


def _fmt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    """An account time as UTC; naive times are refused (as in the GeoPackage store)."""
    if moment.tzinfo is None:
        raise StoreError("account times must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def _import_psycopg():
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// store needs the psycopg driver: pip install 'minemap[postgis]'"
        ) from None
    return psycopg


class PostGISStore(Store):
    """The minemap store in a PostgreSQL database with PostGIS.

    Use :func:`minemap.store.open_store` with a ``postgresql://`` URL rather than
    this constructor.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/database`` (libpq URL; any libpq
        parameter such as ``sslmode`` may follow ``?``).
    create : bool, default True
        Create the minemap tables when the database has none yet.
    connect_timeout_s : int, default 10
        How long to wait for the server.

    Raises
    ------
    StoreError
        The server cannot be reached, PostGIS is missing and cannot be created, the
        database holds tables with minemap's names that minemap did not make, it was
        written by a newer minemap, or it holds no store and ``create`` is False.
        Messages never show the password.
    """

    def __init__(self, url: str, *, create: bool = True, connect_timeout_s: int = 10) -> None:
        psycopg = _import_psycopg()
        self.path = redact_url(url)
        self._lock = threading.RLock()
        self._con: psycopg.Connection | None = None
        try:
            con = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout_s)
        except psycopg.Error as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot open the store {self.path}: {redact_url(detail)}") from None
        self._con = con
        try:
            con.execute("SET TIME ZONE 'UTC'")
            self._migrate(create=create)
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"{self.path} is not a usable minemap store ({exc})") from None
        except BaseException:
            self.close()
            raise

    # -- opening and migrating ----------------------------------------------------------
    def _exists(self, cur: psycopg.Cursor, name: str) -> bool:
        """Whether table ``name`` exists in the store's schema (the first on search_path)."""
        return cur.execute(
            "SELECT " + _REL + " IS NOT NULL",
            (_q(name),),
        ).fetchone()[0]

    def _migrate(self, *, create: bool) -> None:
        """Apply pending migrations and create/upgrade layer tables, in one transaction."""
        con = self._db
        with con.transaction(), con.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_MIGRATE,))
            fresh = not self._exists(cur, "minemap_meta")
            if fresh:
                if not create:
                    raise StoreError(f"no minemap store at {self.path}")
                taken = [
                    n
                    for n in (*LAYER_NAMES, "minemap_batches", "minemap_audit", "schema_migrations")
                    if self._exists(cur, n)
                ]
                if taken:
                    raise StoreError(
                        f"{self.path} is a database but not a minemap store (it has table(s) "
                        f"{', '.join(taken)} but no minemap_meta); minemap never writes into "
                        "other applications' tables: choose another database"
                    )
                self._ensure_postgis(cur)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
                "applied_by text NOT NULL)"
            )
            applied = {v for (v,) in cur.execute("SELECT version FROM schema_migrations")}
            if applied and max(applied) > PG_SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer minemap (store schema {max(applied)}, "
                    f"this minemap reads up to {PG_SCHEMA_VERSION}); upgrade minemap"
                )
            changed = False
            for version, name, sql in MIGRATIONS:
                if version in applied:
                    continue
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, applied_by) VALUES (%s, %s, %s)",
                    (version, name, f"minemap {__version__}"),
                )
                changed = True
            if fresh:
                cur.executemany(
                    "INSERT INTO minemap_meta VALUES (%s, %s)",
                    [
                        ("schema_version", str(PG_SCHEMA_VERSION)),
                        ("data_version", "0"),
                        ("created_at", _fmt_time(datetime.now(UTC))),
                        ("created_by", f"minemap {__version__}"),
                    ],
                )
                self._append_audit(
                    cur, "store_created", None, {"schema_version": PG_SCHEMA_VERSION}
                )
            elif changed:
                cur.execute(
                    "UPDATE minemap_meta SET value = %s WHERE key = 'schema_version'",
                    (str(PG_SCHEMA_VERSION),),
                )
            changed = self._sync_layers(cur) or changed
            if changed and not fresh:
                self._bump_version(cur)

    @staticmethod
    def _ensure_postgis(cur: psycopg.Cursor) -> None:
        have = cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if have:
            return
        try:
            with cur.connection.transaction():
                cur.execute("CREATE EXTENSION postgis")
        except Exception as exc:
            raise StoreError(
                f"the database has no PostGIS extension and minemap cannot create it ({exc}); "
                "ask the database administrator to run CREATE EXTENSION postgis"
            ) from None

    def _sync_layers(self, cur: psycopg.Cursor) -> bool:
        """Create missing layer tables and add schema fields new since the store was made."""
        changed = False
        for layer in LAYER_NAMES:
            schema = get_schema(layer)
            if not self._exists(cur, layer):
                self._create_layer(cur, schema)
                changed = True
                continue
            have = {
                name
                for (name,) in cur.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = " + _REL + " "  # noqa: S608
                    "AND attnum > 0 AND NOT attisdropped",
                    (_q(layer),),
                )
            }
            for fld in schema.fields:
                if fld.name not in have:
                    cur.execute(
                        f"ALTER TABLE {_q(layer)} ADD COLUMN {_q(fld.name)} {_PG_TYPES[fld.kind]}"
                    )
                    changed = True
        return changed

    @staticmethod
    def _create_layer(cur: psycopg.Cursor, schema: LayerSchema) -> None:
        t = schema.name
        gtype = _PG_GEOMETRY[geometry_type_name(schema)]
        cols = ['"fid" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY']
        cols.append(f'"geom" geometry({gtype}, 4326)')
        for fld in schema.fields:
            not_null = " NOT NULL" if fld.required else ""
            cols.append(f"{_q(fld.name)} {_PG_TYPES[fld.kind]}{not_null}")
        cols.append('"batch_id" text NOT NULL REFERENCES minemap_batches (batch_id)')
        cols.append('"extra_json" json')
        types = ", ".join(f"'ST_{g}'" for g in schema.geometry_types)
        cols.append(
            f"CONSTRAINT {_q(t + '_geom_type')} CHECK "
            f"(geom IS NULL OR ST_GeometryType(geom) IN ({types}))"
        )
        cols.append(f"CONSTRAINT {_q(t + '_geom_srid')} CHECK (ST_SRID(geom) = 4326)")
        cur.execute(f"CREATE TABLE {_q(t)} ({', '.join(cols)})")
        cur.execute(f"CREATE INDEX {_q(t + '_batch_id')} ON {_q(t)} (batch_id)")
        cur.execute(f"CREATE INDEX {_q(t + '_geom')} ON {_q(t)} USING gist (geom)")
        from psycopg import sql

        cur.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(t), sql.Literal(schema.description)
            )
        )

    # -- plumbing --------------------------------------------------------------------
    @property
    def _db(self) -> psycopg.Connection:
        if self._con is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._con

    @contextmanager
    def _write(self) -> Iterator[psycopg.Cursor]:
        """One write transaction, rolled back on any error."""
        psycopg = _import_psycopg()
        with self._lock:
            con = self._db
            try:
                with con.transaction(), con.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                raise StoreError(f"the store {self.path} failed: {exc}; try again") from None

    @contextmanager
    def _snapshot(self) -> Iterator[psycopg.Cursor]:
        """A read-only REPEATABLE READ transaction: one consistent view for several queries."""
        with self._lock:
            con = self._db
            with con.transaction(), con.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cur

    def _meta(self, cur: psycopg.Cursor, key: str) -> str | None:
        row = cur.execute("SELECT value FROM minemap_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _bump_version(cur: psycopg.Cursor) -> None:
        cur.execute(
            "UPDATE minemap_meta SET value = (value::bigint + 1)::text WHERE key = 'data_version'"
        )

    @staticmethod
    def _append_audit(
        cur: psycopg.Cursor, action: str, user: str | None, detail: Mapping[str, Any]
    ) -> int:
        """Append one hash-chained audit entry; serialised by an advisory lock.

        The entry's time is the server's clock read *after* the lock, so ids and
        times increase together across every process and server.
        """
        cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_AUDIT,))
        last = cur.execute("SELECT id, hash FROM minemap_audit ORDER BY id DESC LIMIT 1").fetchone()
        entry_id, prev_hash = (1, "") if last is None else (last[0] + 1, last[1])
        (now,) = cur.execute("SELECT clock_timestamp()").fetchone()
        at = _fmt_time(now)
        text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
        digest = _audit_hash(prev_hash, entry_id, at, user, action, text)
        cur.execute(
            "INSERT INTO minemap_audit (id, at, user_name, action, detail, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (entry_id, datetime.strptime(at, _TIME_FORMAT).replace(tzinfo=UTC), user, action,
             text, prev_hash, digest),
        )  # fmt: skip
        return entry_id

    _BATCH_COLUMNS = (
        "batch_id, file_name, sha256, layer, user_name, created_at, feature_count, "
        "repair_count, warning_count, status, undone_at, undone_by, report_json, "
        "extra_columns_json"
    )

    @staticmethod
    def _stored_time(value: datetime | None) -> datetime | None:
        return _utc(value)

    def _find_batch(self, cur: psycopg.Cursor, *, sha256: str, layer: str) -> BatchRecord | None:
        row = cur.execute(
            f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches "  # noqa: S608
            "WHERE sha256 = %s AND layer = %s AND status = 'active'",
            (sha256, layer),
        ).fetchone()
        return None if row is None else self._batch_from_row(row)

    @staticmethod
    def _new_batch_id(cur: psycopg.Cursor) -> str:
        while True:
            batch_id = uuid.uuid4().hex[:12]
            taken = cur.execute(
                "SELECT 1 FROM minemap_batches WHERE batch_id = %s", (batch_id,)
            ).fetchone()
            if taken is None:
                return batch_id

    def _copy_rows(
        self,
        cur: psycopg.Cursor,
        layer: str,
        schema: LayerSchema,
        prepared: PreparedRows,
        batch_id: str,
        *,
        file_name: str,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Stream the rows with one ``COPY`` per chunk (an error names the row)."""
        psycopg = _import_psycopg()
        names = [*schema.field_names, "batch_id", "extra_json", "geom"]
        copy_sql = f"COPY {_q(layer)} ({', '.join(_q(n) for n in names)}) FROM STDIN"
        ewkb = shapely.to_wkb(
            shapely.set_srid(prepared.geometries, 4326), hex=True, include_srid=True
        )
        total = len(prepared)
        kinds = [schema.field(n).kind for n in schema.field_names]
        columns = [prepared.columns[n] for n in schema.field_names]
        written = 0
        while written < total:
            stop = min(written + _CHUNK_ROWS, total)
            texts = [_copy_texts(c[written:stop], k) for c, k in zip(columns, kinds, strict=True)]
            texts.append([batch_id] * (stop - written))
            texts.append(_copy_texts(prepared.extra_json[written:stop], "str"))
            texts.append(["\\N" if g is None else g for g in ewkb[written:stop].tolist()])
            block = "".join("\t".join(row) + "\n" for row in zip(*texts, strict=True))
            try:
                with cur.copy(copy_sql) as copy:
                    copy.write(block)
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                raise StoreError(
                    f"cannot store {file_name!r} in layer {layer}: the database refused "
                    f"{self._where(exc, schema, prepared, written)} ({_first_line(exc)}); "
                    "nothing was stored"
                ) from None
            written = stop
            if progress is not None:
                progress(written, total)

    @staticmethod
    def _where(exc: Exception, schema: LayerSchema, prepared: PreparedRows, offset: int) -> str:
        """Name the refused row (and field) from the server's COPY error context."""
        diag = getattr(exc, "diag", None)
        context = (diag.context or "") if diag is not None else ""
        column = (diag.column_name or "") if diag is not None else ""
        match = re.search(r"line (\d+)", context)
        if not match:
            return f"row {offset} or one after it"
        row = offset + int(match[1]) - 1
        ids = prepared.columns.get(schema.id_field)
        label = f"row {row}"
        if ids is not None and row < len(ids):
            label += f" ({schema.id_field} {ids[row]})"
        return label + (f", field {column}" if column else "")

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
            The same bytes are already active for this layer (also when another
            process imports them at the same moment: one wins, the other gets this).
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
        report_json = json.dumps(report.to_dict(), ensure_ascii=False, default=str)
        extra_columns_json = json.dumps([list(p) for p in prepared.extra_columns])
        with self._write() as cur:
            # one importer per (layer, bytes) at a time; the partial unique index backs it
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_LOCK_IMPORT, f"{layer}:{sha256}"),
            )
            existing = self._find_batch(cur, sha256=sha256, layer=layer)
            if existing is not None:
                raise DuplicateImportError(_duplicate_message(file_name, existing), existing)
            batch_id = self._new_batch_id(cur)
            cur.execute(
                f"INSERT INTO minemap_batches ({self._BATCH_COLUMNS}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s, %s, %s, 'active', "
                "NULL, NULL, %s, %s)",
                (
                    batch_id,
                    file_name,
                    sha256,
                    layer,
                    user,
                    len(prepared),
                    len(report.repairs),
                    len(report.warnings),
                    report_json,
                    extra_columns_json,
                ),
            )
            self._copy_rows(
                cur, layer, schema, prepared, batch_id, file_name=file_name, progress=progress
            )
            self._append_audit(
                cur,
                "ingest",
                user,
                {
                    "batch_id": batch_id,
                    "layer": layer,
                    "file_name": file_name,
                    "sha256": sha256,
                    "features": len(prepared),
                    "repairs": len(report.repairs),
                },
            )
            self._bump_version(cur)
        return batch_id

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
        is disabled for that one statement, inside the transaction). Then accounts,
        batches, rows, audit entries and derived records (replacing any the empty store
        had) are written verbatim and a ``store_copied`` entry is appended.
        """
        total = sum(len(r) for r in rows.values())
        with self._write() as cur:
            cur.execute("LOCK TABLE minemap_batches, minemap_audit IN EXCLUSIVE MODE")
            (n_batches,) = cur.execute("SELECT count(*) FROM minemap_batches").fetchone()
            actions = [a for (a,) in cur.execute("SELECT action FROM minemap_audit ORDER BY id")]
            (n_users,) = cur.execute("SELECT count(*) FROM minemap_users").fetchone()
            if n_batches or n_users or actions != ["store_created"]:
                raise StoreError(
                    f"the store {self.path} is not empty ({n_batches} batches, {n_users} "
                    f"accounts, {len(actions)} audit entries); copy into a new store"
                )
            cur.executemany(
                f"INSERT INTO minemap_users ({self._USER_COLUMNS}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (u.name, u.role, u.password_hash, u.disabled, _aware(u.created_at),
                     _aware(u.changed_at), u.created_by)
                    for u in users
                ],
            )  # fmt: skip
            cur.execute("ALTER TABLE minemap_audit DISABLE TRIGGER minemap_audit_no_delete")
            cur.execute("DELETE FROM minemap_audit")
            cur.execute("ALTER TABLE minemap_audit ENABLE TRIGGER minemap_audit_no_delete")
            cur.executemany(
                "INSERT INTO minemap_audit (id, at, user_name, action, detail, prev_hash, hash) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        e.id,
                        datetime.strptime(e.at, _TIME_FORMAT).replace(tzinfo=UTC),
                        e.user,
                        e.action,
                        e.detail,
                        e.prev_hash,
                        e.hash,
                    )
                    for e in audit
                ],
            )
            done = 0
            for batch in batches:
                cur.execute(
                    f"INSERT INTO minemap_batches ({self._BATCH_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        batch.batch_id,
                        batch.file_name,
                        batch.sha256,
                        batch.layer,
                        batch.user,
                        batch.created_at,
                        batch.feature_count,
                        batch.repair_count,
                        batch.warning_count,
                        batch.status,
                        batch.undone_at,
                        batch.undone_by,
                        json.dumps(batch.report, ensure_ascii=False, default=str),
                        json.dumps([list(p) for p in batch.extra_columns]),
                    ),
                )
                prepared = rows.get(batch.batch_id)
                if prepared is None or not len(prepared):
                    continue
                schema = get_schema(batch.layer)
                start = done

                def step(written: int, _total: int, start: int = start) -> None:
                    if progress is not None:
                        progress(start + written, total)

                self._copy_rows(
                    cur, batch.layer, schema, prepared, batch.batch_id,
                    file_name=batch.file_name, progress=step,
                )  # fmt: skip
                done += len(prepared)
            cur.execute("DELETE FROM minemap_derived")  # caches of the empty store, if any
            cur.executemany(
                "INSERT INTO minemap_derived (key, params_sha256, inputs_json, "
                "minemap_version, created_at, payload, payload_sha256) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (d.key, d.params_sha256, d.inputs_json, d.minemap_version,
                     _aware(d.created_at), d.payload, d.payload_sha256)
                    for d in derived
                ],
            )  # fmt: skip
            self._append_audit(cur, "store_copied", None, detail)
            self._bump_version(cur)

    def find_batch(self, *, sha256: str, layer: str) -> BatchRecord | None:
        """The active batch of ``layer`` imported from bytes with ``sha256``, or None."""
        with self._lock, self._db.cursor() as cur:
            return self._find_batch(cur, sha256=sha256, layer=layer)

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
            import order (batch by batch, rows in file order).
        """
        schema = get_schema(layer)
        personal = set(schema.personal_fields)
        fields = [f.name for f in schema.fields if include_personal or f.name not in personal]
        select = []
        for name in fields:
            kind = schema.field(name).kind
            col = f"t.{_q(name)}"
            select.append(f"to_char({col}, 'YYYY-MM-DD')" if kind == "date" else col)
        select += ["t.batch_id", "t.extra_json::text", "ST_AsBinary(t.geom)"]
        sql = (
            f"SELECT {', '.join(select)} FROM {_q(layer)} t "  # noqa: S608
            "JOIN minemap_batches b ON b.batch_id = t.batch_id ORDER BY b.seq, t.fid"
        )
        with self._snapshot() as cur:
            cur.execute(sql, binary=True)
            rows = cur.fetchall()
            extra_rows = cur.execute(
                "SELECT extra_columns_json FROM minemap_batches "
                "WHERE layer = %s AND status = 'active' ORDER BY seq",
                (layer,),
            ).fetchall()
        n_fields = len(fields)
        transposed = list(zip(*rows, strict=True)) if rows else [()] * (n_fields + 3)
        extra_columns = [tuple(p) for (text,) in extra_rows for p in json.loads(text)]
        try:
            blobs = np.empty(len(rows), dtype=object)
            blobs[:] = [None if b is None else bytes(b) for b in transposed[n_fields + 2]]
            return canonical_frame(
                schema,
                fields=fields,
                columns=dict(zip(fields, transposed[:n_fields], strict=True)),
                batch_ids=transposed[n_fields],
                extra_json=transposed[n_fields + 1],
                extra_columns=extra_columns,
                geometries=shapely.from_wkb(blobs),
            )
        except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
            raise StoreError(
                f"layer {layer} in {self.path} holds values minemap cannot read ({exc}); "
                "was it edited outside minemap? run `integrity_check`"
            ) from None

    def counts(self) -> dict[str, int]:
        """Stored feature count per layer (every canonical layer)."""
        sql = " UNION ALL ".join(
            f"SELECT {i}, count(*) FROM {_q(layer)}"  # noqa: S608
            for i, layer in enumerate(LAYER_NAMES)
        )
        with self._lock, self._db.cursor() as cur:
            found = dict(cur.execute(sql).fetchall())
        return {layer: int(found[i]) for i, layer in enumerate(LAYER_NAMES)}

    def list_batches(self) -> list[BatchRecord]:
        """Every batch, active and undone, oldest first."""
        with self._lock, self._db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches ORDER BY seq"  # noqa: S608
            ).fetchall()
        return [self._batch_from_row(r) for r in rows]

    def get_batch(self, batch_id: str) -> BatchRecord:
        """One batch by id.

        Raises
        ------
        StoreError
            No batch has this id.
        """
        with self._lock, self._db.cursor() as cur:
            row = cur.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches WHERE batch_id = %s",  # noqa: S608
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
        with self._write() as cur:
            row = cur.execute(
                f"SELECT {self._BATCH_COLUMNS} FROM minemap_batches "  # noqa: S608
                "WHERE batch_id = %s FOR UPDATE",
                (batch_id,),
            ).fetchone()
            if row is None:
                raise self._no_such_batch(batch_id)
            batch = self._batch_from_row(row)
            self._check_undoable(batch)
            removed = cur.execute(
                f"DELETE FROM {_q(batch.layer)} WHERE batch_id = %s",  # noqa: S608
                (batch_id,),
            ).rowcount
            cur.execute(
                "UPDATE minemap_batches SET status = 'undone', undone_at = clock_timestamp(), "
                "undone_by = %s WHERE batch_id = %s",
                (user, batch_id),
            )
            self._append_audit(cur, "undo", user, self._undo_detail(batch, removed))
            self._bump_version(cur)
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
        with self._write() as cur:
            entry_id = self._append_audit(cur, action, user, detail or {})
        return entry_id

    def audit_log(self) -> pd.DataFrame:
        """The audit log, oldest first.

        Returns
        -------
        pandas.DataFrame
            ``id`` (int), ``at`` (datetime64, UTC), ``user``, ``action``, ``detail``
            (a dict per entry).
        """
        with self._lock, self._db.cursor() as cur:
            rows = cur.execute(
                "SELECT id, at, user_name, action, detail FROM minemap_audit ORDER BY id"
            ).fetchall()
        return self._audit_frame(rows, [_fmt_time(at) for _, at, *_ in rows])

    def data_version(self) -> int:
        """A counter that increases whenever the layers or batches change (cache key).

        Ingest, undo and a store copy bump it; audit-only entries, accounts, sessions
        and sign-in attempts do not.
        """
        with self._lock, self._db.cursor() as cur:
            return int(self._meta(cur, "data_version") or 0)

    def audit_version(self) -> int:
        """The id of the newest audit entry (0 if none): changes with every entry."""
        with self._lock, self._db.cursor() as cur:
            row = cur.execute("SELECT max(id) FROM minemap_audit").fetchone()
        return int(row[0] or 0)

    def schema_version(self) -> int:
        """The newest migration applied to this database."""
        with self._lock, self._db.cursor() as cur:
            return int(cur.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])

    # -- derived results (caches; not data) --------------------------------------------
    def get_derived(self, key: str) -> DerivedRecord | None:
        """The derived record under ``key`` as stored, or None (see :class:`Store`)."""
        with self._lock, self._db.cursor(binary=True) as cur:
            row = cur.execute(
                "SELECT key, params_sha256, inputs_json, minemap_version, created_at, "
                "payload, payload_sha256 FROM minemap_derived WHERE key = %s",
                (key,),
            ).fetchone()
        if row is None:
            return None
        key, params, inputs, version, created_at, payload, digest = row
        return DerivedRecord(
            key=key,
            params_sha256=str(params),
            inputs_json=str(inputs),
            minemap_version=str(version),
            created_at=_utc(created_at) or datetime.fromtimestamp(0, UTC),
            payload=bytes(payload),
            payload_sha256=str(digest),
        )

    def derived_keys(self) -> list[str]:
        """The keys of every derived record kept, sorted."""
        with self._lock, self._db.cursor() as cur:
            rows = cur.execute("SELECT key FROM minemap_derived ORDER BY key").fetchall()
        return [str(k) for (k,) in rows]

    def put_derived(
        self, key: str, *, params_sha256: str, inputs_json: str, payload: bytes
    ) -> DerivedRecord:
        """Store or replace the derived record under ``key`` (``data_version`` unchanged)."""
        record = DerivedRecord.new(
            key, params_sha256=params_sha256, inputs_json=inputs_json, payload=payload
        )
        with self._write() as cur:
            cur.execute(
                "INSERT INTO minemap_derived (key, params_sha256, inputs_json, "
                "minemap_version, created_at, payload, payload_sha256) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
                "params_sha256 = EXCLUDED.params_sha256, inputs_json = EXCLUDED.inputs_json, "
                "minemap_version = EXCLUDED.minemap_version, "
                "created_at = EXCLUDED.created_at, payload = EXCLUDED.payload, "
                "payload_sha256 = EXCLUDED.payload_sha256",
                (
                    record.key,
                    record.params_sha256,
                    record.inputs_json,
                    record.minemap_version,
                    record.created_at,
                    record.payload,
                    record.payload_sha256,
                ),
            )
        return record

    def integrity_check(self) -> list[str]:
        """Check minemap's invariants in the database; ``[]`` when healthy.

        Checks: every migration applied; every layer table has its SRID-4326 typed
        geometry column and GiST index; the guard triggers of the audit log and the
        batches exist and are enabled; every active batch has exactly its recorded
        number of rows and undone batches none, and no row belongs to an unknown
        batch; the audit log's hash chain is unbroken; ``data_version`` exists.
        """
        problems: list[str] = []
        with self._snapshot() as cur:
            self._check_into(cur, problems)
        return problems

    def _check_into(self, cur: psycopg.Cursor, problems: list[str]) -> None:
        applied = {v for (v,) in cur.execute("SELECT version FROM schema_migrations")}
        missing = [v for v, _, _ in MIGRATIONS if v not in applied]
        if missing:
            problems.append(f"migrations {missing} are not applied")
        for layer in LAYER_NAMES:
            schema = get_schema(layer)
            want = f"geometry({_PG_GEOMETRY[geometry_type_name(schema)]},4326)"
            column = cur.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "  # noqa: S608
                "WHERE attrelid = " + _REL + " AND attname = 'geom' AND NOT attisdropped",
                (_q(layer),),
            ).fetchone()
            if column is None or column[0].lower() != want.lower():
                problems.append(f"layer {layer} has no {want} column")
            gist = cur.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "  # noqa: S608
                "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = " + _REL + " "
                "AND a.amname = 'gist'",
                (_q(layer),),
            ).fetchone()
            if gist is None:
                problems.append(f"layer {layer} has no spatial (GiST) index")
        for table, names in _GUARD_TRIGGERS.items():
            found = dict(
                cur.execute(
                    "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = " + _REL,  # noqa: S608
                    (_q(table),),
                ).fetchall()
            )
            for name in names:
                if name not in found:
                    problems.append(f"guard trigger {name} on {table} is missing")
                elif found[name] == "D":
                    problems.append(f"guard trigger {name} on {table} is disabled")
        counts = {}
        for layer in LAYER_NAMES:
            counts[layer] = dict(
                cur.execute(
                    f"SELECT batch_id, count(*) FROM {_q(layer)} GROUP BY batch_id"  # noqa: S608
                ).fetchall()
            )
        problems += self._batch_count_problems(
            counts,
            cur.execute(
                "SELECT batch_id, layer, status, feature_count FROM minemap_batches ORDER BY seq"
            ).fetchall(),
        )
        problems += self._audit_chain_problems(
            (entry_id, _fmt_time(at), *rest)
            for entry_id, at, *rest in cur.execute(
                "SELECT id, at, user_name, action, detail, prev_hash, hash FROM minemap_audit "
                "ORDER BY id"
            ).fetchall()
        )
        if self._meta(cur, "data_version") is None:
            problems.append("minemap_meta has no data_version")

    # -- accounts (issue 6): records only; the rules live in minemap.auth -------------
    _USER_COLUMNS = "name, role, password_hash, disabled, created_at, changed_at, created_by"

    @staticmethod
    def _user_from_row(row: Sequence[Any]) -> UserRecord:
        name, role, password_hash, disabled, created_at, changed_at, created_by = row
        return UserRecord(
            name=name,
            role=role,
            password_hash=password_hash,
            disabled=bool(disabled),
            created_at=_utc(created_at),
            changed_at=_utc(changed_at),
            created_by=created_by,
        )

    def add_user(self, user: UserRecord, *, by: str | None = None) -> None:
        """Insert a new account and audit it (``user_added``) in one transaction.

        Raises
        ------
        StoreError
            An account with this name exists already.
        """
        psycopg = _import_psycopg()
        try:
            with self._write() as cur:
                cur.execute(
                    f"INSERT INTO minemap_users ({self._USER_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        user.name,
                        user.role,
                        user.password_hash,
                        user.disabled,
                        _aware(user.created_at),
                        _aware(user.changed_at),
                        by if by is not None else user.created_by,
                    ),
                )
                self._append_audit(cur, "user_added", by, {"name": user.name, "role": user.role})
        except psycopg.errors.UniqueViolation:
            raise StoreError(
                f"an account {user.name!r} exists already in {self.path}; "
                "`minemap users list` shows the accounts"
            ) from None

    def get_user(self, name: str) -> UserRecord | None:
        """The account called ``name``, or None."""
        with self._lock, self._db.cursor() as cur:
            row = cur.execute(
                f"SELECT {self._USER_COLUMNS} FROM minemap_users WHERE name = %s",  # noqa: S608
                (name,),
            ).fetchone()
        return None if row is None else self._user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        """Every account, enabled and disabled, sorted by name."""
        with self._lock, self._db.cursor() as cur:
            rows = cur.execute(
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
        when = _aware(at)
        with self._write() as cur:
            exists = cur.execute(
                "SELECT 1 FROM minemap_users WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            if exists is None:
                raise StoreError(
                    f"no account {name!r} in {self.path}; `minemap users list` shows the accounts"
                )
            if changes:
                assignments = ", ".join(f"{_q(k)} = %s" for k in changes)
                cur.execute(
                    f"UPDATE minemap_users SET {assignments}, changed_at = %s WHERE name = %s",  # noqa: S608
                    (*changes.values(), when, name),
                )
                if disabled:
                    detail["sessions_ended"] = cur.execute(
                        "DELETE FROM minemap_sessions WHERE name = %s", (name,)
                    ).rowcount
                self._append_audit(cur, "user_changed", by, detail)
        user = self.get_user(name)
        assert user is not None
        return user

    def record_login_attempt(self, name: str, *, at: datetime, outcome: LoginOutcome) -> None:
        """Remember one sign-in attempt (``data_version`` unchanged)."""
        if outcome not in ("ok", "bad", "refused"):
            raise StoreError(f"unknown sign-in outcome {outcome!r}")
        when = _aware(at)
        with self._write() as cur:
            cur.execute(
                "INSERT INTO minemap_login_attempts (name, at, outcome) VALUES (%s, %s, %s)",
                (name, when, outcome),
            )

    def login_attempts(self, *, since: datetime, name: str | None = None) -> list[LoginAttempt]:
        """Attempts at or after ``since`` (only ``name``'s if given), oldest first."""
        query = "SELECT name, at, outcome FROM minemap_login_attempts WHERE at >= %s"
        params: tuple[Any, ...] = (_aware(since),)
        if name is not None:
            query += " AND name = %s"
            params += (name,)
        with self._lock, self._db.cursor() as cur:
            rows = cur.execute(query + " ORDER BY at, id", params).fetchall()
        return [LoginAttempt(name=n, at=_utc(a), outcome=o) for n, a, o in rows]

    def add_session(self, session: SessionRecord) -> None:
        """Store a new session (``data_version`` unchanged)."""
        with self._write() as cur:
            cur.execute(
                "INSERT INTO minemap_sessions (token_hash, name, created_at, last_seen_at, "
                "expires_at) VALUES (%s, %s, %s, %s, %s)",
                (
                    session.token_hash,
                    session.name,
                    _aware(session.created_at),
                    _aware(session.last_seen_at),
                    _aware(session.expires_at),
                ),
            )

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session with this token hash, or None."""
        with self._lock, self._db.cursor() as cur:
            row = cur.execute(
                "SELECT token_hash, name, created_at, last_seen_at, expires_at "
                "FROM minemap_sessions WHERE token_hash = %s",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        token_hash, name, created_at, last_seen_at, expires_at = row
        return SessionRecord(
            token_hash=token_hash,
            name=name,
            created_at=_utc(created_at),
            last_seen_at=_utc(last_seen_at),
            expires_at=_utc(expires_at),
        )

    def touch_session(self, token_hash: str, *, at: datetime) -> None:
        """Set a session's ``last_seen_at``; no-op if it is gone."""
        when = _aware(at)
        with self._write() as cur:
            cur.execute(
                "UPDATE minemap_sessions SET last_seen_at = %s WHERE token_hash = %s",
                (when, token_hash),
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
            where.append("token_hash = %s")
            params.append(token_hash)
        if name is not None:
            where.append("name = %s")
            params.append(name)
        if expired_before is not None:
            where.append("expires_at < %s")
            params.append(_aware(expired_before))
        if not where:
            return 0
        with self._write() as cur:
            return cur.execute(
                f"DELETE FROM minemap_sessions WHERE {' OR '.join(where)}",  # noqa: S608
                params,
            ).rowcount

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __repr__(self) -> str:
        return f"PostGISStore({self.path!r})"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_texts(values: Sequence[Any], kind: str) -> list[str]:
    """Values as fields of ``COPY … FROM STDIN`` text format (``\\N`` for NULL).

    Building the text in Python and sending it in one block is several times faster
    than adapting row by row; floats use ``repr`` (shortest exact round-trip).
    """
    if kind == "bool":
        return ["\\N" if v is None else ("t" if v else "f") for v in values]
    if kind == "float":
        return ["\\N" if v is None else repr(float(v)) for v in values]
    if kind == "int":
        return ["\\N" if v is None else str(int(v)) for v in values]
    return ["\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in values]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
