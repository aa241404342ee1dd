"""Build shapely geometries from GeoJSON-like coordinate lists, fast and explicitly.

GeoJSON and KML features arrive as nested Python lists. Building one shapely object per
feature is slow for 100,000 features, so features are grouped by geometry type, their
positions flattened into one ``(n, 2)`` array with offset arrays, checked vectorised
(finite numbers, 3-D/4-D positions, unclosed rings, too-short rings, vertex limits) and
built with :func:`shapely.from_ragged_array`.

What happens to each problem:

- 3-D/4-D positions: extra ordinates dropped, one file-level :class:`Repair` (count and
  first features named);
- unclosed ring: closed by repeating its first position, a :class:`Repair` per feature;
- ring with fewer than 4 positions after closing, non-numeric or non-finite position,
  unknown type, missing coordinates, too many vertices: a :class:`Problem` per feature
  and the geometry is ``None``;
- ``null`` geometry or empty coordinates: ``None`` without a record (validation reports
  missing geometries for the layer);
- GeometryCollection: kept as is (members cleaned the same way); validation rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from shapely import GeometryType

from minemap._errors import UploadError
from minemap._report import Problem, Repair
from minemap.settings import Limits

__all__ = ["build_geometries"]

# nesting depth of "coordinates" (0 = a position) and the ragged-array type of each kind
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_RAGGED = {
    "Point": GeometryType.POINT,
    "MultiPoint": GeometryType.MULTIPOINT,
    "LineString": GeometryType.LINESTRING,
    "MultiLineString": GeometryType.MULTILINESTRING,
    "Polygon": GeometryType.POLYGON,
    "MultiPolygon": GeometryType.MULTIPOLYGON,
}
_MIN_POSITIONS = {"LineString": 2, "MultiLineString": 2}


class _BadGeometryError(Exception):
    """A per-feature geometry problem (message in plain words)."""


class _Context:
    def __init__(self, labels: Sequence[str], limits: Limits) -> None:
        self.labels = labels
        self.limits = limits
        self.errors: list[tuple[int, Problem]] = []
        self.repairs: list[Repair] = []
        self.z_features: list[int] = []

    def error(self, i: int, problem: str, fix: str) -> None:
        self.errors.append((i, Problem(self.labels[i], "geometry", problem, fix)))


# --------------------------------------------------------------------------- careful path


def _clean_position(pos: Any, flags: dict[str, bool]) -> list[float]:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        raise _BadGeometryError(f"position {_short(pos)} is not a [longitude, latitude] pair")
    out = []
    for v in pos[:2]:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _BadGeometryError(f"coordinate {_short(v)} is not a number")
        try:
            out.append(float(v))
        except OverflowError:
            raise _BadGeometryError(f"coordinate {_short(v)} is out of range") from None
    if not (np.isfinite(out[0]) and np.isfinite(out[1])):
        raise _BadGeometryError("a coordinate is infinite or not a number")
    if len(pos) > 2:
        flags["z"] = True
    return out


def _clean(coords: Any, depth: int, flags: dict[str, bool]) -> Any:
    """Validate nested coordinates of the given depth; return 2-D Python lists."""
    if depth == 0:
        return _clean_position(coords, flags)
    if not isinstance(coords, list | tuple):
        raise _BadGeometryError(f"coordinates {_short(coords)} are not a list")
    return [_clean(c, depth - 1, flags) for c in coords]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- vectorised path


def _flatten(kind: str, coords_list: list[Any]) -> tuple[list[Any], list[list[int]]]:
    """Flatten coordinates of one kind: positions and lengths per level (outermost last)."""
    depth = _DEPTH[kind]
    positions: list[Any] = []
    if depth == 0:
        return list(coords_list), []
    if depth == 1:
        lens1 = [len(c) for c in coords_list]
        for c in coords_list:
            positions.extend(c)
        return positions, [lens1]
    if depth == 2:
        lens2 = [len(c) for c in coords_list]
        lens1: list[int] = []
        for c in coords_list:
            for part in c:
                lens1.append(len(part))
                positions.extend(part)
        return positions, [lens1, lens2]
    lens3 = [len(c) for c in coords_list]
    lens2 = []
    lens1 = []
    for c in coords_list:
        for poly in c:
            lens2.append(len(poly))
            for ring in poly:
                lens1.append(len(ring))
                positions.extend(ring)
    return positions, [lens1, lens2, lens3]


def _as_xy(positions: list[Any]) -> np.ndarray | None:
    """Positions as a float (n, k>=2) array, or None if irregular/non-numeric."""
    if not positions:
        return np.empty((0, 2))
    try:
        arr = np.array(positions)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "if":
        return None
    return arr.astype(np.float64, copy=False)


def _build_group(
    kind: str, idx: list[int], coords_list: list[Any], ctx: _Context
) -> tuple[list[int], np.ndarray]:
    """Build the geometries of one kind; return (feature indices kept, geometries)."""
    positions, levels = _flatten_safely(kind, coords_list)
    xy = _as_xy(positions) if positions is not None else None
    keep = np.ones(len(idx), dtype=bool)
    if xy is None:
        # irregular input somewhere in this group: check feature by feature
        cleaned = []
        for j, coords in enumerate(coords_list):
            flags = {"z": False}
            try:
                cleaned.append(_clean(coords, _DEPTH[kind], flags))
            except _BadGeometryError as exc:
                ctx.error(idx[j], f"{kind}: {exc}", "give every position as [lon, lat]")
                keep[j] = False
                cleaned.append(_empty_like(kind))
                continue
            if flags["z"]:
                ctx.z_features.append(idx[j])
        positions, levels = _flatten(kind, cleaned)
        xy = _as_xy(positions)
        assert xy is not None
    elif xy.shape[1] > 2:
        ctx.z_features.extend(idx)
        xy = np.ascontiguousarray(xy[:, :2])

    n = len(idx)
    # vertices per feature, for limits and mapping positions to features
    if not levels:
        per_feature = np.ones(n, dtype=np.int64)
    else:
        counts = np.asarray(levels[0], dtype=np.int64)
        for outer in levels[1:]:
            outer_arr = np.asarray(outer, dtype=np.int64)
            counts = _sum_by(counts, outer_arr)
        per_feature = counts

    # non-finite numbers (e.g. 1e999 parses as inf)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        feat_of_pos = np.repeat(np.arange(n), per_feature)
        for j in np.unique(feat_of_pos[~finite]):
            if keep[j]:
                ctx.error(idx[j], f"{kind}: a coordinate is infinite", "fix the coordinate")
                keep[j] = False

    too_many = per_feature > ctx.limits.max_vertices_per_feature
    for j in np.flatnonzero(too_many & keep):
        ctx.error(
            idx[j],
            f"{int(per_feature[j]):,} vertices, over the limit max_vertices_per_feature="
            f"{ctx.limits.max_vertices_per_feature:,}",
            "simplify or split the feature",
        )
        keep[j] = False

    if kind in ("Polygon", "MultiPolygon"):
        xy, levels = _check_rings(kind, idx, xy, levels, keep, ctx)
    elif kind in _MIN_POSITIONS:
        line_len = np.asarray(levels[0], dtype=np.int64)
        owner = _owner(levels, n)
        too_short = line_len < 2 if kind == "MultiLineString" else (line_len == 1)
        for j in np.unique(owner[too_short]):
            if keep[j]:
                ctx.error(idx[j], f"{kind}: a line has a single position", "give 2 or more")
                keep[j] = False

    # empty coordinates → None without a record (validation reports missing geometry)
    if levels:
        empty = np.asarray(levels[-1], dtype=np.int64) == 0
        keep &= ~empty

    xy, levels = _select(xy, levels, keep, n)
    kept = [idx[j] for j in np.flatnonzero(keep)]
    if not kept:
        return [], np.empty(0, dtype=object)
    offsets = tuple(
        np.concatenate([[0], np.cumsum(np.asarray(lv, dtype=np.int64))]) for lv in levels
    )
    geoms = shapely.from_ragged_array(_RAGGED[kind], xy, offsets or None)
    return kept, geoms


def _flatten_safely(kind: str, coords_list: list[Any]) -> tuple[list[Any] | None, list[list[int]]]:
    try:
        return _flatten(kind, coords_list)
    except TypeError:
        return None, []


def _empty_like(kind: str) -> Any:
    return [0.0, 0.0] if _DEPTH[kind] == 0 else []


def _sum_by(inner: np.ndarray, outer_len: np.ndarray) -> np.ndarray:
    """Sum consecutive runs of ``inner`` of the lengths in ``outer_len``."""
    ends = np.cumsum(outer_len)
    csum = np.concatenate([[0], np.cumsum(inner)])
    return csum[ends] - csum[ends - outer_len]


def _owner(levels: list[list[int]], n: int) -> np.ndarray:
    """Feature index (0..n-1) of every element of the innermost level."""
    owner = np.arange(n)
    for lv in reversed(levels[1:]):
        owner = np.repeat(owner, np.asarray(lv, dtype=np.int64))
    return owner


def _check_rings(
    kind: str,
    idx: list[int],
    xy: np.ndarray,
    levels: list[list[int]],
    keep: np.ndarray,
    ctx: _Context,
) -> tuple[np.ndarray, list[list[int]]]:
    ring_len = np.asarray(levels[0], dtype=np.int64)
    owner = _owner(levels, len(idx))
    ends = np.cumsum(ring_len)
    starts = ends - ring_len
    nonempty = ring_len > 0
    closed = np.zeros(len(ring_len), dtype=bool)
    ne = np.flatnonzero(nonempty)
    closed[ne] = (xy[starts[ne]] == xy[ends[ne] - 1]).all(axis=1)
    unclosed = nonempty & ~closed
    after = ring_len + unclosed
    short = after < 4
    n = len(idx)
    if kind == "MultiPolygon":
        # a polygon part without rings: an error (shapely 2.2 from_ragged_array crashes on it)
        rings_per_part = np.asarray(levels[1], dtype=np.int64)
        part_owner = np.repeat(np.arange(n), np.asarray(levels[2], dtype=np.int64))
        for j in np.unique(part_owner[rings_per_part == 0]):
            if keep[j]:
                ctx.error(
                    idx[j],
                    "MultiPolygon: a polygon part has no rings",
                    "remove the empty part",
                )
                keep[j] = False
    short_count = np.bincount(owner[short], minlength=n)
    for j in np.flatnonzero(short_count):
        if keep[j]:
            ctx.error(
                idx[j],
                f"{kind}: {int(short_count[j])} ring(s) with fewer than 4 positions "
                "(a ring needs 3 corners and the closing position)",
                "draw the polygon again or remove the degenerate ring",
            )
            keep[j] = False
    if unclosed.any():
        unclosed_count = np.bincount(owner[unclosed], minlength=n)
        for j in np.flatnonzero(unclosed_count):
            if keep[j]:
                ctx.repairs.append(
                    Repair(
                        ctx.labels[idx[j]],
                        "geometry",
                        f"{int(unclosed_count[j])} ring(s) not closed "
                        "(last position differs from the first)",
                        "closed each ring by repeating its first position",
                    )
                )
        u = np.flatnonzero(unclosed)
        xy = np.insert(xy, ends[u], xy[starts[u]], axis=0)
        levels = [after.tolist(), *levels[1:]]
    return xy, levels


def _select(
    xy: np.ndarray, levels: list[list[int]], keep: np.ndarray, n: int
) -> tuple[np.ndarray, list[Any]]:
    """Drop the features not kept from the flattened arrays."""
    if keep.all():
        return xy, levels
    if not levels:
        return xy[keep], []
    keep_levels = []
    mask = keep
    for lv in reversed(levels):
        keep_levels.append(mask)
        mask = np.repeat(mask, np.asarray(lv, dtype=np.int64))
    keep_levels.reverse()
    new_levels = [
        np.asarray(lv, dtype=np.int64)[m] for lv, m in zip(levels, keep_levels, strict=True)
    ]
    return xy[mask], new_levels


# --------------------------------------------------------------------------- collections


def _build_one(geom: dict[str, Any], ctx: _Context, i: int, depth: int = 0) -> Any:
    """Build one geometry slowly (GeometryCollection members); raise on problems."""
    if not isinstance(geom, dict):
        raise _BadGeometryError("a member is not a geometry object")
    kind = geom.get("type")
    if not isinstance(kind, str):
        raise _BadGeometryError(f"geometry type {_short(kind)} is not a name")
    if kind == "GeometryCollection":
        if depth > 8:
            raise _BadGeometryError("GeometryCollection nested too deeply")
        members = geom.get("geometries")
        if not isinstance(members, list):
            raise _BadGeometryError("GeometryCollection without a 'geometries' list")
        return shapely.geometrycollections([_build_one(m, ctx, i, depth + 1) for m in members])
    if kind not in _DEPTH:
        raise _BadGeometryError(f"unknown geometry type {_short(kind)}")
    sub = _Context([ctx.labels[i]], ctx.limits)
    kept, geoms = _build_group(kind, [0], [geom.get("coordinates")], sub)
    if sub.errors:
        raise _BadGeometryError(sub.errors[0][1].problem)
    ctx.repairs.extend(sub.repairs)
    if sub.z_features:
        ctx.z_features.append(i)
    return geoms[0] if kept else shapely.from_wkt(f"{kind.upper()} EMPTY")


# --------------------------------------------------------------------------- entry point


def build_geometries(
    geoms: Sequence[Any],
    *,
    labels: Sequence[str],
    file: str,
    limits: Limits,
    errors: list[Problem],
    repairs: list[Repair],
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Build shapely geometries from GeoJSON geometry objects (dicts or ``None``).

    Parameters
    ----------
    geoms
        One GeoJSON geometry object (or ``None``) per feature.
    labels
        Feature labels for records (``"feature 3"``), aligned with ``geoms``.
    file
        Display name for file-level messages.
    limits
        ``max_vertices`` (whole file, raises) and ``max_vertices_per_feature`` (per feature).
    errors, repairs
        Receive per-feature problems and repairs.
    progress
        Optional ``progress(done, total)`` callback.

    Returns
    -------
    numpy.ndarray
        Object array of shapely geometries or ``None``, aligned with ``geoms``.
    """
    n = len(geoms)
    ctx = _Context(labels, limits)
    out = np.full(n, None, dtype=object)
    groups: dict[str, tuple[list[int], list[Any]]] = {}
    collections: list[int] = []
    step = max(n // 20, 10_000)
    for i, g in enumerate(geoms):
        if progress is not None and i % step == 0 and i:
            progress(i, n)
        if g is None:
            continue
        if not isinstance(g, dict):
            ctx.error(i, "the geometry is not a GeoJSON object", "give a GeoJSON geometry")
            continue
        kind = g.get("type")
        if not isinstance(kind, str):
            kind = repr(kind)[:20]
        if kind in _DEPTH:
            coords = g.get("coordinates")
            if coords is None:
                ctx.error(i, f"{kind} without coordinates", "add the coordinates")
                continue
            if not isinstance(coords, list):
                ctx.error(
                    i, f"{kind}: coordinates {_short(coords)} are not a list", "fix the geometry"
                )
                continue
            bucket = groups.setdefault(kind, ([], []))
            bucket[0].append(i)
            bucket[1].append(coords)
        elif kind == "GeometryCollection":
            collections.append(i)
        else:
            ctx.error(
                i,
                f"unknown geometry type {_short(kind)}",
                "use Point, LineString, Polygon or their Multi- forms",
            )
    total_vertices = 0
    for kind, (idx, coords_list) in groups.items():
        kept, built = _build_group(kind, idx, coords_list, ctx)
        if kept:
            out[np.asarray(kept)] = built
            total_vertices += int(shapely.get_num_coordinates(built).sum())
        if total_vertices > limits.max_vertices:
            raise UploadError(
                f"{file}: more than {limits.max_vertices:,} vertices, over the limit "
                "max_vertices; split the file"
            )
    for i in collections:
        try:
            out[i] = _build_one(geoms[i], ctx, i)
        except _BadGeometryError as exc:
            ctx.error(i, f"GeometryCollection: {exc}", "fix or remove the member")
    errors.extend(p for _, p in sorted(ctx.errors, key=lambda item: item[0]))
    repairs.extend(ctx.repairs)
    if ctx.z_features:
        z = sorted(set(ctx.z_features))
        named = ", ".join(labels[i] for i in z[:5]) + (", ..." if len(z) > 5 else "")
        repairs.append(
            Repair(
                "file",
                "geometry",
                f"{len(z)} feature(s) have 3-D/4-D positions (height or measure), e.g. {named}",
                "dropped the extra ordinates; kept longitude and latitude",
            )
        )
    if progress is not None:
        progress(n, n)
    return out
