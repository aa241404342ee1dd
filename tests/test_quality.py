"""minemap.quality: overlaps between released polygons (pure, no store)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from minemap._errors import CRSError
from minemap.geometry import geodesic_area_m2
from minemap.quality import OVERLAP_COLUMNS, released_overlaps


def frame(rows: dict[str, object], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"survey_id": list(rows)}, geometry=list(rows.values()), crs=crs)


def geodesic(geom) -> float:
    return float(geodesic_area_m2(gpd.GeoSeries([geom], crs="EPSG:4326")).iloc[0])


def test_overlapping_pairs_with_their_area_largest_first():
    released = frame(
        {
            "A": box(36.50, 49.90, 36.52, 49.92),
            "B": box(36.51, 49.90, 36.53, 49.92),  # east half of A
            "C": box(36.515, 49.91, 36.60, 49.95),  # a corner of A and of B
            "D": box(37.00, 50.00, 37.01, 50.01),  # alone
        }
    )
    out = released_overlaps(released)
    assert list(out.columns) == list(OVERLAP_COLUMNS)
    assert list(zip(out["a"], out["b"], strict=True)) == [("A", "B"), ("B", "C"), ("A", "C")]
    expected = [
        geodesic(box(36.51, 49.90, 36.52, 49.92)),
        geodesic(box(36.515, 49.91, 36.53, 49.92)),
        geodesic(box(36.515, 49.91, 36.52, 49.92)),
    ]
    assert out["overlap_m2"].tolist() == pytest.approx(expected, rel=0.005)
    assert list(out.index) == [0, 1, 2]


def test_touching_polygons_and_slivers_are_not_overlaps():
    released = frame(
        {
            "A": box(36.50, 49.90, 36.52, 49.92),
            "B": box(36.52, 49.90, 36.54, 49.92),  # shares A's east edge
            # over B by 1e-7° (≈ 7 mm) along 11 m: a digitising sliver of ≈ 0.08 m²
            "C": box(36.5399999, 49.90, 36.56, 49.9001),
        }
    )
    assert released_overlaps(released).empty
    assert released_overlaps(released, min_area_m2=0.0)[["a", "b"]].values.tolist() == [["B", "C"]]


def test_missing_geometry_and_small_frames_give_an_empty_table():
    assert released_overlaps(frame({"A": box(0, 0, 1, 1)})).empty
    released = frame({"A": box(36.5, 49.9, 36.52, 49.92), "B": None})
    out = released_overlaps(released)
    assert out.empty
    assert list(out.columns) == list(OVERLAP_COLUMNS)


def test_wrong_crs_and_missing_id_column_are_refused():
    projected = frame({"A": box(0, 0, 10, 10), "B": box(5, 5, 15, 15)}, crs="EPSG:3035")
    with pytest.raises(CRSError, match="EPSG:4326"):
        released_overlaps(projected)
    with pytest.raises(KeyError, match="task_id"):
        released_overlaps(frame({"A": Point(0, 0)}), id_field="task_id")
