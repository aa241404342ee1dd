"""The core routine: validate one source frame against one canonical layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from minemap._report import Report
from minemap.layers import get_schema
from minemap.settings import DEFAULT_AOI, STORAGE_CRS, AreaOfOperations
from minemap.validate._columns import plan_columns
from minemap.validate._fields import (
    check_unique,
    convert_field,
    empty_column,
    to_text,
)
from minemap.validate._geometry import check_declared_area, check_geometries, warn_overlaps
from minemap.validate._messages import Collector, quote

__all__ = ["ValidationResult", "validate_layer"]


@dataclass
class ValidationResult:
    """What :func:`validate_layer` returns.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The canonical frame: every schema field as a typed column (``str``, ``Int64``,
        ``float64``, ``boolean``, ``datetime64[ns]`` dates, canonical enum strings),
        missing optional fields as all-NA columns, then the extra source columns under
        their original names, then ``geometry`` (repaired), in EPSG:4326, index 0..n-1.
        Values that failed a check are NA; the file must not be stored unless
        ``report.ok``.
    report : minemap._report.Report
        Every error, repair and warning, and the column mapping applied.
    """

    frame: gpd.GeoDataFrame
    report: Report

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import (``report.ok``)."""
        return self.report.ok


def _labels(labels: pd.Series | None, index: pd.Index) -> list[str]:
    n = len(index)
    if labels is None:
        return [f"feature {i}" for i in range(n)]
    series = pd.Series(labels)
    if series.index.equals(index) or len(series) == n:
        values = series.tolist()
    else:
        values = series.reindex(index).tolist()
    return [
        str(v) if v is not None and not (isinstance(v, float) and v != v) else f"feature {i}"
        for i, v in enumerate(values)
    ]


def _unique_columns(frame: pd.DataFrame, geometry_name: str, out: Collector) -> pd.DataFrame:
    """Attribute columns with unique string names (duplicates renamed, with an error)."""
    attrs = frame.drop(columns=[geometry_name])
    names = [str(c) for c in attrs.columns]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        if name in seen:
            seen[name] += 1
            unique.append(f"{name}_{seen[name]}")
            out.error(
                None,
                name,
                f"the file has more than one column named {quote(name)}",
                "give every column its own name",
            )
        else:
            seen[name] = 1
            unique.append(name)
    attrs.columns = unique
    return attrs


def validate_layer(
    frame: gpd.GeoDataFrame,
    layer: str,
    *,
    file: str = "<data>",
    labels: pd.Series | None = None,
    mapping: Mapping[str, str] | None = None,
    aoi: AreaOfOperations = DEFAULT_AOI,
) -> ValidationResult:
    """Check, type and repair a source frame as canonical layer ``layer``.

    Every problem is collected in one pass — nothing is raised for bad data. The file
    is acceptable iff ``result.report.ok``.

    Parameters
    ----------
    frame
        Source features as read (``minemap.io.read_upload(...).frame``): source column
        names, values as read (CSV values as text), lon/lat geometries (``None`` where
        missing). A frame in another CRS is reprojected to EPSG:4326 with a record; a
        frame without a CRS is taken to be lon/lat.
    layer
        One of ``minemap.layers.LAYER_NAMES``.
    file
        Display name of the file, used in the report.
    labels
        Per-feature labels aligned to ``frame.index`` (``"CSV line 14"``); default
        ``"feature {i}"`` by position.
    mapping
        User column mapping ``{source column: canonical field}`` (``--map SRC=DST``),
        applied before canonical names and schema aliases.
    aoi
        Area of operations; features outside it are rejected (default: Ukraine).

    Returns
    -------
    ValidationResult
        The canonical frame and the report.

    Raises
    ------
    ValueError
        Only for a programming error: an unknown ``layer`` name.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame(
    ...     {"id": ["F-1"], "land_use": ["Arable"]},
    ...     geometry=[shapely.box(33.90, 49.30, 33.91, 49.31)], crs="EPSG:4326")
    >>> result = validate_layer(gdf, "farmland", file="parcels.geojson")
    >>> result.report.ok, result.frame.loc[0, "land_use"], result.report.column_mapping
    (True, 'arable', {'land_use': 'land_use', 'id': 'parcel_id'})
    """
    schema = get_schema(layer)
    report = Report(file=file, layer=schema.name)
    n = len(frame)
    out = Collector(report, schema, _labels(labels, frame.index))

    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame:
        geometry = np.full(n, None, dtype=object)
        source = pd.DataFrame(frame).reset_index(drop=True)
        frame = gpd.GeoDataFrame(source, geometry=gpd.GeoSeries(geometry), crs=STORAGE_CRS)
    geometry_name = frame.geometry.name
    series = frame.geometry
    if series.crs is not None and not CRS.from_user_input(series.crs).equals(
        CRS.from_user_input(STORAGE_CRS)
    ):
        source_crs = series.crs.to_string()
        try:
            series = series.to_crs(STORAGE_CRS)
            out.repair(
                None,
                "geometry",
                f"the data are in {source_crs}",
                "reprojected to WGS84 (EPSG:4326)",
            )
        except Exception as exc:  # any projection failure is a data problem
            out.error(
                None,
                "geometry",
                f"the data cannot be reprojected from {source_crs} to WGS84: {exc}",
                "export the file as WGS84 (EPSG:4326)",
            )
    geoms = np.asarray(series.array, dtype=object)

    attrs = _unique_columns(pd.DataFrame(frame), geometry_name, out).reset_index(drop=True)
    if n == 0:
        out.error(None, "file", "the file contains no features", "upload a file with data")

    plan = plan_columns(list(attrs.columns), schema, mapping, out)
    report.column_mapping = dict(plan.mapping)
    source_of = plan.source_of

    missing_required = [f.name for f in schema.fields if f.required and f.name not in source_of]
    for name in missing_required:
        out.error(
            None,
            name,
            f"required column {name} is missing (columns in the file: "
            f"{', '.join(attrs.columns) or 'none'})",
            f"add a {name} column, or map a source column to it with --map SRC={name}",
        )

    id_field = schema.id_field
    if id_field in source_of:
        ids = to_text(attrs[source_of[id_field]])
        out.ids = ids.tolist()

    columns: dict[str, pd.Series] = {}
    for f in schema.fields:
        if f.name in source_of:
            values, _ = convert_field(
                attrs[source_of[f.name]].reset_index(drop=True), f, out, is_id=f.name == id_field
            )
        else:
            values = empty_column(f, n)
        columns[f.name] = values.reset_index(drop=True)

    repaired, geom_rejected = check_geometries(geoms, schema, aoi, out)

    usable = ~geom_rejected
    if "area_m2" in columns and schema.is_polygonal:
        check_declared_area(columns["area_m2"], repaired, usable, out)
    if schema.name == "cleared":
        warn_overlaps(repaired, usable, out)

    for f in schema.fields:
        if f.unique and f.name in source_of:

            def content(i: int) -> dict[str, object]:
                row = {name: columns[name].iloc[i] for name in schema.field_names}
                row["geometry"] = shapely.to_wkb(repaired[i])
                return row

            check_unique(columns[f.name], f, content, out)

    data = pd.DataFrame(columns)
    for src, name in plan.extras.items():
        data[name] = attrs[src].to_numpy()
    result = gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries(repaired, crs=STORAGE_CRS), crs=STORAGE_CRS
    )
    result.index = pd.RangeIndex(n)
    return ValidationResult(frame=result, report=report)
