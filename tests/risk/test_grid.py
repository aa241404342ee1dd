from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from minemap.geometry import area_m2
from minemap.risk.grid import h3_summary
from tests.conftest import real_data
from tests.risk._taskframe import task_frame


def test_cells_sum_to_the_totals_and_contain_their_tasks():
    rng = np.random.default_rng(3)
    rows = [
        {
            "lon": float(rng.uniform(35.0, 35.6)),
            "lat": float(rng.uniform(49.0, 49.4)),
            "area_m2": float(rng.uniform(1e3, 5e4)),
            "farmland_area_m2": float(rng.choice([0.0, 800.0])),
            "killed": int(rng.integers(0, 3)),
            "priority_score": float(rng.uniform(0, 100)),
        }
        for _ in range(60)
    ]
    t = task_frame(rows)
    t["priority_rank"] = t["priority_score"].rank(ascending=False).astype(int)
    grid = h3_summary(t, resolution=6)
    assert grid.crs == "EPSG:4326"
    assert grid["n_tasks"].sum() == 60
    assert grid["hazard_area_m2"].sum() == pytest.approx(t["area_m2"].sum())
    assert grid["farmland_blocked_m2"].sum() == pytest.approx(t["farmland_area_m2"].sum())
    assert grid["killed"].sum() == t["killed"].sum()
    assert grid["top_score"].max() == pytest.approx(t["priority_score"].max())
    assert grid["best_rank"].min() == 1
    assert grid["h3_cell"].is_unique
    assert grid["h3_cell"].is_monotonic_increasing
    assert all(h3.get_resolution(c) == 6 for c in grid["h3_cell"])
    # every task's centre (square: centroid = representative point) lies in its cell hexagon
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=shapely.centroid(t.geometry.array), crs=4326),
        grid,
        predicate="within",
    )
    assert len(joined) == 60
    per_cell = joined.groupby("h3_cell").size()
    assert per_cell.to_dict() == grid.set_index("h3_cell")["n_tasks"].to_dict()


def test_points_only_cells_are_kept():
    t = task_frame([{"lon": 35.0, "lat": 49.0}])
    pts = gpd.GeoSeries([shapely.Point(35.0, 49.0), shapely.Point(30.0, 50.0)] * 2, crs=4326)
    grid = h3_summary(t, resolution=5, points=pts)
    assert len(grid) == 2
    assert grid["n_points"].tolist() == [2, 2]
    assert sorted(grid["n_tasks"].tolist()) == [0, 1]
    with pytest.raises(ValueError, match="resolution"):
        h3_summary(t, resolution=16)


@pytest.mark.realdata
def test_poltava_parcels_area_is_kept_on_the_grid():
    parcels = gpd.read_file(
        real_data("ua_farmland_cadastre_poltava/cadastral_parcels_kozelshchyna_a.geojson")
    )
    tasks = gpd.GeoDataFrame(
        {"task_id": parcels["cadnum"], "area_m2": area_m2(parcels)},
        geometry=parcels.geometry,
        crs="EPSG:4326",
    )
    grid = h3_summary(tasks, resolution=7)
    assert grid["n_tasks"].sum() == len(parcels)
    # the source's registered areas (independent of our area code) agree within 1 %
    assert grid["hazard_area_m2"].sum() == pytest.approx(parcels["area_ha"].sum() * 1e4, rel=0.01)
    assert len(grid) > 3
