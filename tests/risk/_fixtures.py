"""Build canonical layer frames for the risk tests (in-code fixtures and real data).

The real files are not in the canonical schema: these helpers map their columns onto it and
fill the remaining fields with NA of the canonical dtype, as ``validate_layer`` would.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from minemap.layers import get_schema
from tests.conftest import real_data

_DTYPES = {
    "str": "object",
    "enum": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
}


def canonical(layer: str, geometry, **columns) -> gpd.GeoDataFrame:
    """A canonical frame of ``layer``: given columns typed, every other field NA."""
    geoms = list(geometry)
    n = len(geoms)
    data = {}
    for field in get_schema(layer).fields:
        dtype = _DTYPES[field.kind]
        if field.name in columns:
            values = columns[field.name]
            if values is None or isinstance(values, (str, int, float, bool, pd.Timestamp)):
                values = [values] * n
            data[field.name] = pd.Series(list(values), dtype=dtype)
        else:
            data[field.name] = pd.Series([None] * n, dtype=dtype)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
_TO_LL = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)


def metric_box(lon: float, lat: float, dx_m: float, dy_m: float, w_m: float, h_m: float):
    """A lon/lat polygon: a w×h metre rectangle offset (dx, dy) m from (lon, lat) in EPSG:3035,
    densified so its lon/lat edges follow the metric ones."""
    x, y = _TO_M.transform(lon, lat)
    box = shapely.segmentize(shapely.box(x + dx_m, y + dy_m, x + dx_m + w_m, y + dy_m + h_m), 50)
    return shapely.transform(box, lambda xy: np.column_stack(_TO_LL.transform(*xy.T)))


def metric_point(lon: float, lat: float, dx_m: float, dy_m: float):
    x, y = _TO_M.transform(lon, lat)
    return shapely.Point(*_TO_LL.transform(x + dx_m, y + dy_m))


# --- real data -------------------------------------------------------------------------------


def bih_hazards() -> gpd.GeoDataFrame:
    raw = gpd.read_file(real_data("bih_mine_action_east/suspect_areas.geojson"))
    return canonical(
        "hazards",
        raw.geometry,
        hazard_id=[f"BIH-S{i}" for i in range(len(raw))],
        date=pd.Timestamp("2024-06-01"),
        hazard_type="SHA",
        contamination="AP",
    )


def bih_released() -> gpd.GeoDataFrame:
    raw = gpd.read_file(real_data("bih_mine_action_east/cleared_areas.geojson"))
    return canonical(
        "cleared",
        raw.geometry,
        survey_id=[f"BIH-C{i}" for i in range(len(raw))],
        date=pd.Timestamp("2024-06-01"),
        team="unknown",
        operator="BHMAC",
        status="cleared",
        method="manual",
    )


def bih_casualties() -> gpd.GeoDataFrame:
    raw = gpd.read_file(real_data("bih_mine_action_east/incidents.geojson"))
    n = len(raw)
    # the source has no dates or victim counts: spread dates deterministically over 1996–2023
    dates = pd.Timestamp("1996-01-01") + pd.to_timedelta(np.arange(n) * 10, unit="D")
    return canonical(
        "casualties",
        raw.geometry,
        incident_id=[f"BIH-I{i}" for i in range(n)],
        date=dates,
        killed=[i % 2 for i in range(n)],
        injured=1,
        civilian=True,
        munition_type=["PMA-2 anti-personnel mine" if i % 3 else None for i in range(n)],
    )


def crater_hazards() -> gpd.GeoDataFrame:
    raw = gpd.read_file(real_data("ua_artillery_crater_fields_2014/crater_fields_2014.geojson"))
    return canonical(
        "hazards",
        raw.geometry,
        hazard_id=[f"CF{i}" for i in raw["source_id"]],
        date=raw["image_date"].fillna(pd.Timestamp("2014-08-01")).astype("datetime64[ns]"),
        hazard_type="SHA",
        contamination="UXO",
        evidence=raw["name"].astype(object),
    )


def bellingcat_cluster_strikes() -> gpd.GeoDataFrame:
    raw = gpd.read_file(real_data("ua_bellingcat_civharm_2022/bellingcat_civharm_2022.geojson"))
    raw = raw[raw["cluster_munitions"]].reset_index(drop=True)
    # the description names the munition in some events (e.g. "Smerch", "Uragan")
    return canonical(
        "strikes",
        raw.geometry,
        strike_id=raw["id"].astype(object),
        date=raw["date"].astype("datetime64[ns]"),
        munition_type=raw["description"].astype(object),
        cluster_munition=True,
        source="Bellingcat",
    )


def poltava_farmland() -> gpd.GeoDataFrame:
    raw = gpd.read_file(
        real_data("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson")
    )
    raw = raw[raw["is_agricultural"]].reset_index(drop=True)
    return canonical(
        "farmland",
        raw.geometry,
        parcel_id=raw["cadnum"].astype(object),
        land_use="arable",
        crop=None,
        value_per_ha=20000.0,
    )
