"""Small layer fixtures built in code, shaped like ``store.read_layer`` output.

Boxes are built in EPSG:3035 metres around a point in Mykolaiv oblast and converted to
EPSG:4326, so the expected areas are easy to reason about (a 1 km box is 100 ha).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from minemap.layers import get_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
ORIGIN_3035 = (6_000_000.0, 3_000_000.0)  # ≈ 32.8 E, 47.7 N (Mykolaiv oblast)
VICTIM_NAME = "Zzyzx Testvictim"
VICTIM_NAME_2 = "Qwxyz Plantedname"
VICTIM_AGE = 97
CASUALTY_LONLAT = (36.918273, 49.718293)


def box_km(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A box given in km from ORIGIN_3035 (EPSG:3035)."""
    ox, oy = ORIGIN_3035
    return shapely.box(ox + x0 * 1000, oy + y0 * 1000, ox + x1 * 1000, oy + y1 * 1000)


def to_4326(geoms: list) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs="EPSG:3035").to_crs("EPSG:4326")


def canonical(layer: str, rows: list[dict], geoms: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """A canonical frame: every schema field typed as the store returns it + batch_id."""
    schema = get_schema(layer)
    data = {}
    for f in schema.fields:
        values = [r.get(f.name) for r in rows]
        if f.kind == "date":
            data[f.name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
        elif f.kind == "int":
            data[f.name] = pd.array(values, dtype="Int64")
        elif f.kind == "float":
            data[f.name] = pd.array(
                [float("nan") if v is None else v for v in values], dtype="float64"
            )
        elif f.kind == "bool":
            data[f.name] = pd.array(values, dtype="boolean")
        else:
            data[f.name] = pd.array(values, dtype="string")
    data["batch_id"] = pd.array([f"b-{layer}"] * len(rows), dtype="string")
    return gpd.GeoDataFrame(data, geometry=geoms.reset_index(drop=True), crs="EPSG:4326")


def make_cleared() -> gpd.GeoDataFrame:
    rows = [
        dict(
            survey_id="C1",
            date="2024-01-10",
            team="t1",
            operator="Op A",
            status="cleared",
            method="manual",
            devices_found=3,
            munition_type="PFM-1",
        ),
        # overlaps C1 by half: union must count the overlap once
        dict(
            survey_id="C2",
            date="2024-02-15",
            team="t1",
            operator="Op A",
            status="cleared",
            method="mechanical",
            devices_found=5,
            munition_type="=cmd|' /C calc'!A0",
        ),
        dict(
            survey_id="R1",
            date="2024-02-20",
            team="t2",
            operator="Op B",
            status="reduced",
            method="technical survey",
            devices_found=0,
        ),
        # overlaps R1: that land counts as reduced (stronger), the rest as cancelled
        dict(
            survey_id="X1",
            date="2024-03-05",
            team="t3",
            operator="Op B",
            status="cancelled",
            method="non-technical survey",
            devices_found=0,
        ),
        # outside the period used in most tests
        dict(
            survey_id="OLD",
            date="2023-06-01",
            team="t1",
            operator="Op A",
            status="cleared",
            method="manual",
            devices_found=7,
            munition_type="VOG-17",
        ),
    ]
    geoms = to_4326(
        [
            box_km(0, 0, 1, 1),
            box_km(0.5, 0, 1.5, 1),
            box_km(3, 0, 4, 2),
            box_km(3.5, 1, 5, 2),
            box_km(8, 8, 9, 9),
        ]
    )
    return canonical("cleared", rows, geoms)


def make_hazards() -> gpd.GeoDataFrame:
    rows = [
        dict(
            hazard_id="H1",
            date="2023-01-01",
            hazard_type="SHA",
            contamination="AP",
            status="active",
        ),
        dict(
            hazard_id="H2",
            date="2023-02-01",
            hazard_type="CHA",
            contamination="CMR",
            status="active",
        ),
    ]
    return canonical("hazards", rows, to_4326([box_km(-1, -1, 2, 2), box_km(3, 0, 6, 3)]))


def make_farmland() -> gpd.GeoDataFrame:
    rows = [
        dict(parcel_id="P1", land_use="arable", crop="wheat", value_per_ha=20_000.0),
        dict(parcel_id="P2", land_use="pasture", value_per_ha=5_000.0),
    ]
    return canonical("farmland", rows, to_4326([box_km(0, 0, 1, 0.5), box_km(10, 10, 11, 11)]))


def casualty_rows() -> list[dict]:
    base = dict(
        civilian=True,
        oblast="Kharkivska",
        victim_name=VICTIM_NAME,
        victim_age=VICTIM_AGE,
        victim_sex="female",
        source='=HYPERLINK("x")',
    )
    rows = [
        # January: 6 killed, 3 injured (a small cell)
        dict(
            base,
            incident_id="K1",
            date="2024-01-17",
            killed=6,
            injured=3,
            activity="farming with a tractor",
            munition_type="TM-62",
        ),
        # February: 1 killed, 0 injured (small)
        dict(
            base,
            incident_id="K2",
            date="2024-02-09",
            killed=1,
            injured=0,
            activity="travel by car",
            munition_type="PFM-1 butterfly mine",
            victim_name=VICTIM_NAME_2,
        ),
        # March: 7 killed, 8 injured
        dict(
            base,
            incident_id="K3",
            date="2024-03-21",
            killed=7,
            injured=8,
            activity="harvest",
            munition_type="9N235 cluster",
            civilian=False,
        ),
        # outside the period
        dict(
            base,
            incident_id="K0",
            date="2023-05-02",
            killed=2,
            injured=2,
            activity="=1+1",
            munition_type="@SUM(A1)",
        ),
    ]
    return rows


def make_casualties() -> gpd.GeoDataFrame:
    rows = casualty_rows()
    geoms = gpd.GeoSeries([shapely.Point(*CASUALTY_LONLAT)] * len(rows), crs="EPSG:4326")
    return canonical("casualties", rows, geoms)


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "cleared": make_cleared(),
        "hazards": make_hazards(),
        "farmland": make_farmland(),
        "casualties": make_casualties(),
    }


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    return make_layers()


@pytest.fixture
def tasks() -> pd.DataFrame:
    return make_tasks()


def make_tasks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task_id": ["SECRET-TASK-7", "SECRET-TASK-3", "SECRET-TASK-9"],
            "area_m2": [250_000.0, 40_000.0, 1_000_000.0],
            "priority_rank": [2, 1, 3],
            "priority_score": [0.81, 0.93, 0.42],
        }
    )
