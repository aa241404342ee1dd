"""Small canonical frames built in code, one per layer (test fixtures for the store).

Values follow each layer's schema declaration (``Field.kind``, ``choices``), so the
frames change with the schemas; nullable fields get missing values on some rows.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.layers import get_schema

__all__ = ["make_frame"]


def _geometries(types: tuple[str, ...], n: int, rng: np.random.Generator) -> list:
    lon = rng.uniform(23.0, 39.0, n)
    lat = rng.uniform(45.0, 51.5, n)
    out = []
    for i in range(n):
        kind = types[i % len(types)]
        x, y = float(lon[i]), float(lat[i])
        if kind == "Point":
            out.append(shapely.Point(x, y))
        elif kind == "Polygon":
            # a rectangle with a hole, to exercise interior rings
            shell = shapely.box(x, y, x + 0.01, y + 0.008)
            hole = shapely.box(x + 0.003, y + 0.002, x + 0.006, y + 0.004)
            out.append(shapely.Polygon(shell.exterior.coords, [hole.exterior.coords]))
        else:
            out.append(
                shapely.MultiPolygon(
                    [
                        shapely.box(x, y, x + 0.005, y + 0.005),
                        shapely.box(x + 0.01, y, x + 0.02, y + 0.004),
                    ]
                )
            )
    return out


def make_frame(
    layer: str,
    n: int = 12,
    *,
    seed: int = 0,
    start: int = 0,
    extras: bool = True,
    geometries: list | None = None,
) -> gpd.GeoDataFrame:
    """A valid canonical frame for ``layer`` with ``n`` features.

    Ids are ``<LAYER>-<start + i>``; every optional field is missing on every third
    row; extras (when asked) are an integer, a float, a text and a date column.
    """
    schema = get_schema(layer)
    rng = np.random.default_rng(seed)
    optional_missing = (np.arange(n) % 3) == 1
    data: dict[str, object] = {}
    for fld in schema.fields:
        if fld.name == schema.id_field:
            values = [f"{layer[:3].upper()}-{start + i:07d}" for i in range(n)]
            data[fld.name] = pd.Series(values, dtype="str")
            continue
        if fld.kind in ("str", "enum"):
            if fld.kind == "enum":
                raw = [fld.choices[i % len(fld.choices)] for i in range(n)]
            else:
                raw = [f"{fld.name} «{i}» ї" for i in range(n)]
            series = pd.Series(raw, dtype="str")
        elif fld.kind == "int":
            low = int(fld.min_value or 0)
            high = int(min(fld.max_value or 1000, 1000))
            if high < low:  # e.g. a year: a range above 1000
                high = int(min(fld.max_value or low + 100, low + 100))
            series = pd.Series(rng.integers(low, high + 1, n), dtype="Int64")
        elif fld.kind == "float":
            series = pd.Series(rng.uniform(0, 5000, n), dtype="float64")
        elif fld.kind == "bool":
            series = pd.Series(rng.integers(0, 2, n).astype(bool), dtype="boolean")
        else:  # date
            days = rng.integers(0, 3000, n)
            series = pd.Series(pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).astype(
                "datetime64[ns]"
            )
        if not fld.required:
            series = series.mask(optional_missing)
        data[fld.name] = series
    frame = pd.DataFrame(data)
    if extras:
        frame["source_row"] = pd.Series(np.arange(n) + start, dtype="int64")
        frame["quality"] = pd.Series(rng.uniform(0, 1, n), dtype="float64").mask(optional_missing)
        frame["remarks"] = pd.Series([f"note {i}" for i in range(n)], dtype="str").mask(
            optional_missing
        )
        frame["checked_on"] = pd.Series(
            pd.Timestamp("2024-05-01") + pd.to_timedelta(np.arange(n), unit="D")
        ).astype("datetime64[ns]")
    geoms = geometries if geometries is not None else _geometries(schema.geometry_types, n, rng)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
