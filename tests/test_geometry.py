"""Areas agree with the geodesic area; CRS mismatches raise."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from minemap import CRSError
from minemap.geometry import area_m2, assert_same_crs, geodesic_area_m2, require_storage_crs


def _grid_over_ukraine() -> gpd.GeoSeries:
    # 1 km-ish squares and 10 km rectangles from the western to the eastern edge of Ukraine
    lons = np.linspace(22.2, 40.1, 12)
    lats = np.linspace(44.4, 52.3, 8)
    boxes = []
    for lon in lons:
        for lat in lats:
            boxes.append(shapely.box(lon, lat, lon + 0.013, lat + 0.009))
            boxes.append(shapely.box(lon, lat, lon + 0.14, lat + 0.05))
    return gpd.GeoSeries(boxes, crs="EPSG:4326")


def test_equal_area_agrees_with_geodesic_within_half_percent_across_ukraine() -> None:
    geoms = _grid_over_ukraine()
    planar = area_m2(geoms)
    geodesic = geodesic_area_m2(geoms)
    rel = (planar - geodesic).abs() / geodesic
    assert rel.max() < 0.005, rel.max()
    assert planar.name == "area_m2"
    assert planar.index.equals(geoms.index)


def test_area_of_known_square_in_utm() -> None:
    square = gpd.GeoSeries([shapely.box(500_000, 5_400_000, 501_000, 5_401_000)], crs="EPSG:32636")
    assert area_m2(square).iloc[0] == pytest.approx(1_000_000, rel=0.005)


def test_crs_mismatch_raises() -> None:
    a = gpd.GeoSeries([shapely.Point(30, 50)], crs="EPSG:4326")
    b = gpd.GeoSeries([shapely.Point(500_000, 5_500_000)], crs="EPSG:32636")
    with pytest.raises(CRSError, match="mismatch"):
        assert_same_crs(a, b, names=("hazards", "farmland"))
    with pytest.raises(CRSError, match="not EPSG:4326"):
        require_storage_crs(gpd.GeoDataFrame(geometry=b))
    with pytest.raises(CRSError, match="no CRS"):
        area_m2(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]))
