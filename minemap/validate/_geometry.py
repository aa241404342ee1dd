"""Geometry checks and repairs, vectorised with shapely 2 array functions.

What happens to each problem (details and examples in ``docs/validation.md``):

* rejected (error): missing/empty geometry; a geometry type the layer does not take;
  GeometryCollections (the parts are listed); non-finite coordinates; a position at
  (0, 0); coordinates that look swapped (lat, lon) or like projected metres; coordinates
  outside the WGS84 range; features entirely outside the area of operations; polygons
  that have no area left after repair; and, for the ``cleared`` layer, any repair that
  changes the area by more than 0.5 % or leaves no polygon at all.
* repaired (recorded): repeated consecutive vertices (removed; one summary record per
  file); invalid polygons (self-intersections, holes outside shells, ...) rebuilt with
  :func:`shapely.make_valid`, one record per feature with the area before and after in
  m²; ring orientation normalised to RFC 7946 (outer rings counter-clockwise, holes
  clockwise; one summary record per file — shapefiles store the opposite orientation,
  so per-feature records would drown the log).
* warned: features partly outside the area of operations; repairs of non-cleared layers
  that change the area by more than 0.5 %; overlapping ``cleared`` polygons.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.geometry import area_m2, polygonal_parts, to_area_crs
from minemap.layers import LayerSchema
from minemap.settings import STORAGE_CRS, AreaOfOperations
from minemap.validate._messages import Collector

__all__ = [
    "AREA_POSITION_TOLERANCE_M",
    "AREA_TOLERANCE",
    "ZERO_TOLERANCE_DEG",
    "check_declared_area",
    "check_geometries",
    "warn_overlaps",
]

AREA_TOLERANCE = 0.005
"""Largest relative area change (0.5 %) accepted for a repair of released land, and the
largest disagreement accepted between a declared ``area_m2`` and the geometry."""

AREA_POSITION_TOLERANCE_M = 0.1
"""Position uncertainty (m) allowed along a polygon's boundary when a declared ``area_m2`` is
compared with the geometry: the area may differ by up to perimeter × this band. Coordinates
stored to 1e-6° (~0.11 m) move a boundary by at most half a step, so an area measured before
rounding can drift by about perimeter × 0.055 m — past 0.5 % on polygons of a few hundred m²
(real case: 687 of the 5,524 Bosnian cleared areas). The relative 0.5 % still governs every
square larger than 80 m × 80 m (0.64 ha), where 0.5 % of the area exceeds the band."""

ZERO_TOLERANCE_DEG = 1e-6
"""A position within this many degrees of (0, 0) counts as 'null island'."""

PROJECTED_MAGNITUDE = 1000.0
"""Coordinates beyond this magnitude are metres (UTM, Web Mercator), not degrees."""

_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}

_REASONS = {
    "Self-intersection": "the boundary crosses itself",
    "Ring Self-intersection": "a ring touches or crosses itself",
    "Hole lies outside shell": "a hole lies outside the polygon's outer ring",
    "Nested holes": "a hole lies inside another hole",
    "Nested shells": "one part of the polygon lies inside another part",
    "Interior is disconnected": "holes cut the polygon into separate pieces",
    "Duplicate Rings": "a ring is repeated",
    "Too few points in geometry component": "a ring has fewer than 3 distinct points",
    "Invalid Coordinate": "a coordinate is not a number",
    "Ring is not closed": "a ring is not closed",
}

_GIS_FIX = (
    "fix the polygon in a GIS (QGIS: Vector ▸ Geometry Tools ▸ Check Validity, then "
    "Fix Geometries) and check it against the survey record"
)


def _fmt_deg(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _where(b: np.ndarray) -> str:
    """``lon 30.5, lat 50.4`` for a point, a bounding box otherwise (x/y as given)."""
    minx, miny, maxx, maxy = b
    if minx == maxx and miny == maxy:
        return f"x {_fmt_deg(minx)}, y {_fmt_deg(miny)}"
    return f"x {_fmt_deg(minx)}…{_fmt_deg(maxx)}, y {_fmt_deg(miny)}…{_fmt_deg(maxy)}"


def _plain_reason(reason: str) -> tuple[str, str]:
    """(plain words, location) from a GEOS ``is_valid_reason`` string."""
    head, _, rest = reason.partition("[")
    words = _REASONS.get(head.strip(), head.strip().lower() or "invalid polygon")
    location = ""
    if rest:
        parts = rest.rstrip("]").split()
        if len(parts) >= 2:
            try:
                location = f" near ({_fmt_deg(float(parts[0]))}, {_fmt_deg(float(parts[1]))})"
            except ValueError:
                location = ""
    return words, location


def _rings(geom: shapely.Geometry) -> list[tuple[str, shapely.Polygon, shapely.LinearRing, bool]]:
    """(label, polygon, ring, is_hole) for every ring, numbered as in messages."""
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    out = []
    for p, poly in enumerate(polys, start=1):
        prefix = f"geometry part {p} " if len(polys) > 1 else "geometry "
        out.append((f"{prefix}ring 1", poly, poly.exterior, False))
        for r, hole in enumerate(poly.interiors, start=2):
            out.append((f"{prefix}ring {r}", poly, hole, True))
    return out


def _locate(geom: shapely.Geometry, reason: str) -> str:
    """Name the ring at fault (``geometry ring 2``; ring 1 is the outer ring)."""
    try:
        rings = _rings(geom)
        if reason.startswith(("Self-intersection", "Ring Self-intersection")):
            for label, _, ring, _ in rings:
                if not shapely.is_simple(ring):
                    return label
        if reason.startswith(("Hole lies outside shell", "Nested holes")):
            for label, poly, ring, is_hole in rings:
                if is_hole and not shapely.Polygon(poly.exterior).contains(shapely.Polygon(ring)):
                    return label
        if reason.startswith("Too few points"):
            for label, _, ring, _ in rings:
                if len(set(ring.coords)) < 3:
                    return label
    except (shapely.errors.GEOSException, ValueError):  # pragma: no cover - defensive
        pass
    return "geometry"


def _areas(geoms: np.ndarray) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(0)
    return area_m2(gpd.GeoSeries(geoms, crs=STORAGE_CRS)).to_numpy()


def _remove_repeated(geoms: np.ndarray) -> np.ndarray:
    """Remove repeated consecutive vertices, touching only the features that have any."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    same = (coords[1:] == coords[:-1]).all(axis=1) & (index[1:] == index[:-1])
    candidates = np.unique(index[1:][same])
    if len(candidates) == 0:
        return geoms
    out = geoms.copy()
    out[candidates] = _remove_repeated_all(geoms[candidates])
    return out


def _remove_repeated_all(geoms: np.ndarray) -> np.ndarray:
    try:
        return shapely.remove_repeated_points(geoms, 0.0)
    except shapely.errors.GEOSException:
        # a ring would collapse below 3 points: fall back per feature and leave those
        # as they are (the validity check below reports them)
        out = geoms.copy()
        for i, g in enumerate(geoms):
            try:
                out[i] = shapely.remove_repeated_points(g, 0.0)
            except shapely.errors.GEOSException:
                out[i] = g
        return out


def check_geometries(
    geoms: np.ndarray,
    schema: LayerSchema,
    aoi: AreaOfOperations,
    out: Collector,
) -> tuple[np.ndarray, np.ndarray]:
    """Check every geometry, repair what can be repaired safely, record everything.

    Parameters
    ----------
    geoms
        Object array of shapely geometries (or ``None``) in lon/lat, position aligned.
    schema
        The layer schema (allowed geometry types; ``cleared`` gets the strict repair rule).
    aoi
        Area of operations every feature must fall in.
    out
        Collector for errors, repairs and warnings.

    Returns
    -------
    geoms : numpy.ndarray
        The geometries after repair (rejected features keep their original geometry).
    rejected : numpy.ndarray
        Boolean mask of features with a geometry error.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    n = len(geoms)
    rejected = np.zeros(n, dtype=bool)
    if n == 0:
        return geoms, rejected
    allowed = set(schema.geometry_types)
    allowed_text = " or ".join(schema.geometry_types)

    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        out.error(
            int(i),
            "geometry",
            "the geometry is missing (null) or could not be read",
            f"give the feature a {allowed_text} geometry, or remove it",
        )
    for i in np.flatnonzero(empty):
        out.error(
            int(i),
            "geometry",
            "the geometry is empty (it has no coordinates)",
            f"give the feature a {allowed_text} geometry, or remove it",
        )
    present = ~missing & ~empty
    rejected |= ~present

    type_ids = shapely.get_type_id(geoms)
    collection = present & (type_ids == 7)
    for i in np.flatnonzero(collection):
        kinds = Counter(p.geom_type for p in shapely.get_parts(geoms[i]))
        listing = ", ".join(f"{c} {k}" for k, c in sorted(kinds.items()))
        out.error(
            int(i),
            "geometry",
            f"the geometry is a GeometryCollection ({listing}); the {schema.name} layer "
            f"takes only {allowed_text}",
            f"split it into one {allowed_text} feature per part and drop the other parts",
        )
    type_names = np.array([_TYPE_NAMES.get(int(t), "unknown") for t in range(8)], dtype=object)
    names = np.where(type_ids >= 0, type_names[np.clip(type_ids, 0, 7)], "")
    wrong = present & ~collection & ~np.isin(names, list(allowed))
    for i in np.flatnonzero(wrong):
        hint = (
            "draw the area as a polygon, or load points into a point layer"
            if schema.is_polygonal and "Point" not in allowed
            else f"give one {allowed_text} per feature"
        )
        out.error(
            int(i),
            "geometry",
            f"the geometry is a {names[i]}; the {schema.name} layer takes {allowed_text}",
            hint,
        )
    rejected |= collection | wrong

    # --- coordinates: finite, not (0, 0), degrees, lon/lat order, area of operations
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    finite_bad = np.bincount(index, weights=~np.isfinite(coords).all(axis=1), minlength=n) > 0
    near_zero = (np.abs(coords) < ZERO_TOLERANCE_DEG).all(axis=1)
    at_zero = np.bincount(index, weights=near_zero, minlength=n) > 0
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geoms)
    minx, miny, maxx, maxy = bounds.T
    with np.errstate(invalid="ignore"):
        in_range = (minx >= -180) & (maxx <= 180) & (miny >= -90) & (maxy <= 90)
        projected = np.nanmax(np.abs(np.where(np.isfinite(bounds), bounds, 0)), axis=1) > (
            PROJECTED_MAGNITUDE
        )
        x0, y0, x1, y1 = aoi.bounds
        inside = (minx >= x0) & (maxx <= x1) & (miny >= y0) & (maxy <= y1)
        touches = (maxx >= x0) & (minx <= x1) & (maxy >= y0) & (miny <= y1)
        swapped_inside = (miny >= x0) & (maxy <= x1) & (minx >= y0) & (maxx <= y1)
    checked = present & ~collection
    aoi_text = f"{aoi.name} ({', '.join(_fmt_deg(v) for v in aoi.bounds)})"
    aoi_fix = (
        "check the coordinates; if the data are for another area, pass "
        "--aoi minlon,minlat,maxlon,maxlat (or set the area of operations in the app)"
    )
    coord_bad = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(checked & (finite_bad | at_zero | ~inside)):
        where = _where(bounds[i])
        if finite_bad[i]:
            out.error(
                int(i),
                "geometry",
                "some coordinates are not numbers (NaN or infinite)",
                "give every vertex a longitude and a latitude",
            )
        elif at_zero[i]:
            out.error(
                int(i),
                "geometry",
                "a position is at (0, 0) ('null island'): usually a missing coordinate "
                "filled in with zeros",
                "give the real position, or remove the feature",
            )
        elif not touches[i] and swapped_inside[i]:
            out.error(
                int(i),
                "geometry",
                f"longitude and latitude look swapped: as given ({where}) the feature is "
                f"outside {aoi_text}, with x and y exchanged it falls inside; minemap never "
                "swaps coordinates silently",
                "export with longitude as x and latitude as y (RFC 7946 order), or map the "
                "CSV's latitude and longitude columns the right way round",
            )
        elif not in_range[i] and projected[i]:
            out.error(
                int(i),
                "geometry",
                f"coordinates ({where}) look like projected metres (e.g. UTM), not degrees",
                "declare the file's CRS (e.g. ship the .prj with a shapefile) or export it "
                "as WGS84 (EPSG:4326)",
            )
        elif not in_range[i]:
            out.error(
                int(i),
                "geometry",
                f"coordinates ({where}) are outside the WGS84 range (longitude -180…180, "
                "latitude -90…90)",
                "check the coordinate columns and their units (decimal degrees)",
            )
        elif not touches[i]:
            out.error(
                int(i),
                "geometry",
                f"the feature ({where}) lies outside the area of operations {aoi_text}",
                aoi_fix,
            )
        else:
            out.warning(
                int(i),
                "geometry",
                f"the feature ({where}) extends beyond the area of operations {aoi_text}",
                aoi_fix,
            )
            continue
        coord_bad[i] = True
    rejected |= coord_bad

    # --- polygons: repeated vertices, validity, orientation
    poly = checked & ~wrong & np.isin(type_ids, (3, 6)) & ~coord_bad
    if poly.any():
        _check_polygons(geoms, np.flatnonzero(poly), schema, out, rejected)
    return geoms, rejected


def _check_polygons(
    geoms: np.ndarray,
    positions: np.ndarray,
    schema: LayerSchema,
    out: Collector,
    rejected: np.ndarray,
) -> None:
    """Repeated vertices, validity and orientation of the polygonal features (in place)."""
    current = geoms[positions]
    cleaned = _remove_repeated(current)
    repeated = shapely.get_num_coordinates(cleaned) != shapely.get_num_coordinates(current)
    if repeated.any():
        where = positions[repeated]
        out.repair(
            None,
            "geometry",
            f"{len(where)} feature(s) had repeated consecutive vertices ({out.examples(where)})",
            "removed the repeated vertices (shape and area unchanged)",
        )
        current = cleaned

    valid = shapely.is_valid(current)
    remade = np.zeros(len(positions), dtype=bool)
    if not valid.all():
        bad = np.flatnonzero(~valid)
        before = current[bad]
        reasons = shapely.is_valid_reason(before)
        fixed = shapely.make_valid(before)
        polygonal = np.array([polygonal_parts(g) for g in fixed], dtype=object)
        dropped = ~np.isin(shapely.get_type_id(fixed), (3, 6))
        both = _areas(np.concatenate([before, polygonal]))  # one projection for both
        area_before, area_after = both[: len(bad)], both[len(bad) :]
        strict = schema.name == "cleared"
        for k, j in enumerate(bad):
            i = int(positions[j])
            words, location = _plain_reason(str(reasons[k]))
            field_name = _locate(before[k], str(reasons[k]))
            a0, a1 = float(area_before[k]), float(area_after[k])
            change = abs(a1 - a0) / a0 if a0 > 0 else (0.0 if a1 == 0 else np.inf)
            change_text = "an unbounded change" if not np.isfinite(change) else f"{change:.1%}"
            collapsed = shapely.is_empty(polygonal[k])
            if strict and (collapsed or change > AREA_TOLERANCE):
                result = (
                    "no polygon at all (it collapses to lines/points)"
                    if collapsed
                    else f"{a1:,.0f} m² from {a0:,.0f} m² ({change_text})"
                )
                out.error(
                    i,
                    field_name,
                    f"invalid polygon: {words}{location}. The automatic repair would leave "
                    f"{result}; refused for released land, because it could mark "
                    "unsurveyed ground as safe (limit 0.5 %)",
                    _GIS_FIX,
                )
                rejected[i] = True
                continue
            if collapsed:
                out.error(
                    i,
                    field_name,
                    f"invalid polygon: {words}{location}; it has no area (it collapses to "
                    "lines/points)",
                    _GIS_FIX,
                )
                rejected[i] = True
                continue
            extra = "; dropped the zero-area lines/points left over" if dropped[k] else ""
            out.repair(
                i,
                field_name,
                f"invalid polygon: {words}{location}",
                f"rebuilt as a valid polygon with shapely.make_valid{extra}",
                area_before_m2=a0,
                area_after_m2=a1,
            )
            if change > AREA_TOLERANCE:
                out.warning(
                    i,
                    field_name,
                    f"the geometry repair changed the area from {a0:,.0f} m² to {a1:,.0f} m² "
                    f"({change_text})",
                    "check the repaired polygon against the survey record",
                )
            current[j] = polygonal[k]
            remade[j] = True

    ok = ~rejected[positions]
    oriented = current.copy()
    oriented[ok] = shapely.orient_polygons(current[ok], exterior_cw=False)
    # make_valid output has no promised orientation: re-orient it silently (its own
    # repair record covers the change) and report only the input's orientation
    turned = ok & ~remade & ~shapely.equals_identical(current, oriented)
    if turned.any():
        where = positions[turned]
        out.repair(
            None,
            "geometry",
            f"{len(where)} polygon(s) had clockwise outer rings or counter-clockwise holes "
            f"({out.examples(where)})",
            "re-oriented to RFC 7946 (outer rings counter-clockwise, holes clockwise); "
            "shape and area unchanged",
        )
    geoms[positions[ok]] = oriented[ok]


def check_declared_area(
    declared: pd.Series,
    geoms: np.ndarray,
    usable: np.ndarray,
    out: Collector,
    *,
    field_name: str = "area_m2",
) -> np.ndarray:
    """Compare a declared area in m² with the geometry's equal-area (EPSG:3035) area.

    They may differ by the larger of 0.5 % of the area (``AREA_TOLERANCE``) and the
    perimeter × ``AREA_POSITION_TOLERANCE_M`` (coordinate rounding on small polygons).

    Parameters
    ----------
    declared
        Declared areas (float, NaN where not given), index 0..n-1.
    geoms
        Repaired geometries.
    usable
        Features whose geometry passed the checks (others are not compared).
    out
        Collector for the errors.
    field_name
        Name of the declared-area field.

    Returns
    -------
    numpy.ndarray
        Boolean mask of features whose declared area disagrees by more than the tolerance.
    """
    values = declared.to_numpy(dtype="float64", na_value=np.nan)
    mask = usable & ~np.isnan(values) & np.isin(shapely.get_type_id(geoms), (3, 6))
    bad = np.zeros(len(values), dtype=bool)
    if not mask.any():
        return bad
    metric = to_area_crs(gpd.GeoSeries(geoms[mask], crs=STORAGE_CRS))
    measured = metric.area.to_numpy()
    band_m2 = AREA_POSITION_TOLERANCE_M * metric.length.to_numpy()
    allowed = np.maximum(AREA_TOLERANCE * measured, band_m2)
    given = values[mask]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(given - measured) / np.where(measured > 0, measured, np.nan)
    off = ~(np.abs(given - measured) <= allowed) | ~np.isfinite(rel)
    positions = np.flatnonzero(mask)
    for k in np.flatnonzero(off):
        i = int(positions[k])
        pct = "" if not np.isfinite(rel[k]) else f", {rel[k]:.1%} apart"
        out.error(
            i,
            field_name,
            f"{field_name} says {given[k]:,.1f} m² but the polygon measures {measured[k]:,.1f} "
            f"m² (equal-area EPSG:3035{pct}; the tolerance is 0.5 % or "
            f"{allowed[k]:,.1f} m² for boundary rounding, whichever is larger)",
            f"correct {field_name} or the polygon, or leave {field_name} empty to use the "
            "polygon's area",
        )
        bad[i] = True
    return bad


def warn_overlaps(geoms: np.ndarray, usable: np.ndarray, out: Collector) -> int:
    """Warn about every pair of polygons whose interiors overlap (released land).

    Parameters
    ----------
    geoms
        Repaired geometries.
    usable
        Features to compare (valid polygons).
    out
        Collector for the warnings.

    Returns
    -------
    int
        Number of overlapping pairs.
    """
    positions = np.flatnonzero(usable & np.isin(shapely.get_type_id(geoms), (3, 6)))
    if len(positions) < 2:
        return 0
    subset = geoms[positions]
    tree = shapely.STRtree(subset)
    left, right = tree.query(subset, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return 0
    overlap = shapely.relate_pattern(subset[left], subset[right], "2********")
    left, right = left[overlap], right[overlap]
    if len(left) == 0:
        return 0
    shared = _areas(shapely.intersection(subset[left], subset[right]))
    for a, b, m2 in zip(left, right, shared, strict=True):
        i, j = int(positions[a]), int(positions[b])
        out.warning(
            i,
            "geometry",
            f"overlaps {out.feature(j)} by {m2:,.0f} m²; accepted — every released-area "
            "figure uses the union of the polygons, never the sum",
            "check whether the two records describe the same release",
        )
    return len(left)
