"""The ingestion pipeline: read an upload safely, validate it, store it all-or-nothing.

``read_upload`` (:mod:`minemap.io`) → ``validate_layer`` (:mod:`minemap.validate`) →
``store.ingest`` (:mod:`minemap.store`). Nothing is written unless every feature of the
file is accepted; re-uploading the same bytes is refused with the batch it went into.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd

from minemap._errors import MinemapError
from minemap._report import Problem, Report
from minemap.io import read_upload
from minemap.layers import get_schema
from minemap.settings import DEFAULT_AOI, AreaOfOperations
from minemap.store import open_store
from minemap.validate import validate_layer

__all__ = ["IngestResult", "ingest_file", "parse_mapping"]

Status = Literal["accepted", "rejected"]


@dataclass(slots=True)
class IngestResult:
    """What happened to one file: the CLI's ``--json`` object, field for field."""

    file: str
    layer: str
    status: Status
    accepted: int
    batch_id: str | None
    report: Report
    dry_run: bool = False
    frame: gpd.GeoDataFrame | None = field(default=None, repr=False)
    """The validated canonical frame (for previews); ``None`` when the file was unreadable."""

    def to_dict(self) -> dict[str, Any]:
        report = self.report.to_dict()
        return {
            "file": self.file,
            "layer": self.layer,
            "status": self.status,
            "accepted": self.accepted,
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "repairs": report["repairs"],
            "errors": report["errors"],
            "warnings": report["warnings"],
            "column_mapping": report["column_mapping"],
        }


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Parse repeated ``SRC=DST`` options into a mapping; a clear error for malformed ones."""
    mapping: dict[str, str] = {}
    bad = []
    for pair in pairs or []:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            bad.append(pair)
            continue
        mapping[src.strip()] = dst.strip()
    if bad:
        raise ValueError(
            "--map takes SRC=DST (source column = minemap field); not understood: "
            + ", ".join(repr(b) for b in bad)
        )
    return mapping


def ingest_file(
    path: str | os.PathLike[str],
    layer: str,
    *,
    store: str | os.PathLike[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    aoi: AreaOfOperations = DEFAULT_AOI,
    dry_run: bool = False,
    user: str | None = None,
    display_name: str | None = None,
    source_layer: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Read, validate and (unless ``dry_run``) store one survey file, all or nothing.

    Parameters
    ----------
    path
        The uploaded file (any accepted format; detected from its content).
    layer
        Target layer: any of ``minemap.layers.LAYER_NAMES`` (casualties, strikes, hazards,
        cleared, farmland, settlements).
    store
        Store location (see :func:`minemap.settings.resolve_store_path`).
    mapping
        Source column → minemap field, applied before the schema's aliases.
    aoi
        Area of operations every feature must fall in.
    dry_run
        Validate and report without writing anything.
    user
        Who is importing (recorded with the batch).
    display_name
        The file name as the user gave it (display only; never used as a path).
    source_layer
        Layer to read inside a multi-layer file (GeoPackage, KML).
    progress
        Called as ``progress(done, total)`` while reading large files.

    Returns
    -------
    IngestResult
        ``status`` is ``"accepted"`` only when the whole file was stored (or would be,
        with ``dry_run``). Problems never raise: they are in ``result.report``.
    """
    schema = get_schema(layer)
    name = display_name or Path(path).name
    try:
        read = read_upload(path, display_name=name, layer_name=source_layer, progress=progress)
    except MinemapError as exc:
        report = Report(file=name, layer=schema.name)
        report.errors.append(
            Problem(feature="file", field="file", problem=str(exc), fix=_file_fix(exc))
        )
        return IngestResult(name, schema.name, "rejected", 0, None, report, dry_run)

    validated = validate_layer(
        read.frame, schema.name, file=name, labels=read.labels, mapping=mapping, aoi=aoi
    )
    report = Report(file=name, layer=schema.name)
    report.extend(read.report)
    report.extend(validated.report)
    report.errors = _without_echoes(read.report.errors, validated.report.errors)
    frame = validated.frame
    if not report.ok:
        return IngestResult(name, schema.name, "rejected", 0, None, report, dry_run, frame)

    opened = open_store(store)
    existing = opened.find_batch(sha256=read.sha256, layer=schema.name)
    if existing is not None:
        report.errors.append(
            Problem(
                feature="file",
                field="file",
                problem=(
                    f"already imported on {existing.created_at:%Y-%m-%d %H:%M} UTC "
                    f"as batch {existing.batch_id} ({existing.file_name})"
                ),
                fix="nothing to do; to replace it, undo that batch first (minemap batches undo)",
            )
        )
        return IngestResult(name, schema.name, "rejected", 0, None, report, dry_run, frame)
    if dry_run:
        return IngestResult(name, schema.name, "accepted", len(frame), None, report, True, frame)
    batch_id = opened.ingest(
        frame, layer=schema.name, report=report, file_name=name, sha256=read.sha256, user=user
    )
    return IngestResult(name, schema.name, "accepted", len(frame), batch_id, report, False, frame)


def _without_echoes(read_errors: list[Problem], validate_errors: list[Problem]) -> list[Problem]:
    """Reader errors, then validation errors minus the "geometry is missing" echo of a
    geometry the reader already rejected (the reader's message says why)."""
    unreadable = {p.feature for p in read_errors if p.field.startswith("geometry")}

    def echo(p: Problem) -> bool:
        base = p.feature.split(" (", 1)[0]
        return base in unreadable and p.field == "geometry" and "missing" in p.problem

    return [*read_errors, *(p for p in validate_errors if not echo(p))]


def _file_fix(exc: Exception) -> str:
    fix = getattr(exc, "fix", "")
    return fix or "check the file is one of: GeoJSON, GeoPackage, zipped Shapefile, KML, CSV"
