"""Helpers for store tests that look at the file directly, not through the store API."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from minemap._report import Repair, Report

__all__ = ["accepted_report", "snapshot"]


def snapshot(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of every table's rows (and of sqlite_master), read raw.

    Two equal snapshots mean the store's content is unchanged, whatever the pages
    on disk look like.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name"
            )
        ]
        out = {}
        for table in ["sqlite_master", *tables]:
            digest = hashlib.sha256()
            count = 0
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
                count += 1
            out[table] = (count, digest.hexdigest())
        return out
    finally:
        con.close()


def accepted_report(file: str, layer: str, *, repairs: int = 0) -> Report:
    """An accepted report with ``repairs`` recorded area-changing repairs and a mapping."""
    report = Report(file=file, layer=layer, column_mapping={"ID": "x_id", "Datum": "date"})
    for i in range(repairs):
        report.repairs.append(
            Repair(
                feature=f"feature {i + 1}",
                field="geometry",
                problem="self-intersection",
                repair="make_valid",
                area_before_m2=1000.0 + i,
                area_after_m2=999.5 + i,
            )
        )
    return report
