"""The one entry point every upload goes through: :func:`read_upload`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from minemap._errors import UploadError
from minemap._report import Report
from minemap.io._safety import check_path, lock_down_gdal
from minemap.io._sniff import sniff_format
from minemap.settings import DEFAULT_LIMITS, STORAGE_CRS, Limits

__all__ = ["ReadResult", "read_upload"]

Progress = Callable[[int, int], None]


@dataclass
class ReadResult:
    """What :func:`read_upload` found in one file."""

    file: str
    """Display name as given by the user (never used as a path)."""
    format: str
    """``"geojson"``, ``"gpkg"``, ``"shapefile"``, ``"kml"`` or ``"csv"``."""
    frame: gpd.GeoDataFrame
    """EPSG:4326; source columns as in the file (not mapped to a layer schema; CSV values
    as strings); geometry ``None`` where missing or unreadable (with an error)."""
    labels: pd.Series
    """Aligned to ``frame.index``: ``"feature 3"``, ``"CSV line 14"``, ``"placemark 2"``."""
    report: Report
    """Read-level errors, repairs and warnings (``layer`` is ``""`` until validated)."""
    sha256: str
    """SHA-256 of the uploaded bytes."""
    size_bytes: int


def read_upload(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    layer_name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress | None = None,
) -> ReadResult:
    """Read an uploaded survey file safely into a WGS84 GeoDataFrame.

    The format is detected from the content (never the name): GeoJSON, GeoPackage,
    zipped Shapefile, KML/KMZ or CSV with coordinate columns. Every file-level problem
    raises; every per-feature problem is recorded in ``report.errors`` with the
    feature's geometry set to ``None``, so that validation can collect everything.

    Parameters
    ----------
    path
        Where the upload was saved. Only this path is opened; names inside the file or
        archive are never used as paths.
    display_name
        The file name as the user gave it, for messages (default: the path's name).
    layer_name
        Layer to read from a GeoPackage (or folder of a KML, shapefile of a zip) that
        holds several.
    limits
        Upload limits (size, members, features, vertices, JSON depth).
    progress
        Optional callback ``progress(done, total)``, called now and then for large files.

    Returns
    -------
    ReadResult
        The frame (EPSG:4326), per-feature labels, the read report, SHA-256 and size.

    Raises
    ------
    UploadError
        The file cannot be read as a whole (subclasses: :class:`UnsupportedFormatError`,
        :class:`UnsafeInputError`); the message names the file and the problem.
    """
    file = display_name or Path(os.fspath(path)).name
    checked = check_path(path, file=file, limits=limits)
    lock_down_gdal()
    data = checked.read_bytes()
    if len(data) > limits.max_file_bytes:  # grew since the check
        raise UploadError(f"{file}: over the upload limit max_file_bytes={limits.max_file_bytes:,}")
    digest = hashlib.sha256(data).hexdigest()
    fmt = sniff_format(data, file=file)
    if fmt == "geojson":
        from minemap.io._geojson import read_geojson

        attrs, geoms, labels, report = read_geojson(
            data, file=file, limits=limits, progress=progress
        )
    elif fmt == "csv":
        from minemap.io._csv import read_csv

        attrs, geoms, labels, report = read_csv(data, file=file, limits=limits, progress=progress)
    elif fmt == "kml":
        from minemap.io._kml import read_kml

        attrs, geoms, labels, report = read_kml(
            data, file=file, limits=limits, layer_name=layer_name, progress=progress
        )
    else:
        from minemap.io._gdal import read_archive_or_gpkg

        fmt, attrs, geoms, labels, report = read_archive_or_gpkg(
            data, fmt, file=file, limits=limits, layer_name=layer_name, progress=progress
        )
    frame = _assemble(attrs, geoms, report)
    _check_text_length(frame, labels, limits, report)
    return ReadResult(
        file=file,
        format=fmt,
        frame=frame,
        labels=pd.Series(labels, index=frame.index, dtype=object, name="label"),
        report=report,
        sha256=digest,
        size_bytes=len(data),
    )


def _assemble(attrs: pd.DataFrame, geoms: np.ndarray, report: Report) -> gpd.GeoDataFrame:
    from minemap._report import Repair

    attrs = attrs.reset_index(drop=True)
    if "geometry" in attrs.columns:
        new = "geometry_attribute"
        while new in attrs.columns:
            new += "_"
        attrs = attrs.rename(columns={"geometry": new})
        report.repairs.append(
            Repair(
                "file",
                "geometry",
                "an attribute is called 'geometry', like the geometry column",
                f"renamed the attribute to {new!r}",
            )
        )
    series = gpd.GeoSeries(np.asarray(geoms, dtype=object), index=attrs.index, crs=STORAGE_CRS)
    return gpd.GeoDataFrame(attrs, geometry=series, crs=STORAGE_CRS)


def _check_text_length(
    frame: gpd.GeoDataFrame, labels: list[str], limits: Limits, report: Report
) -> None:
    """Over-long text is an error on its feature (never truncated; value not echoed)."""
    from minemap._report import Problem

    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        series = frame[col]
        if isinstance(series.dtype, pd.StringDtype):
            lengths = series.str.len().fillna(0).to_numpy(dtype=np.int64)
        elif series.dtype == object:
            lengths = np.fromiter(
                (len(v) if isinstance(v, str) else 0 for v in series),
                dtype=np.int64,
                count=len(series),
            )
        else:
            continue
        for i in np.flatnonzero(lengths > limits.max_text_length):
            report.errors.append(
                Problem(
                    labels[i],
                    str(col),
                    f"text of {int(lengths[i]):,} characters, over the limit "
                    f"max_text_length={limits.max_text_length:,}",
                    "shorten the text (minemap never truncates it)",
                )
            )
