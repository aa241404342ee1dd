"""Backend-neutral conversion between canonical frames and stored column values.

Writing: :func:`prepare_rows` checks a canonical frame against its layer schema
(collecting every problem, then raising once) and turns each column into a list of
plain Python values (``None`` for missing) ready for any DB-API driver, with unknown
extra columns packed into one JSON object per row.

Reading: :func:`canonical_frame` rebuilds the canonical frame from such columns
with the dtypes of ``ValidationResult.frame`` (str → ``str``, int → ``Int64``,
float → ``float64``, bool → ``boolean``, date → ``datetime64[ns]``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap._errors import CRSError, StoreError
from minemap.geometry import require_storage_crs
from minemap.layers import LayerSchema
from minemap.settings import STORAGE_CRS

__all__ = ["RESERVED_COLUMNS", "PreparedRows", "canonical_frame", "prepare_rows"]

RESERVED_COLUMNS = ("batch_id",)
"""Column names a stored frame may not carry as extras (the store adds them)."""

_MAX_LISTED = 5


@dataclass(slots=True)
class PreparedRows:
    """A frame turned into plain column values, ready to insert."""

    columns: dict[str, list[Any]]
    """Schema field → values (str, int, float, 0/1 or 'YYYY-MM-DD'; None when missing)."""
    geometries: np.ndarray
    """Object array of shapely geometries (polygons promoted to MultiPolygon)."""
    extra_json: list[str | None]
    """One JSON object per row with its non-missing extra values, or None."""
    extra_columns: tuple[tuple[str, str], ...]
    """Extra column names and pandas dtypes, in frame order."""

    def __len__(self) -> int:
        return len(self.geometries)


def _labels(frame: pd.DataFrame, schema: LayerSchema, mask: np.ndarray) -> str:
    """Name the first few rows where ``mask`` is True (by position and id)."""
    positions = np.flatnonzero(mask)
    ids = frame[schema.id_field] if schema.id_field in frame.columns else None
    names = []
    for pos in positions[:_MAX_LISTED]:
        label = f"row {pos}"
        if ids is not None and not pd.isna(ids.iloc[pos]):
            label += f" ({schema.id_field} {ids.iloc[pos]})"
        names.append(label)
    more = len(positions) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _to_object_list(values: pd.Series | pd.api.extensions.ExtensionArray) -> list[Any]:
    return list(pd.Series(values).to_numpy(dtype=object, na_value=None))


def _convert(series: pd.Series, kind: str) -> tuple[list[Any] | None, str | None]:
    """Column values for one field kind, or ``(None, problem)``."""
    if kind in ("str", "enum"):
        if series.isna().all():
            return [None] * len(series), None
        return _to_object_list(series.astype("str")), None
    if kind == "int":
        if pd.api.types.is_bool_dtype(series.dtype):
            return None, "holds true/false values, not whole numbers"
        try:
            return _to_object_list(series.astype("Int64")), None
        except (TypeError, ValueError):
            return None, "holds values that are not whole numbers"
    if kind == "float":
        if pd.api.types.is_bool_dtype(series.dtype):
            return None, "holds true/false values, not numbers"
        try:
            values = series.astype("float64").to_numpy()
        except (TypeError, ValueError):
            return None, "holds values that are not numbers"
        return [None if math.isnan(v) else float(v) for v in values], None
    if kind == "bool":
        if not (pd.api.types.is_bool_dtype(series.dtype) or series.isna().all()):
            try:
                series = series.astype("boolean")
            except (TypeError, ValueError):
                return None, "holds values that are not true/false"
            if not series.dropna().isin([True, False]).all():
                return None, "holds values that are not true/false"
        values = series.astype("boolean")
        return [None if v is None else int(v) for v in _to_object_list(values)], None
    if kind == "date":
        if not pd.api.types.is_datetime64_dtype(series.dtype):
            if isinstance(series.dtype, pd.DatetimeTZDtype):
                return None, "holds timezone-aware timestamps, expected dates"
            try:
                series = pd.to_datetime(series.astype(object), format="%Y-%m-%d")
            except (TypeError, ValueError):
                return None, "holds values that are not dates (YYYY-MM-DD)"
        if (series.notna() & (series.dt.normalize() != series)).any():
            return None, "holds timestamps with a time of day; only the date is stored"
        return _to_object_list(series.dt.strftime("%Y-%m-%d")), None
    raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover


def _json_default(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} values cannot be stored")


def _extras_json(
    frame: pd.DataFrame, extras: list[str]
) -> tuple[list[str | None] | None, str | None]:
    if not extras:
        return [None] * len(frame), None
    columns = [_to_object_list(frame[name]) for name in extras]
    out: list[str | None] = []
    dumps = json.JSONEncoder(
        ensure_ascii=False, allow_nan=False, default=_json_default, separators=(",", ":")
    ).encode
    try:
        for values in zip(*columns, strict=True):
            row = {k: v for k, v in zip(extras, values, strict=True) if v is not None}
            out.append(dumps(row) if row else None)
    except (TypeError, ValueError) as exc:
        return None, f"extra columns hold a value that cannot be stored as JSON: {exc}"
    return out, None


def _store_geometries(geoms: np.ndarray, schema: LayerSchema) -> np.ndarray:
    """Promote Polygons to MultiPolygons on layers whose features may be polygons.

    GeoPackage readers (QGIS, GDAL) want one geometry type per column; a
    single-part MultiPolygon is topologically equal to its Polygon.
    """
    if not schema.is_polygonal:
        return geoms
    out = geoms.copy()
    is_poly = shapely.get_type_id(out) == shapely.GeometryType.POLYGON
    if is_poly.any():
        out[is_poly] = shapely.multipolygons(out[is_poly][:, np.newaxis].tolist())
    return out


def prepare_rows(frame: gpd.GeoDataFrame, schema: LayerSchema, *, file: str) -> PreparedRows:
    """Check a canonical frame and turn it into insertable column values.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Canonical frame for ``schema`` in EPSG:4326. Missing optional fields are
        stored as NULL; every other non-geometry column is kept as an extra.
    schema : LayerSchema
        The layer's schema.
    file : str
        The file name, for messages.

    Returns
    -------
    PreparedRows

    Raises
    ------
    StoreError
        Listing every problem found (missing required columns, wrong CRS, wrong
        geometry types, 3-D coordinates, values that do not fit a field's kind,
        reserved column names); nothing is stored.
    """
    where = f"cannot store {file!r} in layer {schema.name}"
    try:
        if not isinstance(frame, gpd.GeoDataFrame):
            raise AttributeError
        geom_name = frame.geometry.name
    except AttributeError:
        raise StoreError(f"{where}: not a GeoDataFrame with a geometry column") from None
    problems: list[str] = []
    try:
        require_storage_crs(frame, what=f"{file!r}")
    except CRSError as exc:
        problems.append(str(exc))
    if not frame.columns.is_unique:
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        problems.append(f"duplicate column names: {', '.join(map(str, dupes))}")
        raise StoreError(f"{where}: " + "; ".join(problems))
    missing = [n for n in schema.required_fields if n not in frame.columns]
    if missing:
        problems.append(f"required columns missing: {', '.join(missing)}")
    reserved = [n for n in RESERVED_COLUMNS if n in frame.columns]
    if reserved:
        problems.append(
            f"column(s) {', '.join(reserved)} are reserved by the store; rename them in the source"
        )
    non_text = [c for c in frame.columns if not isinstance(c, str)]
    if non_text:
        problems.append(f"column names must be text: {non_text[:_MAX_LISTED]}")

    geoms = np.asarray(frame.geometry.array, dtype=object)
    types = shapely.get_type_id(geoms)
    allowed = {getattr(shapely.GeometryType, t.upper()) for t in schema.geometry_types}
    wrong = ~np.isin(types, [int(a) for a in allowed]) & (types != -1)
    if wrong.any():
        problems.append(
            f"geometry types other than {', '.join(schema.geometry_types)} at "
            + _labels(frame, schema, wrong)
        )
    has_z = shapely.has_z(geoms)
    if has_z.any():
        problems.append("3-D coordinates (drop Z first) at " + _labels(frame, schema, has_z))

    columns: dict[str, list[Any]] = {}
    for fld in schema.fields:
        if fld.name not in frame.columns:
            columns[fld.name] = [None] * len(frame)
            continue
        values, problem = _convert(frame[fld.name], fld.kind)
        if problem:
            problems.append(f"field {fld.name} ({fld.kind}) {problem}")
        else:
            columns[fld.name] = values

    extras = [c for c in frame.columns if c not in schema.field_names and c != geom_name]
    extras = [c for c in extras if isinstance(c, str) and c not in RESERVED_COLUMNS]
    extra_json, problem = _extras_json(frame, extras)
    if problem:
        problems.append(problem)
    if problems:
        raise StoreError(f"{where}; nothing was stored:\n- " + "\n- ".join(problems))
    extra_columns = tuple((name, str(frame[name].dtype)) for name in extras)
    return PreparedRows(
        columns=columns,
        geometries=_store_geometries(geoms, schema),
        extra_json=extra_json or [],
        extra_columns=extra_columns,
    )


def _field_series(values: Sequence[Any], kind: str) -> pd.Series | pd.api.extensions.ExtensionArray:
    if kind in ("str", "enum"):
        return pd.Series(values, dtype="str")
    if kind == "int":
        return pd.array(values, dtype="Int64")
    if kind == "float":
        return pd.Series(values, dtype="float64")
    if kind == "bool":
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if kind == "date":
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="%Y-%m-%d")
        return parsed.astype("datetime64[ns]")
    raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover


_NULLABLE = {"int64": "Int64", "bool": "boolean", "int32": "Int64", "float32": "float64"}


def _decode_extras(
    extra_json: Sequence[str | None], extra_columns: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    n = len(extra_json)
    present = [i for i, text in enumerate(extra_json) if text is not None]
    order: dict[str, str | None] = {}
    for name, dtype in extra_columns:
        if name not in order:
            order[name] = dtype
        elif order[name] != dtype:
            order[name] = None  # batches disagree: keep values as decoded
    if not present and not order:
        return pd.DataFrame(index=pd.RangeIndex(n))
    records = [json.loads(extra_json[i]) for i in present]
    decoded = pd.DataFrame.from_records(records, index=present) if records else pd.DataFrame()
    for record_keys in (decoded.columns,):
        for name in record_keys:
            order.setdefault(name, None)
    out = {}
    for name, dtype in order.items():
        values = (
            decoded[name].reindex(range(n))
            if name in decoded
            else pd.Series([None] * n, dtype=object)
        )
        out[name] = _restore_dtype(values.reset_index(drop=True), dtype)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _restore_dtype(values: pd.Series, dtype: str | None) -> pd.Series:
    """Cast decoded JSON values back to the dtype recorded at import, when possible."""
    if dtype is None:
        return values
    try:
        if dtype.startswith("datetime64"):
            parsed = pd.to_datetime(values.astype(object), format="ISO8601")
            return parsed.astype(dtype) if parsed.dt.tz is None else parsed
        target = _NULLABLE.get(dtype, dtype) if values.isna().any() else dtype
        if dtype == "object":
            return values.astype(object).where(values.notna(), None)
        return values.astype(target)
    except (TypeError, ValueError):
        return values


def canonical_frame(
    schema: LayerSchema,
    *,
    fields: Sequence[str],
    columns: dict[str, Sequence[Any]],
    batch_ids: Sequence[str],
    extra_json: Sequence[str | None],
    extra_columns: Sequence[tuple[str, str]],
    geometries: np.ndarray,
) -> gpd.GeoDataFrame:
    """Build the canonical frame of ``schema`` from stored column values.

    Columns: ``fields`` (typed by kind), then the extras (in the order recorded
    by the batches), then ``batch_id``, then ``geometry`` (EPSG:4326). Index 0..n-1.
    """
    n = len(batch_ids)
    data: dict[str, Any] = {}
    for name in fields:
        data[name] = _field_series(columns[name], schema.field(name).kind)
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    extras = _decode_extras(extra_json, extra_columns)
    frame = pd.concat([frame, extras], axis=1) if len(extras.columns) else frame
    frame["batch_id"] = pd.Series(batch_ids, dtype="str", index=frame.index)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometries, index=frame.index, crs=STORAGE_CRS)
    )
