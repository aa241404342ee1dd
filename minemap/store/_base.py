"""The backend-neutral store interface, its batch record and its errors.

Every store backend (the embedded GeoPackage store today, PostGIS later, issue 7)
implements :class:`Store` with the same guarantees:

- an import is all-or-nothing: its rows, its :class:`BatchRecord` and its audit row
  are committed in one transaction, or nothing is;
- the same bytes (SHA-256) cannot be active twice for one layer
  (:class:`DuplicateImportError`);
- a batch can be undone (its rows removed, the batch marked undone, an audit row
  appended) atomically;
- the audit log is append-only;
- concurrent imports from several processes lose nothing;
- :meth:`Store.data_version` increases exactly when what :meth:`Store.read_layer` or
  :meth:`Store.list_batches` can return changes (ingest, undo, a store copy, a schema
  upgrade); audit-only entries, accounts, sessions and sign-in attempts leave it alone,
  so the app's data caches survive downloads, weight changes and sign-ins;
- :meth:`Store.audit_version` (the newest audit entry's id) changes with every audit
  entry, including those written with a data change;
- accounts (issue 6): users are never deleted (only disabled), every user change is
  audited in the same transaction, passwords are stored only as the hash they are
  given, session tokens only as the hash they are given;
- derived results (:class:`DerivedRecord`, e.g. the cached hazard surface) are kept
  beside the data but are not data: writing them never moves ``data_version`` or the
  audit log, and a reader sees the old row or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from minemap import __version__
from minemap._errors import StoreError
from minemap._report import Report

__all__ = [
    "BatchRecord",
    "BatchStatus",
    "DerivedRecord",
    "DuplicateImportError",
    "LoginAttempt",
    "LoginOutcome",
    "SessionRecord",
    "Store",
    "UserRecord",
]

BatchStatus = Literal["active", "undone"]
LoginOutcome = Literal["ok", "bad", "refused"]


def _audit_hash(prev_hash: str, entry_id: int, at: str, user: str | None, action: str, detail: str):
    """SHA-256 of one audit entry chained to the previous one (every backend, and copies)."""
    text = json.dumps([prev_hash, entry_id, at, user, action, detail], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _human_time(moment: datetime | None) -> str:
    return "an unknown date" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


class DuplicateImportError(StoreError):
    """The same file (same SHA-256) is already imported, and not undone, for this layer.

    The message says ``"already imported on <date> as batch <id>"``; the existing
    batch is available as :attr:`batch`.
    """

    def __init__(self, message: str, batch: BatchRecord) -> None:
        super().__init__(message)
        self.batch = batch


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One import: which file, by whom, when, what it contained and what was repaired.

    Attributes
    ----------
    batch_id : str
        Short unique id (``minemap batches undo ID``).
    file_name : str
        The file name as the user gave it (a label, never used as a path).
    sha256 : str
        SHA-256 of the uploaded bytes (hex).
    layer : str
        Canonical layer name.
    user : str or None
        Who imported it.
    created_at : datetime
        When it was committed (UTC, timezone-aware).
    feature_count, repair_count, warning_count : int
        Features stored, repairs made, warnings raised.
    status : {"active", "undone"}
        Undone batches have no rows left in the store.
    undone_at : datetime or None
        When it was undone (UTC).
    undone_by : str or None
        Who undid it.
    report : dict
        The full :meth:`minemap.Report.to_dict` record: every repair with its area
        before/after, warnings and the column mapping applied.
    extra_columns : tuple of (str, str)
        Extra (non-schema) source columns kept, with their pandas dtype, in order.
    """

    batch_id: str
    file_name: str
    sha256: str
    layer: str
    user: str | None
    created_at: datetime
    feature_count: int
    repair_count: int
    warning_count: int
    status: BatchStatus
    undone_at: datetime | None = None
    undone_by: str | None = None
    report: dict[str, Any] = field(default_factory=dict)
    extra_columns: tuple[tuple[str, str], ...] = ()

    @property
    def active(self) -> bool:
        """True unless the batch was undone."""
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 UTC strings)."""
        out = asdict(self)
        for key in ("created_at", "undone_at"):
            value = out[key]
            out[key] = None if value is None else value.isoformat()
        out["extra_columns"] = [list(pair) for pair in self.extra_columns]
        return out


@dataclass(frozen=True, slots=True)
class DerivedRecord:
    """One derived result kept with the store (a cache: rebuildable from the layers).

    The store keeps these fields as given and checks nothing about their meaning: the
    code that wrote a record decides whether it still fits the data (for the hazard
    surface: :mod:`minemap.risk.surface_cache`).

    Attributes
    ----------
    key : str
        What it is, e.g. ``"hazard_surface"`` (one row per key; a new one replaces it).
    params_sha256 : str
        Hash of every parameter and code version the result depends on.
    inputs_json : str
        JSON text naming the exact inputs (e.g. active batch ids and their checksums).
    minemap_version : str
        minemap version that wrote it.
    created_at : datetime
        When it was written (UTC).
    payload : bytes
        The result itself.
    payload_sha256 : str
        SHA-256 of ``payload`` when it was written: a damaged row shows as a mismatch.
    """

    key: str
    params_sha256: str
    inputs_json: str
    minemap_version: str
    created_at: datetime
    payload: bytes = field(repr=False)
    payload_sha256: str

    @classmethod
    def new(
        cls, key: str, *, params_sha256: str, inputs_json: str, payload: bytes
    ) -> DerivedRecord:
        """A record written now by this minemap version, with the payload's checksum."""
        return cls(
            key=key,
            params_sha256=params_sha256,
            inputs_json=inputs_json,
            minemap_version=__version__,
            created_at=datetime.now(UTC),
            payload=bytes(payload),
            payload_sha256=hashlib.sha256(payload).hexdigest(),
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One local account as the store keeps it (:mod:`minemap.auth.accounts` owns the rules).

    Attributes
    ----------
    name : str
        Unique, normalised account name (lower case).
    role : str
        One of :data:`minemap.auth.roles.ROLES`.
    password_hash : str
        The argon2id hash string (``$argon2id$v=19$...``); never the password.
    disabled : bool
        Disabled accounts cannot sign in; accounts are never deleted.
    created_at, changed_at : datetime
        UTC, timezone-aware.
    created_by : str or None
        Who added the account.
    """

    name: str
    role: str
    password_hash: str
    disabled: bool
    created_at: datetime
    changed_at: datetime
    created_by: str | None = None

    def __repr__(self) -> str:  # keep the hash out of logs and tracebacks
        return (
            f"UserRecord(name={self.name!r}, role={self.role!r}, disabled={self.disabled}, "
            f"created_at={self.created_at.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One signed-in session; the store holds only the token's hash.

    Attributes
    ----------
    token_hash : str
        SHA-256 (hex) of the random session token; the token itself is never stored.
    name : str
        The account the session belongs to.
    created_at, last_seen_at, expires_at : datetime
        UTC. ``expires_at`` is the absolute end; idle expiry is measured from
        ``last_seen_at`` by :mod:`minemap.auth.accounts`.
    """

    token_hash: str
    name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"SessionRecord(name={self.name!r}, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One sign-in attempt, kept for rate limiting.

    ``name`` is the rate-limit key the caller chose (``minemap.auth`` files attempts
    under a SHA-256 of the typed name, so a password typed as a name is never stored).

    ``outcome``: ``"ok"`` (signed in), ``"bad"`` (wrong name or password),
    ``"refused"`` (locked, disabled or rate-limited; the password was not checked or
    was right but the account may not sign in).
    """

    name: str
    at: datetime
    outcome: LoginOutcome


class Store(ABC):
    """What every minemap store backend offers (GeoPackage now, PostGIS later).

    Stores are context managers: ``with open_store(path) as store: ...`` closes the
    connection at the end.
    """

    path: Path | str

    @abstractmethod
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
            Canonical frame (``minemap.validate.ValidationResult.frame``), EPSG:4326.
        layer : str
            Canonical layer name.
        report : minemap.Report
            The accepted validation report (``report.ok`` must be True); stored with
            the batch.
        file_name : str
            File name as given by the user (a label only).
        sha256 : str
            SHA-256 of the uploaded bytes.
        user : str, optional
            Who imports it (audit).
        progress : callable, optional
            Called as ``progress(rows_written, rows_total)`` while rows are written.

        Returns
        -------
        str
            The new batch id.

        Raises
        ------
        DuplicateImportError
            The same bytes are already active for this layer.
        StoreError
            The frame cannot be stored (every problem listed); nothing was written.
        """

    @abstractmethod
    def find_batch(self, *, sha256: str, layer: str) -> BatchRecord | None:
        """The active batch of ``layer`` imported from bytes with ``sha256``, if any."""

    @abstractmethod
    def read_layer(self, layer: str, *, include_personal: bool = False) -> gpd.GeoDataFrame:
        """Every stored feature of ``layer`` as a canonical frame (plus ``batch_id``).

        Personal fields (``LayerSchema.personal_fields``) are not even read unless
        ``include_personal`` is True.
        """

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Stored feature count per layer (every canonical layer, zeros included)."""

    @abstractmethod
    def list_batches(self) -> list[BatchRecord]:
        """Every batch, active and undone, oldest first."""

    # -- bookkeeping shared by the backends (same shape, their own SQL) -----------------
    _AUDIT_COLUMNS = ("id", "at", "user", "action", "detail")

    @staticmethod
    @abstractmethod
    def _stored_time(value: Any) -> datetime | None:
        """A time as the backend stores it (text, timestamptz) as a UTC datetime."""

    @classmethod
    def _batch_from_row(cls, row: Sequence[Any]) -> BatchRecord:
        """A :class:`BatchRecord` from a row of the backend's ``_BATCH_COLUMNS``."""
        time = cls._stored_time
        (
            batch_id, file_name, sha256, layer, user, created_at, feature_count,
            repair_count, warning_count, status, undone_at, undone_by, report_json,
            extra_columns_json,
        ) = row  # fmt: skip
        return BatchRecord(
            batch_id=batch_id,
            file_name=file_name,
            sha256=sha256,
            layer=layer,
            user=user,
            created_at=time(created_at),
            feature_count=feature_count,
            repair_count=repair_count,
            warning_count=warning_count,
            status=status,
            undone_at=time(undone_at),
            undone_by=undone_by,
            report=json.loads(report_json),
            extra_columns=tuple(tuple(pair) for pair in json.loads(extra_columns_json)),
        )

    def _no_such_batch(self, batch_id: str) -> StoreError:
        return StoreError(
            f"no batch {batch_id!r} in the store {self.path}; "
            "`minemap batches list` shows the batches"
        )

    @staticmethod
    def _check_undoable(batch: BatchRecord) -> None:
        """Raise when ``batch`` was already undone (naming when and by whom)."""
        if not batch.active:
            raise StoreError(
                f"batch {batch.batch_id} ({batch.file_name}) was already undone on "
                f"{_human_time(batch.undone_at)} by {batch.undone_by or 'an unnamed user'}"
            )

    @staticmethod
    def _undo_detail(batch: BatchRecord, removed: int) -> dict[str, Any]:
        """The ``undo`` audit entry's detail."""
        return {
            "batch_id": batch.batch_id,
            "layer": batch.layer,
            "file_name": batch.file_name,
            "sha256": batch.sha256,
            "features_removed": removed,
        }

    @classmethod
    def _audit_frame(cls, rows: Sequence[Sequence[Any]], at_texts: Iterable[str]) -> pd.DataFrame:
        """:meth:`audit_log`'s frame from ``(id, at, user, action, detail)`` rows, with
        ``at_texts`` the stored times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` text."""
        frame = pd.DataFrame(list(rows), columns=list(cls._AUDIT_COLUMNS))
        frame["id"] = frame["id"].astype("int64")
        frame["at"] = pd.to_datetime(list(at_texts), format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
        frame["detail"] = [json.loads(text) for text in frame["detail"]]
        return frame

    @staticmethod
    def _batch_count_problems(
        counts: Mapping[str, Mapping[str, int]],
        batches: Iterable[tuple[str, str, str, int]],
    ) -> list[str]:
        """Integrity: every active batch has exactly its rows, undone ones none, no orphans.

        ``counts``: layer → batch id → rows found; ``batches``: (batch id, layer, status,
        feature_count) of every batch record.
        """
        problems = []
        known = set()
        for batch_id, layer, status, expected in batches:
            known.add(batch_id)
            found = counts.get(layer, {}).get(batch_id, 0)
            wanted = expected if status == "active" else 0
            if found != wanted:
                problems.append(
                    f"batch {batch_id} ({status}) should have {wanted} rows in {layer}, has {found}"
                )
        for layer, by_batch in counts.items():
            orphans = set(by_batch) - known
            if orphans:
                problems.append(f"layer {layer} has rows of unknown batches {sorted(orphans)}")
        return problems

    @staticmethod
    def _audit_chain_problems(
        entries: Iterable[tuple[int, str, str | None, str, str, str, str]],
    ) -> list[str]:
        """Integrity: the audit log's hash chain, from ``(id, at text, user, action, detail
        text, prev_hash, hash)`` in id order; names the first entry that breaks it."""
        prev = ""
        for entry_id, at, user, action, detail, prev_hash, digest in entries:
            if prev_hash != prev or digest != _audit_hash(
                prev_hash, entry_id, at, user, action, detail
            ):
                return [f"audit log entry {entry_id} does not match its hash chain"]
            prev = digest
        return []

    @abstractmethod
    def get_batch(self, batch_id: str) -> BatchRecord:
        """One batch by id; :class:`StoreError` if there is none."""

    @abstractmethod
    def undo_batch(self, batch_id: str, *, user: str | None = None) -> BatchRecord:
        """Remove a batch's rows, mark it undone and audit it, atomically."""

    @abstractmethod
    def record_audit(
        self, action: str, *, user: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> int:
        """Append one entry to the audit log (sign-in, download, ...); returns its id.

        ``detail`` must never contain victims' personal data or passwords. Advances
        :meth:`audit_version`, not :meth:`data_version`.
        """

    @abstractmethod
    def audit_log(self) -> pd.DataFrame:
        """The audit log, oldest first: ``id``, ``at`` (UTC), ``user``, ``action``, ``detail``."""

    @abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found in the store, in plain words; ``[]`` when healthy."""

    @abstractmethod
    def data_version(self) -> int:
        """A counter that increases whenever the layers or batches change (a cache key).

        Bumped in the same transaction as an ingest, an undo, a store copy or a schema
        upgrade. Not bumped by :meth:`record_audit`, account changes, sessions or
        sign-in attempts: the app's data caches (and the prioritisation) must survive
        downloads and sign-ins. Key caches of the audit log on :meth:`audit_version`.
        """

    @abstractmethod
    def audit_version(self) -> int:
        """The id of the newest audit entry (0 if none); grows with every entry.

        The audit log is append-only, so this changes exactly when :meth:`audit_log`
        does (a cache key for views of the log).
        """

    # -- derived results (caches; not data) ----------------------------------------------
    @abstractmethod
    def get_derived(self, key: str) -> DerivedRecord | None:
        """The derived record stored under ``key``, or None.

        Returned as stored, without judging it: a damaged row (bad JSON, a payload that
        no longer matches ``payload_sha256``) is for the caller to detect and ignore.
        """

    @abstractmethod
    def put_derived(
        self, key: str, *, params_sha256: str, inputs_json: str, payload: bytes
    ) -> DerivedRecord:
        """Store (or replace) the derived record under ``key``, in one transaction.

        Never bumps :meth:`data_version` and writes no audit entry: derived results are
        caches of the data, not data. Concurrent readers see the previous record or this
        one, whole.
        """

    @abstractmethod
    def derived_keys(self) -> list[str]:
        """The keys of every derived record kept, sorted (``[]`` if none)."""

    # -- accounts (issue 6) ------------------------------------------------------------
    # Plain record keeping only: every rule (password policy, hashing, lock-out,
    # expiry) lives in ``minemap.auth``, so a new backend implements storage, not policy.
    # Times are passed in (``at=``) so the rules can run on an injected clock.

    @abstractmethod
    def add_user(self, user: UserRecord, *, by: str | None = None) -> None:
        """Insert a new account and its ``user_added`` audit entry in one transaction.

        The audit detail holds ``name`` and ``role`` (never the hash).

        Raises
        ------
        StoreError
            An account with this name exists already (enabled or disabled).
        """

    @abstractmethod
    def get_user(self, name: str) -> UserRecord | None:
        """The account called ``name`` (exact, already normalised), or None."""

    @abstractmethod
    def list_users(self) -> list[UserRecord]:
        """Every account, enabled and disabled, sorted by name."""

    @abstractmethod
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
        """Change an account (only the arguments given) and audit it, in one transaction.

        The audit entry (``user_changed``) lists the changed fields and the new role
        or disabled flag; for a password change only ``"password"`` is named. Disabling
        also ends (deletes) the account's sessions in the same transaction.

        Raises
        ------
        StoreError
            No account has this name.
        """

    @staticmethod
    def _user_changes(
        name: str, *, role: str | None, password_hash: str | None, disabled: bool | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(column → new value, audit detail) of an :meth:`update_user` call, for both
        backends: only the arguments given; the audit names ``"password"``, never the hash."""
        changes: dict[str, Any] = {}
        if role is not None:
            changes["role"] = role
        if password_hash is not None:
            changes["password_hash"] = password_hash
        if disabled is not None:
            changes["disabled"] = bool(disabled)
        detail: dict[str, Any] = {
            "name": name,
            "changed": sorted("password" if k == "password_hash" else k for k in changes),
        }
        if role is not None:
            detail["role"] = role
        if disabled is not None:
            detail["disabled"] = bool(disabled)
        return changes, detail

    @abstractmethod
    def record_login_attempt(self, name: str, *, at: datetime, outcome: LoginOutcome) -> None:
        """Remember one sign-in attempt (does not change :meth:`data_version`)."""

    @abstractmethod
    def login_attempts(self, *, since: datetime, name: str | None = None) -> list[LoginAttempt]:
        """Attempts at or after ``since`` (for ``name`` only if given), oldest first."""

    @abstractmethod
    def add_session(self, session: SessionRecord) -> None:
        """Store a new session (does not change :meth:`data_version`)."""

    @abstractmethod
    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session with this token hash, or None."""

    @abstractmethod
    def touch_session(self, token_hash: str, *, at: datetime) -> None:
        """Set a session's ``last_seen_at`` (idle expiry); no-op if it is gone."""

    @abstractmethod
    def delete_sessions(
        self,
        *,
        token_hash: str | None = None,
        name: str | None = None,
        expired_before: datetime | None = None,
    ) -> int:
        """Delete the sessions matching any given criterion; returns how many.

        ``token_hash``: that one session (sign-out); ``name``: every session of the
        account; ``expired_before``: sessions whose absolute expiry is before it.
        With no criterion nothing is deleted.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the object cannot be used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
