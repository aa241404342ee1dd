"""Helpers for store tests that look at the file directly, not through the store API."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from minemap._report import Repair, Report

__all__ = ["accepted_report", "is_postgis", "raw_sql", "snapshot"]


def is_postgis(location: Path | str) -> bool:
    """True when ``location`` is a PostgreSQL URL rather than a GeoPackage path."""
    return isinstance(location, str) and location.startswith("postgresql://")


def raw_sql(location: Path | str, *statements: str) -> None:
    """Run statements on the store directly, behind minemap's back, and commit."""
    if is_postgis(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as con:
            for sql in statements:
                con.execute(sql)
        return
    con = sqlite3.connect(location)
    try:
        for sql in statements:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


def _pg_snapshot(url: str) -> dict[str, tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as con:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        catalog = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY 1, 2"
        ).fetchall()
        out = {"catalog": (len(catalog), hashlib.sha256(repr(catalog).encode()).hexdigest())}
        for table in tables:
            digest = hashlib.sha256()
            count = 0
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
                count += 1
            out[table] = (count, digest.hexdigest())
    return out


def snapshot(path: Path | str) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of every table's rows (and of the catalog), read raw.

    Two equal snapshots mean the store's content is unchanged, whatever the pages
    on disk look like. ``path`` is a GeoPackage file or a PostgreSQL URL.
    """
    if is_postgis(path):
        return _pg_snapshot(path)
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
