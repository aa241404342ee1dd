"""KML uploads, parsed by minemap itself after :mod:`defusedxml` refused DTDs/entities.

No GDAL driver opens a KML upload: GDAL's KML/LIBKML drivers can follow
``NetworkLink``/``href`` references, which an upload must never trigger. Placemarks are
read in document order (labels ``"placemark N"``, 1-based) with their ``name``,
``description`` and ``ExtendedData`` (``Data``/``SimpleData``) as string columns.
``Point``, ``LineString``, ``LinearRing``, ``Polygon`` and ``MultiGeometry`` are read;
other geometries (``Model``, ``gx:Track``) are per-placemark errors. ``NetworkLink``
elements are ignored with a warning. ``layer_name`` selects the placemarks of one
``Folder``/``Document`` by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from minemap._errors import UnsafeInputError, UnsupportedFormatError, UploadError
from minemap._report import Problem, Report
from minemap.io._geom import build_geometries
from minemap.io._safety import parse_xml
from minemap.settings import Limits

__all__ = ["read_kml"]

_GEOMETRY_TAGS = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"}
_UNSUPPORTED = {"Model", "Track", "MultiTrack"}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(elem: Any, name: str) -> Any:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text(elem: Any) -> str | None:
    if elem is None:
        return None
    text = "".join(elem.itertext()).strip()
    return text or None


class _BadKmlError(Exception):
    pass


def _coords(elem: Any) -> list[list[float]]:
    node = _child(elem, "coordinates")
    text = _text(node)
    if not text:
        return []
    out = []
    for token in text.split():
        parts = token.split(",")
        try:
            out.append([float(p) for p in parts if p != ""])
        except ValueError:
            raise _BadKmlError(f"coordinate {token[:40]!r} is not lon,lat[,alt]") from None
        if len(out[-1]) < 2:
            raise _BadKmlError(f"coordinate {token[:40]!r} is not lon,lat[,alt]")
    return out


def _geometry(elem: Any) -> dict[str, Any]:
    kind = _local(elem.tag)
    if kind == "Point":
        pts = _coords(elem)
        if len(pts) != 1:
            raise _BadKmlError("a Point needs exactly one coordinate")
        return {"type": "Point", "coordinates": pts[0]}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": _coords(elem)}
    if kind in ("LinearRing", "Polygon"):
        if kind == "LinearRing":
            return {"type": "Polygon", "coordinates": [_coords(elem)]}
        rings = []
        for boundary in ("outerBoundaryIs", "innerBoundaryIs"):
            for b in elem:
                if _local(b.tag) == boundary:
                    ring = _child(b, "LinearRing")
                    if ring is None:
                        raise _BadKmlError(f"{boundary} without a LinearRing")
                    rings.append(_coords(ring))
            if boundary == "outerBoundaryIs" and len(rings) != 1:
                raise _BadKmlError("a Polygon needs exactly one outerBoundaryIs")
        return {"type": "Polygon", "coordinates": rings}
    if kind == "MultiGeometry":
        parts = [_geometry(c) for c in elem if _local(c.tag) in _GEOMETRY_TAGS]
        kinds = {p["type"] for p in parts}
        if len(kinds) == 1 and next(iter(kinds)) in ("Point", "LineString", "Polygon"):
            only = next(iter(kinds))
            return {"type": "Multi" + only, "coordinates": [p["coordinates"] for p in parts]}
        return {"type": "GeometryCollection", "geometries": parts}
    raise _BadKmlError(f"unsupported KML geometry <{kind}>")


def _walk(elem: Any, folder: str | None, report: Report) -> Iterator[tuple[Any, str | None]]:
    for c in elem:
        tag = _local(c.tag)
        if tag == "Placemark":
            yield c, folder
        elif tag in ("Document", "Folder"):
            yield from _walk(c, _text(_child(c, "name")) or folder, report)
        elif tag == "NetworkLink":
            report.warnings.append(
                Problem(
                    "file",
                    "NetworkLink",
                    "the KML links to other content (NetworkLink); minemap never fetches "
                    "linked content, so it was ignored",
                    "include the linked placemarks in the file itself",
                )
            )


def read_kml(
    data: bytes,
    *,
    file: str,
    limits: Limits,
    layer_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], Report]:
    """Parse KML bytes safely.

    Returns
    -------
    tuple
        ``(attributes, geometries, labels, report)``.
    """
    report = Report(file=file, layer="")
    root = parse_xml(data, file=file)
    root_tag = _local(root.tag)
    if root_tag in ("OGRVRTDataSource", "VRTDataset"):
        raise UnsafeInputError(f"{file}: refused: a GDAL VRT file, not KML")
    if root_tag != "kml":
        raise UnsupportedFormatError(f"{file}: XML root <{root_tag}> is not KML")
    try:
        placemarks = list(_walk(root, None, report))
    except RecursionError:
        raise UnsafeInputError(f"{file}: refused: KML folders nested too deeply") from None
    if layer_name is not None:
        folders = sorted({f for _, f in placemarks if f})
        if layer_name not in folders:
            raise UploadError(
                f"{file}: no folder {layer_name!r} in the KML; its folders are: "
                f"{', '.join(folders) or '(none)'}"
            )
    if len(placemarks) > limits.max_features:
        raise UploadError(
            f"{file}: {len(placemarks):,} placemarks, over the limit max_features="
            f"{limits.max_features:,}"
        )
    labels: list[str] = []
    records: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for number, (pm, folder) in enumerate(placemarks, start=1):
        if layer_name is not None and folder != layer_name:
            continue
        label = f"placemark {number}"
        labels.append(label)
        rec: dict[str, Any] = {
            "name": _text(_child(pm, "name")),
            "description": _text(_child(pm, "description")),
        }
        ext = _child(pm, "ExtendedData")
        if ext is not None:
            for item in ext.iter():
                tag = _local(item.tag)
                key = item.get("name")
                if not key:
                    continue
                if tag == "Data":
                    rec[key] = _text(_child(item, "value"))
                elif tag == "SimpleData":
                    rec[key] = _text(item)
        records.append(rec)
        geom_elems = [c for c in pm if _local(c.tag) in _GEOMETRY_TAGS | _UNSUPPORTED]
        if not geom_elems:
            geoms.append(None)
            continue
        try:
            geoms.append(_geometry(geom_elems[0]))
        except RecursionError:
            raise UnsafeInputError(f"{file}: refused: KML geometry nested too deeply") from None
        except _BadKmlError as exc:
            report.errors.append(
                Problem(label, "geometry", str(exc), "fix the placemark's geometry")
            )
            geoms.append(None)
    geometry = build_geometries(
        geoms,
        labels=labels,
        file=file,
        limits=limits,
        errors=report.errors,
        repairs=report.repairs,
        progress=progress,
    )
    report.errors.sort(key=lambda p: int(p.feature.rsplit(" ", 1)[-1]))
    frame = pd.DataFrame.from_records(records, index=pd.RangeIndex(len(records)))
    if len(frame.columns) == 0:
        frame = pd.DataFrame(index=pd.RangeIndex(len(records)))
    frame = frame.astype("str")
    return frame, geometry, labels, report
