"""CSV uploads with coordinate columns or a WKT column.

Detected explicitly, each recorded as a :class:`Repair` on ``"file"`` so that the batch
record shows how the file was interpreted:

- encoding: UTF-8, UTF-8 with BOM, or clearly Windows-1251 (see
  :func:`minemap.io._safety.decode_text`);
- delimiter: ``,``, ``;`` or tab (the one that splits the first lines into the most
  columns consistently);
- coordinate columns: latitude (``lat``, ``latitude``, ``y``, ``широта``, ...) and
  longitude (``lon``, ``lng``, ``longitude``, ``x``, ``довгота``, ...), else a WKT column
  (``wkt``, ``geometry``, ``geom_wkt``, ...); where both exist, latitude/longitude are
  used and the WKT serves rows whose coordinates are empty;
- decimal commas (``48,5``) and degrees-minutes-seconds (``48°30'15"N``) in coordinate
  columns, converted with a record.

A value that cannot be read is an error on its ``CSV line N`` (geometry ``None``).
Attribute values stay strings (empty cells become missing values).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

from minemap._errors import UploadError
from minemap._report import Problem, Repair, Report
from minemap.io._safety import decode_text
from minemap.settings import Limits

__all__ = ["parse_coordinate", "read_csv"]

LAT_NAMES: tuple[str, ...] = (
    "latitude",
    "lat",
    "latitud",
    "latitude_y",
    "latitud_y",
    "lat_y",
    "y_lat",
    "lat_dd",
    "decimallatitude",
    "широта",
    "point_y",
    "y_coord",
    "ycoord",
    "y",
)
LON_NAMES: tuple[str, ...] = (
    "longitude",
    "lon",
    "lng",
    "long",
    "longitud",
    "longitude_x",
    "longitud_x",
    "lon_x",
    "x_lon",
    "lon_dd",
    "decimallongitude",
    "довгота",
    "долгота",
    "point_x",
    "x_coord",
    "xcoord",
    "x",
)
WKT_NAMES: tuple[str, ...] = (
    "wkt",
    "geometry",
    "geom_wkt",
    "wkt_geom",
    "geometry_wkt",
    "the_geom",
    "geom",
    "shape",
)

_DELIMITERS = {",": "','", ";": "';'", "\t": "tab"}
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_NUM = r"\d+(?:[.,]\d+)?"
_DMS = re.compile(
    rf"""^\s*(?P<h1>[NSEWnew])?\s*(?P<sign>[-+])?\s*
    (?P<deg>{_NUM})\s*(?P<dsym>°|º|˚|deg|d|\s)\s*
    (?:(?P<min>{_NUM})\s*(?:'|′|’|min|m|\s)\s*)?
    (?:(?P<sec>{_NUM})\s*(?:"|″|''|”|’’|sec|s)?\s*)?
    (?P<h2>[NSEWnew])?\s*$""",
    re.VERBOSE,
)
_HEMI = {"lat": ("N", "S"), "lon": ("E", "W")}
_AXIS_WORD = {"lat": "latitude", "lon": "longitude"}


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_coordinate(text: str, axis: str) -> tuple[float, str]:
    """Read one coordinate: decimal (point or comma) or degrees-minutes-seconds.

    Parameters
    ----------
    text
        The cell.
    axis
        ``"lat"`` or ``"lon"`` (which hemisphere letters are allowed).

    Returns
    -------
    tuple
        ``(value, how)`` with ``how`` in ``"decimal"``, ``"decimal comma"``, ``"dms"``.

    Raises
    ------
    ValueError
        With a plain-words reason.
    """
    s = text.strip()
    try:
        value = float(s)
        how = "decimal"
    except ValueError:
        if _DECIMAL_COMMA.match(s):
            value = float(s.replace(",", "."))
            how = "decimal comma"
        else:
            value = _parse_dms(s, axis)
            how = "dms"
    if not np.isfinite(value):
        raise ValueError("not a finite number")
    return value, how


def _parse_dms(s: str, axis: str) -> float:
    m = _DMS.match(s)
    if not m or (m.group("dsym").isspace() and not (m.group("h1") or m.group("h2"))):
        raise ValueError("not a number, decimal-comma number or degrees-minutes-seconds")
    h1, h2, sign = m.group("h1"), m.group("h2"), m.group("sign")
    if h1 and h2:
        raise ValueError("two hemisphere letters")
    hemi = (h1 or h2 or "").upper()
    if hemi and hemi not in _HEMI[axis]:
        other = "longitude" if axis == "lat" else "latitude"
        raise ValueError(
            f"hemisphere {hemi!r} belongs to a {other} — are latitude and longitude swapped?"
        )
    if hemi and sign:
        raise ValueError("both a sign and a hemisphere letter")

    def num(g: str | None) -> float:
        return float(g.replace(",", ".")) if g else 0.0

    deg, minutes, seconds = num(m.group("deg")), num(m.group("min")), num(m.group("sec"))
    if minutes >= 60 or seconds >= 60:
        raise ValueError("minutes and seconds must be below 60")
    if m.group("sec") and "." in (m.group("min") or "").replace(",", "."):
        raise ValueError("fractional minutes followed by seconds")
    value = deg + minutes / 60 + seconds / 3600
    if sign == "-" or hemi in ("S", "W"):
        value = -value
    return value


def _detect_delimiter(text: str, *, file: str) -> str:
    sample = text.splitlines()[:50]
    sample = [line for line in sample if line.strip()]
    if not sample:
        raise UploadError(f"{file}: the file holds no data")
    best: tuple[bool, int, str] | None = None
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(sample, delimiter=delim))
        except csv.Error:
            continue
        width = len(rows[0])
        fitting = sum(
            1
            for r in rows[1:]
            if len(r) == width or (len(r) > width and not "".join(r[width:]).strip())
        )
        consistent = fitting >= 0.5 * (len(rows) - 1)
        key = (width > 1 and consistent, width, delim)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None or best[1] < 2:
        raise UploadError(
            f"{file}: not a recognisable CSV (no ',', ';' or tab delimiter splits the header "
            "into columns); accepted: GeoJSON, GeoPackage, zipped Shapefile, "
            "KML or CSV with coordinate columns"
        )
    return best[2]


def _pick(norm_header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in norm_header:
            return norm_header.index(name)
    return None


def read_csv(
    data: bytes,
    *,
    file: str,
    limits: Limits,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], Report]:
    """Parse CSV bytes with coordinate or WKT columns.

    Returns
    -------
    tuple
        ``(attributes, geometries, labels, report)``; labels are ``"CSV line N"`` with the
        physical line number where the row starts (the header is line 1 unless blank lines
        precede it).
    """
    report = Report(file=file, layer="")
    text = decode_text(data, file=file, repairs=report.repairs)
    delim = _detect_delimiter(text, file=file)
    if delim != ",":
        report.repairs.append(
            Repair(
                "file",
                "delimiter",
                f"columns are separated by {_DELIMITERS[delim]}, not commas",
                f"read the file with {_DELIMITERS[delim]} as the delimiter",
            )
        )
    if csv.field_size_limit() < 64 * 1024 * 1024:
        csv.field_size_limit(64 * 1024 * 1024)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    last_line = 0
    try:
        for row in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if header is None:
                header = row
                continue
            rows.append(row)  # type: ignore[arg-type]
            lines.append(start)
            if len(rows) > limits.max_features:
                raise UploadError(
                    f"{file}: more than {limits.max_features:,} rows, over the limit max_features"
                )
    except csv.Error as exc:
        raise UploadError(f"{file}: damaged CSV at line {reader.line_num}: {exc}") from None
    del text
    if header is None:
        raise UploadError(f"{file}: the file holds no data")
    header = _clean_header(header, file=file, report=report)
    width = len(header)
    labels = [f"CSV line {n}" for n in lines]
    n = len(rows)
    if progress is not None:
        progress(0, n)
    bad_row = np.zeros(n, dtype=bool)
    for i, row in enumerate(rows):
        if len(row) != width:
            extra = row[width:]
            if len(row) > width and all(not c.strip() for c in extra):  # trailing delimiters
                rows[i] = row[:width]
                continue
            report.errors.append(
                Problem(
                    labels[i],
                    "row",
                    f"{len(row)} values but the header has {width} columns",
                    f"check the delimiter ({_DELIMITERS[delim]}) and quoting on this line",
                )
            )
            rows[i] = (row + [""] * width)[:width]
            bad_row[i] = True
    frame = pd.DataFrame(rows, columns=header, dtype="str")
    del rows
    for col in frame.columns:
        blank = frame[col].str.strip().eq("").fillna(value=False).to_numpy(dtype=bool)
        if blank.any():
            frame.loc[blank, col] = None
    if progress is not None and n:
        progress(n // 2, n)
    geoms, frame = _geometries(frame, header, labels, file=file, limits=limits, report=report)
    geoms[bad_row] = None
    if progress is not None:
        progress(n, n)
    return frame, geoms, labels, report


def _clean_header(header: list[str], *, file: str, report: Report) -> list[str]:
    out = []
    for j, name in enumerate(header):
        name = name.strip()
        if not name:
            name = f"column_{j + 1}"
            report.repairs.append(
                Repair("file", name, f"column {j + 1} has no name", f"named it {name!r}")
            )
        out.append(name)
    seen: set[str] = set()
    for name in out:
        if name in seen:
            raise UploadError(f"{file}: the header names column {name!r} twice; rename one of them")
        seen.add(name)
    return out


def _geometries(
    frame: pd.DataFrame,
    header: list[str],
    labels: list[str],
    *,
    file: str,
    limits: Limits,
    report: Report,
) -> tuple[np.ndarray, pd.DataFrame]:
    norm = [_norm(h) for h in header]
    lat_i = _pick(norm, LAT_NAMES)
    lon_i = _pick(norm, LON_NAMES)
    wkt_i = _pick(norm, WKT_NAMES)
    n = len(frame)
    geoms = np.full(n, None, dtype=object)
    if lat_i is None or lon_i is None:
        lat_i = lon_i = None
        if wkt_i is None:
            found = ", ".join(repr(h) for h in header[:30])
            raise UploadError(
                f"{file}: no coordinate columns found. Name them latitude/longitude "
                "(or lat/lon, y/x, широта/довгота) or give a WKT column (wkt/geometry); "
                f"the columns are: {found}"
            )
    todo = np.ones(n, dtype=bool)
    if lat_i is not None and lon_i is not None:
        lat_col, lon_col = header[lat_i], header[lon_i]
        report.repairs.append(
            Repair(
                "file",
                "geometry",
                f"no geometry column; coordinates in columns latitude={lat_col!r}, "
                f"longitude={lon_col!r}",
                "built points (WGS84 lon/lat) from these columns",
            )
        )
        lat, lat_ok, lat_empty = _parse_column(frame[lat_col], "lat", lat_col, labels, report)
        lon, lon_ok, lon_empty = _parse_column(frame[lon_col], "lon", lon_col, labels, report)
        both_empty = lat_empty & lon_empty
        one_empty = lat_empty ^ lon_empty
        for i in np.flatnonzero(one_empty):
            empty_col, other = (lat_col, lon_col) if lat_empty[i] else (lon_col, lat_col)
            report.errors.append(
                Problem(
                    labels[i],
                    empty_col,
                    f"{empty_col!r} is empty but {other!r} is given",
                    "give both coordinates or neither",
                )
            )
        ok = lat_ok & lon_ok
        geoms[ok] = shapely.points(lon[ok], lat[ok])
        todo = both_empty
    if wkt_i is not None:
        wkt_col = header[wkt_i]
        values = frame[wkt_col].to_numpy(dtype=object, na_value=None)
        use = todo & np.not_equal(values, None)
        if use.any():
            if lat_i is None:
                report.repairs.append(
                    Repair(
                        "file",
                        "geometry",
                        f"geometry given as WKT text in column {wkt_col!r}",
                        "read the WKT (WGS84 lon/lat)",
                    )
                )
            geoms[use] = _parse_wkt(
                values[use], np.flatnonzero(use), wkt_col, labels, limits, report
            )
        if _norm(wkt_col) == "geometry":
            frame = frame.drop(columns=[wkt_col])
    return geoms, frame


def _parse_column(
    series: pd.Series, axis: str, col: str, labels: list[str], report: Report
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = series.to_numpy(dtype=object, na_value=None)
    empty = np.equal(values, None)
    nums = pd.to_numeric(series, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan, copy=True
    )
    ok = np.isfinite(nums) & ~empty
    counts = {"decimal comma": 0, "dms": 0}
    examples: dict[str, str] = {}
    pending = np.flatnonzero(~ok & ~empty)
    if pending.size:
        # decimal commas, vectorised (the common case for a whole column)
        sub = series.iloc[pending].astype("str")
        comma = sub.str.match(_DECIMAL_COMMA.pattern).fillna(value=False).to_numpy(dtype=bool)
        if comma.any():
            rows = pending[comma]
            converted = pd.to_numeric(
                sub[comma].str.replace(",", ".", regex=False), errors="coerce"
            ).to_numpy(dtype=np.float64, na_value=np.nan)
            good = np.isfinite(converted)
            nums[rows[good]] = converted[good]
            ok[rows[good]] = True
            counts["decimal comma"] += int(good.sum())
            if good.any():
                first = rows[good][0]
                examples["decimal comma"] = (
                    f"{labels[first]}: {str(values[first]).strip()!r} → {nums[first]:.6f}"
                )
            pending = np.concatenate([pending[~comma], rows[~good]])
            pending.sort()
    for i in pending:
        text = str(values[i])
        try:
            value, how = parse_coordinate(text, axis)
        except ValueError as exc:
            shown = text if len(text) <= 40 else text[:37] + "..."
            report.errors.append(
                Problem(
                    labels[i],
                    col,
                    f"cannot read {shown!r} as a {_AXIS_WORD[axis]}: {exc}",
                    "write decimal degrees (48.5) or degrees-minutes-seconds (48°30'15\"N)",
                )
            )
            continue
        nums[i] = value
        ok[i] = True
        if how in counts:
            counts[how] += 1
            examples.setdefault(how, f"{labels[i]}: {text.strip()!r} → {value:.6f}")
    if counts["decimal comma"]:
        report.repairs.append(
            Repair(
                "file",
                col,
                f"{counts['decimal comma']} value(s) use a decimal comma "
                f"(e.g. {examples['decimal comma']})",
                "read the comma as a decimal point",
            )
        )
    if counts["dms"]:
        report.repairs.append(
            Repair(
                "file",
                col,
                f"{counts['dms']} value(s) in degrees-minutes-seconds (e.g. {examples['dms']})",
                "converted to decimal degrees",
            )
        )
    return nums, ok, empty


def _parse_wkt(
    values: np.ndarray,
    rows: np.ndarray,
    col: str,
    labels: list[str],
    limits: Limits,
    report: Report,
) -> np.ndarray:
    strings = np.array([str(v).strip() for v in values], dtype=object)
    geoms = shapely.from_wkt(strings, on_invalid="ignore")
    bad = np.equal(geoms, None)
    present = ~bad
    bounds = np.full((len(geoms), 4), np.nan)
    if present.any():
        bounds[present] = shapely.bounds(geoms[present])
        empty = np.zeros(len(geoms), dtype=bool)
        empty[present] = shapely.is_empty(geoms[present])
        nonfinite = present & ~empty & ~np.isfinite(bounds).all(axis=1)
    else:
        nonfinite = np.zeros(len(geoms), dtype=bool)
    for j in np.flatnonzero(bad | nonfinite):
        text = strings[j]
        shown = text if len(text) <= 40 else text[:37] + "..."
        report.errors.append(
            Problem(
                labels[rows[j]],
                col,
                f"cannot read {shown!r} as WKT geometry with finite coordinates",
                "write WKT such as POLYGON ((30 50, 31 50, 31 51, 30 50)) in lon/lat",
            )
        )
    geoms[nonfinite] = None
    present = np.not_equal(geoms, None)
    if present.any():
        nverts = shapely.get_num_coordinates(geoms[present])
        over = np.flatnonzero(present)[nverts > limits.max_vertices_per_feature]
        for j in over:
            report.errors.append(
                Problem(
                    labels[rows[j]],
                    col,
                    f"over the limit max_vertices_per_feature={limits.max_vertices_per_feature:,}",
                    "simplify or split the feature",
                )
            )
            geoms[j] = None
        present = np.not_equal(geoms, None)
        has_z = np.zeros(len(geoms), dtype=bool)
        has_z[present] = shapely.has_z(geoms[present])
        if has_z.any():
            geoms[has_z] = shapely.force_2d(geoms[has_z])
            first = ", ".join(labels[rows[j]] for j in np.flatnonzero(has_z)[:5])
            report.repairs.append(
                Repair(
                    "file",
                    col,
                    f"{int(has_z.sum())} WKT geometries have 3-D/4-D positions (e.g. {first})",
                    "dropped the extra ordinates; kept longitude and latitude",
                )
            )
    return geoms
