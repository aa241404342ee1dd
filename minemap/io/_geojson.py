"""GeoJSON uploads, parsed by minemap itself (never by a GDAL driver).

Accepted: a FeatureCollection, a bare Feature, or a bare geometry (read as one feature
without attributes). Parsing is strict (see :func:`minemap.io._safety.load_json`);
geometries are built vectorised by :func:`minemap.io._geom.build_geometries`.

A legacy (GeoJSON 2008) ``crs`` member naming an EPSG code is honoured: coordinates are
reprojected to EPSG:4326 and the reprojection recorded. OGC CRS84 and EPSG:4326 need no
change. A ``link`` crs (a URL or file) is refused: minemap never follows references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from minemap._errors import UnsafeInputError, UnsupportedFormatError, UploadError
from minemap._report import Problem, Repair, Report
from minemap.io._geom import build_geometries
from minemap.io._safety import decode_text, load_json
from minemap.settings import Limits

__all__ = ["legacy_crs_epsg", "read_geojson"]

_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
_CRS84 = re.compile(
    r"^(urn:ogc:def:crs:OGC:(1\.3)?:CRS84|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84"
    r"|CRS84|OGC:CRS84)$",
    re.IGNORECASE,
)
_EPSG = re.compile(
    r"^(?:urn:ogc:def:crs:EPSG:[\d.]*:|EPSG:{1,2}|https?://www\.opengis\.net/def/crs/EPSG/0/)"
    r"(\d{4,6})$",
    re.IGNORECASE,
)


def legacy_crs_epsg(crs: Any, *, file: str) -> int | None:
    """The EPSG code named by a legacy GeoJSON ``crs`` member (``None`` for lon/lat WGS84).

    Only names are interpreted (by pattern, never fetched); ``link`` members and anything
    unrecognised are refused.
    """
    if crs is None:
        return None
    if not isinstance(crs, dict):
        raise UploadError(f"{file}: the 'crs' member is not an object")
    kind = crs.get("type")
    props = crs.get("properties") if isinstance(crs.get("properties"), dict) else {}
    if kind == "link" or "href" in props:
        raise UnsafeInputError(
            f"{file}: refused: the 'crs' member is a link ({kind!r}); minemap never follows "
            "links in uploads — remove the crs member and give coordinates in WGS84 lon/lat"
        )
    code: int | None = None
    if kind == "name" and isinstance(props.get("name"), str):
        name = props["name"].strip()
        if _CRS84.match(name):
            return None
        match = _EPSG.match(name)
        if not match:
            raise UploadError(
                f"{file}: unknown 'crs' name {name[:80]!r}; give coordinates in WGS84 lon/lat "
                "(and drop the crs member) or name an EPSG code"
            )
        code = int(match.group(1))
    elif kind == "EPSG" and isinstance(props.get("code"), int | str):
        try:
            code = int(props["code"])
        except ValueError:
            code = None
    if code is None:
        raise UploadError(f"{file}: unreadable 'crs' member; give coordinates in WGS84 lon/lat")
    if code == 4326:
        return None
    try:
        CRS.from_epsg(code)
    except ProjCRSError:
        raise UploadError(f"{file}: the 'crs' member names EPSG:{code}, which is unknown") from None
    return code


def _features_of(doc: Any, *, file: str) -> list[Any]:
    if not isinstance(doc, dict):
        raise UnsupportedFormatError(f"{file}: JSON that is not a GeoJSON object")
    kind = doc.get("type")
    if not isinstance(kind, str):
        kind = repr(kind)
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise UploadError(f"{file}: FeatureCollection without a 'features' list")
        return features
    if kind == "Feature":
        return [doc]
    if kind in _GEOMETRY_TYPES:
        return [{"type": "Feature", "properties": {}, "geometry": doc}]
    raise UnsupportedFormatError(
        f"{file}: JSON with type {str(kind)[:40]!r} is not GeoJSON "
        "(expected a FeatureCollection, a Feature or a geometry)"
    )


def read_geojson(
    data: bytes,
    *,
    file: str,
    limits: Limits,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], Report]:
    """Parse GeoJSON bytes.

    Returns
    -------
    tuple
        ``(attributes, geometries, labels, report)``: attribute frame (RangeIndex),
        object array of shapely geometries in EPSG:4326 (``None`` where missing or
        unreadable), labels ``"feature N"`` (1-based) and the read-level report.
    """
    report = Report(file=file, layer="")
    text = decode_text(data, file=file, repairs=report.repairs)
    doc = load_json(text, file=file, limits=limits, raw=data)
    del text
    features = _features_of(doc, file=file)
    n = len(features)
    if n > limits.max_features:
        raise UploadError(
            f"{file}: {n:,} features, over the limit max_features={limits.max_features:,}"
        )
    if progress is not None:
        progress(0, n)
    epsg = legacy_crs_epsg(doc.get("crs"), file=file) if isinstance(doc, dict) else None
    labels = [f"feature {i + 1}" for i in range(n)]
    props: list[dict[str, Any]] = []
    geoms: list[Any] = []
    ids: list[Any] = []
    any_id = False
    for i, feat in enumerate(features):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            report.errors.append(
                Problem(labels[i], "feature", "not a GeoJSON Feature object", "remove or fix it")
            )
            props.append({})
            geoms.append(None)
            ids.append(None)
            continue
        if "crs" in feat:
            raise UploadError(
                f"{file}: {labels[i]} has its own 'crs' member; give one CRS for the whole "
                "file (preferably WGS84 lon/lat without a crs member)"
            )
        p = feat.get("properties")
        if p is None:
            p = {}
        elif not isinstance(p, dict):
            report.errors.append(
                Problem(labels[i], "properties", "'properties' is not an object", "fix it")
            )
            p = {}
        props.append(p)
        geoms.append(feat.get("geometry"))
        fid = feat.get("id")
        ids.append(fid)
        any_id = any_id or fid is not None
    del doc, features
    geometry = build_geometries(
        geoms,
        labels=labels,
        file=file,
        limits=limits,
        errors=report.errors,
        repairs=report.repairs,
        progress=progress,
    )
    del geoms
    frame = _typed_frame(props, n)
    if any_id and "id" not in frame.columns:
        frame.insert(0, "id", pd.Series(ids, index=frame.index, dtype=object))
    frame = _flatten_nested(frame, report)
    if epsg is not None:
        geometry = _reproject(geometry, epsg, labels, report)
    return frame, geometry, labels, report


def _typed_frame(props: list[dict[str, Any]], n: int) -> pd.DataFrame:
    """Attribute frame with JSON types kept: integers stay exact (``Int64``, or object when
    beyond int64), booleans ``boolean``, text ``str``, numbers ``float64``; else object."""
    if not n:
        return pd.DataFrame(index=pd.RangeIndex(0))
    keys: dict[str, None] = {}
    for p in props:
        keys.update(dict.fromkeys(p))
    columns: dict[str, pd.Series] = {}
    for col in keys:
        values = pd.Series([p.get(col) for p in props], dtype=object, index=pd.RangeIndex(n))
        kind = pd.api.types.infer_dtype(values, skipna=True)
        series = values
        try:
            if kind == "integer":
                series = values.astype("Int64")
            elif kind in ("floating", "mixed-integer-float"):
                series = values.astype("float64")
            elif kind == "boolean":
                series = values.astype("boolean")
            elif kind == "string":
                series = values.astype("str")
        except (OverflowError, TypeError, ValueError):
            series = values
        columns[col] = series
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _flatten_nested(frame: pd.DataFrame, report: Report) -> pd.DataFrame:
    """Nested objects/arrays in properties become JSON text (recorded once per column)."""
    for col in frame.columns:
        series = frame[col]
        if series.dtype != object:
            continue
        nested = series.map(lambda v: isinstance(v, dict | list))
        if nested.any():
            frame[col] = series.where(
                ~nested, series.map(lambda v: json.dumps(v, ensure_ascii=False))
            )
            report.repairs.append(
                Repair(
                    "file",
                    str(col),
                    f"{int(nested.sum())} value(s) are nested JSON objects or arrays",
                    "stored them as JSON text",
                )
            )
    return frame


def _reproject(geometry: np.ndarray, epsg: int, labels: list[str], report: Report) -> np.ndarray:
    transformer = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    present = np.flatnonzero(np.not_equal(geometry, None))
    if present.size:
        moved = shapely.transform(geometry[present], fn)
        bounds = shapely.bounds(moved)
        bad = ~np.isfinite(bounds).all(axis=1) & ~shapely.is_empty(moved)
        for j in np.flatnonzero(bad):
            report.errors.append(
                Problem(
                    labels[present[j]],
                    "geometry",
                    f"coordinates cannot be transformed from EPSG:{epsg} to WGS84",
                    f"check that the coordinates really are in EPSG:{epsg}",
                )
            )
        moved[bad] = None
        geometry = geometry.copy()
        geometry[present] = moved
    report.repairs.append(
        Repair(
            "file",
            "geometry",
            f"legacy GeoJSON 'crs' member: coordinates are in EPSG:{epsg}",
            f"reprojected {present.size} feature(s) from EPSG:{epsg} to EPSG:4326 (WGS84 lon/lat)",
        )
    )
    return geometry
