"""Export a layer to a file: GeoPackage, GeoJSON, GeoParquet or CSV (chosen by suffix)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap._errors import UnsupportedFormatError
from minemap.geometry import require_storage_crs

__all__ = ["EXPORT_SUFFIXES", "write_layer"]

EXPORT_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".parquet", ".csv")
"""File suffixes :func:`write_layer` understands."""


def write_layer(frame: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a layer to ``path``; the format follows the suffix.

    - ``.gpkg``: GeoPackage, one layer named after the file's stem;
    - ``.geojson``: GeoJSON (WGS84 lon/lat);
    - ``.parquet``: GeoParquet;
    - ``.csv``: UTF-8 CSV with every attribute, ``lon``/``lat`` columns filled for point
      features (unless the frame already has such columns) and the geometry as WKT in a
      ``geometry`` column.

    The file is written to a temporary name beside ``path`` and moved into place, so an
    existing file is replaced whole or not at all.

    Parameters
    ----------
    frame
        The layer, in EPSG:4326.
    path
        Destination file.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    UnsupportedFormatError
        The suffix is not one of :data:`EXPORT_SUFFIXES`.
    CRSError
        The frame is not in EPSG:4326.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise UnsupportedFormatError(
            f"cannot export to {target.name!r}: the suffix must be one of "
            f"{', '.join(EXPORT_SUFFIXES)}"
        )
    require_storage_crs(frame, what=f"the layer to export to {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".minemap-export-", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix in (".gpkg", ".geojson"):
            import pyogrio

            tmp.unlink()  # GDAL creates the file itself
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            layer = target.stem if suffix == ".gpkg" else None
            pyogrio.write_dataframe(frame, tmp, driver=driver, layer=layer)
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            _to_csv(frame).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _to_csv(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    geom_name = frame.geometry.name
    geoms = np.asarray(frame.geometry.array, dtype=object)
    out = pd.DataFrame(frame.drop(columns=geom_name))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype) or out[col].dtype.kind == "M":
            out[col] = out[col].map(lambda v: v.isoformat() if not pd.isna(v) else None)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    if "lon" not in out.columns and "lat" not in out.columns:
        xs = np.full(len(geoms), np.nan)
        ys = np.full(len(geoms), np.nan)
        if is_point.any():
            xs[is_point] = shapely.get_x(geoms[is_point])
            ys[is_point] = shapely.get_y(geoms[is_point])
        out["lon"] = xs
        out["lat"] = ys
    out["geometry"] = shapely.to_wkt(geoms, rounding_precision=-1)
    return out
