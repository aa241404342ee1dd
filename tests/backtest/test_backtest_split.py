"""As-of split (no look-ahead) and spatial blocks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from minemap.backtest.split import admin_blocks, block_folds, grid_blocks, split_as_of


def casualties(dates):
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"c{i}" for i in range(len(dates))],
            "date": pd.to_datetime(pd.Series(dates)),
            "killed": 1,
        },
        geometry=[Point(30 + i * 0.01, 48) for i in range(len(dates))],
        crs="EPSG:4326",
    )


def test_history_is_strictly_before_as_of_and_outcomes_until_exclusive():
    layers = {
        "casualties": casualties(
            ["2023-12-31", "2024-01-01", "2024-06-30", "2024-07-01", None, "2025-01-01"]
        ),
        "farmland": gpd.GeoDataFrame(
            {"parcel_id": ["p"]}, geometry=[box(30, 48, 31, 49)], crs="EPSG:4326"
        ),
    }
    split = split_as_of(layers, "2024-01-01", until="2024-07-01")
    assert split.history["casualties"]["incident_id"].tolist() == ["c0"]
    assert split.outcomes["casualties"]["incident_id"].tolist() == ["c1", "c2"]
    assert split.undated == {"casualties": 1}
    assert split.after_until == {"casualties": 2}
    assert len(split.history["farmland"]) == 1  # timeless context stays in history
    assert "farmland" not in split.outcomes
    assert split.summary()["outcomes"] == {"casualties": 2}


def test_open_ended_until_and_bad_dates():
    layers = {"casualties": casualties(["2020-01-01", "2030-01-01"])}
    split = split_as_of(layers, "2021-01-01")
    assert split.outcomes["casualties"]["incident_id"].tolist() == ["c1"]
    with pytest.raises(ValueError, match=r"until .* must be after as_of"):
        split_as_of(layers, "2021-01-01", until="2021-01-01")
    with pytest.raises(ValueError, match="as_of 'yesterday' is not a date"):
        split_as_of(layers, "yesterday")
    with pytest.raises(ValueError, match="layer hazards: no 'date' column"):
        split_as_of({"hazards": layers["casualties"].drop(columns="date")}, "2021-01-01")


def test_grid_blocks_are_squares_of_the_given_size():
    # points 0.5 km apart along a parallel at 48° N; 2 km blocks hold 4 points each
    lon_step = 500 / (111_320 * np.cos(np.radians(48)))
    pts = gpd.GeoSeries([Point(30 + (i + 0.5) * lon_step, 48) for i in range(12)], crs="EPSG:4326")
    blocks = grid_blocks(pts, block_size_m=2000)
    assert blocks.value_counts().sort_index().tolist() == [4, 4, 4]
    assert blocks.name == "block"
    with pytest.raises(ValueError, match="block_size_m must be positive"):
        grid_blocks(pts, block_size_m=0)


def test_admin_blocks_and_folds_keep_blocks_whole():
    admin = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    pts = gpd.GeoSeries([Point(0.5, 0.5), Point(1.5, 0.5), Point(5, 5)], crs="EPSG:4326")
    assert admin_blocks(pts, admin, id_field="name").tolist() == ["west", "east", pd.NA]

    rng = np.random.default_rng(0)
    labels = pd.Series(rng.choice([f"b{i}" for i in range(10)], 500))
    folds = block_folds(labels, n_folds=3, seed=4)
    assert folds.groupby(labels).nunique().max() == 1  # no block split across folds
    assert sorted(folds.unique()) == [0, 1, 2]
    assert folds.value_counts().min() > 500 / 3 * 0.6  # roughly balanced
    assert block_folds(labels, n_folds=3, seed=4).equals(folds)  # reproducible
    with pytest.raises(ValueError, match="3 folds asked for but only 2 blocks"):
        block_folds(pd.Series(["a", "b"]), n_folds=3)
