"""Copy a whole store between backends (GeoPackage ⇄ PostGIS), losslessly.

``copy_store(src, dst)`` moves every layer's rows with their batch ids, every batch
record (active and undone, with its report, times and users), the accounts
(password hashes as they are) and the audit log, entry for entry with its hash
chain, into a new, empty destination store, in one transaction there. Sessions and
sign-in attempts are not copied: people sign in again on the new store. The
destination then appends one ``store_copied`` audit entry. The source is only read.
Both stores are integrity-checked, and the copy is compared with the source
(counts, batches, accounts, audit log, derived records) before it is reported done.

Derived records (``minemap_derived``, e.g. the kept hazard surface) are copied as they
are. That is safe because they are only caches judged by their reader, never by the
store: the hazard-surface cache names the store batches it was computed from with a
checksum of each batch's rows as ``read_layer`` returns them (and the code, library
versions and parameters), and is used only when those still match. The copy keeps
batch ids, batch records and every row (same order within a batch, exact values and
geometries), so on the copy the checksums match and the next run is incremental
instead of a full national recomputation; anything that differs makes the reader
recompute (``tests/store/test_copy_derived.py`` checks both).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from minemap._errors import StoreError
from minemap.layers import LAYER_NAMES, get_schema
from minemap.store._base import BatchRecord, DerivedRecord, Store, _audit_hash
from minemap.store._frames import PreparedRows, prepare_rows

__all__ = ["AuditEntry", "CopySummary", "copy_store"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log entry exactly as stored (the texts its hash is computed from)."""

    id: int
    at: str
    """UTC time, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    user: str | None
    action: str
    detail: str
    """The detail as canonical JSON text (sorted keys)."""
    prev_hash: str
    hash: str


@dataclass(slots=True)
class CopySummary:
    """What :func:`copy_store` copied."""

    source: str
    destination: str
    batches: int
    audit_entries: int
    counts: dict[str, int] = field(default_factory=dict)
    users: int = 0
    derived: int = 0
    """Derived records (caches such as the kept hazard surface) copied."""

    @property
    def features(self) -> int:
        """All features copied, over every layer."""
        return sum(self.counts.values())


def audit_entries(store: Store) -> list[AuditEntry]:
    """The audit log of ``store`` as stored entries, hash chain recomputed.

    The chain is recomputed from the public log with the same function every
    backend uses; :func:`copy_store` checks the source's integrity first, so the
    recomputed hashes are the stored ones.
    """
    log = store.audit_log()
    out: list[AuditEntry] = []
    prev = ""
    for entry_id, at, user, action, detail in zip(
        log["id"], log["at"], log["user"], log["action"], log["detail"], strict=True
    ):
        who = None if user is None or pd.isna(user) else str(user)
        at_text = pd.Timestamp(at).tz_convert("UTC").strftime(_TIME_FORMAT)
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = _audit_hash(prev, int(entry_id), at_text, who, str(action), text)
        out.append(AuditEntry(int(entry_id), at_text, who, str(action), text, prev, digest))
        prev = digest
    return out


def _batch_rows(store: Store, batches: list[BatchRecord]) -> dict[str, PreparedRows]:
    """Each active batch's rows, ready to insert (schema fields and its own extras)."""
    out: dict[str, PreparedRows] = {}
    for layer in LAYER_NAMES:
        schema = get_schema(layer)
        frame = store.read_layer(layer, include_personal=True)
        by_batch = dict(tuple(frame.groupby("batch_id", sort=False))) if len(frame) else {}
        for batch in batches:
            if batch.layer != layer or not batch.active:
                continue
            part = by_batch.get(batch.batch_id, frame.iloc[:0])
            keep = [
                c for c in part.columns if c in schema.field_names or c in dict(batch.extra_columns)
            ]
            part = part[[*keep, part.geometry.name]].reset_index(drop=True)
            out[batch.batch_id] = prepare_rows(part, schema, file=batch.file_name)
    return out


def _open(location: Store | str | os.PathLike[str], *, create: bool) -> tuple[Store, bool]:
    if isinstance(location, Store):
        return location, False
    from minemap.store import open_store

    return open_store(location, create=create), True


def copy_store(
    src: Store | str | os.PathLike[str],
    dst: Store | str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> CopySummary:
    """Copy every layer, batch record and audit entry from ``src`` into ``dst``.

    Parameters
    ----------
    src : Store, str or os.PathLike
        The source store (opened read-only in effect: nothing is written to it),
        or its location (``.gpkg`` path or ``postgresql://`` URL); it must exist.
    dst : Store, str or os.PathLike
        The destination store or location. It is created when missing; it must be
        empty (no batches, no accounts, nothing in its audit log but its creation).
    progress : callable, optional
        ``progress(features_written, features_total)`` while rows are written.

    Returns
    -------
    CopySummary

    Raises
    ------
    StoreError
        The source fails its integrity check, the destination is not empty, or the
        copy does not compare equal to the source. Nothing is written to the
        destination unless the whole copy commits.
    """
    source, close_src = _open(src, create=False)
    try:
        destination, close_dst = _open(dst, create=True)
    except BaseException:
        if close_src:
            source.close()
        raise
    try:
        return _copy(source, destination, progress=progress)
    finally:
        if close_dst:
            destination.close()
        if close_src:
            source.close()


def _copy(
    source: Store, destination: Store, *, progress: Callable[[int, int], None] | None
) -> CopySummary:
    src_name, dst_name = str(source.path), str(destination.path)
    if src_name == dst_name:
        raise StoreError(f"cannot copy the store {src_name} onto itself")
    problems = source.integrity_check()
    if problems:
        raise StoreError(
            f"the source store {src_name} fails its integrity check, so it is not copied:\n- "
            + "\n- ".join(problems)
        )
    restore = getattr(destination, "_restore_copy", None)
    if restore is None:  # pragma: no cover - every backend has it
        raise StoreError(f"the store {dst_name} cannot receive a copy")
    batches = source.list_batches()
    entries = audit_entries(source)
    rows = _batch_rows(source, batches)
    counts = source.counts()
    detail: dict[str, Any] = {
        "from": src_name,
        "batches": len(batches),
        "audit_entries": len(entries),
        "features": sum(counts.values()),
    }
    users = source.list_users()
    detail["users"] = len(users)
    derived = _derived(source)
    detail["derived"] = len(derived)
    restore(
        batches=batches,
        rows=rows,
        audit=entries,
        users=users,
        derived=derived,
        detail=detail,
        progress=progress,
    )
    _verify(source, destination, batches=batches, entries=entries, counts=counts)
    if destination.list_users() != users:
        raise StoreError(f"the accounts copied to {dst_name} do not match {src_name}")
    if _derived(destination) != derived:
        raise StoreError(f"the derived records copied to {dst_name} do not match {src_name}")
    return CopySummary(
        source=src_name,
        destination=dst_name,
        batches=len(batches),
        audit_entries=len(entries),
        counts=counts,
        users=len(users),
        derived=len(derived),
    )


def _derived(store: Store) -> list[DerivedRecord]:
    """Every derived record of ``store`` as stored, by key."""
    records = [store.get_derived(key) for key in store.derived_keys()]
    return [r for r in records if r is not None]


def _verify(
    source: Store,
    destination: Store,
    *,
    batches: list[BatchRecord],
    entries: list[AuditEntry],
    counts: dict[str, int],
) -> None:
    """Compare the committed copy with the source; raise naming every difference."""
    problems = list(destination.integrity_check())
    if destination.counts() != counts:
        problems.append(f"feature counts differ: {destination.counts()} != {counts}")
    if destination.list_batches() != batches:
        problems.append("batch records differ")
    copied = audit_entries(destination)
    if copied[: len(entries)] != entries or [e.action for e in copied[len(entries) :]] != [
        "store_copied"
    ]:
        problems.append("audit log differs")
    if problems:
        raise StoreError(
            f"the copy of {source.path} in {destination.path} does not match its source:\n- "
            + "\n- ".join(problems)
        )
