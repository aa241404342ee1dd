"""Geometry checks and repairs: one test per problem class."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity

from minemap.geometry import geodesic_area_m2
from minemap.settings import AreaOfOperations
from minemap.validate import validate_layer
from tests.validate._fixtures import LAT, LON, casualties, cleared, frame, hazards, square


def _with_geometry(gdf: gpd.GeoDataFrame, i: int, geom) -> gpd.GeoDataFrame:
    geoms = list(gdf.geometry)
    geoms[i] = geom
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs="EPSG:4326"))


BOWTIE = shapely.Polygon(
    [(LON, LAT), (LON + 0.002, LAT + 0.002), (LON + 0.002, LAT), (LON, LAT + 0.002)]
)
HOLE_OUTSIDE = shapely.Polygon(
    square(0).exterior.coords,
    [
        [
            (LON + 0.004, LAT),
            (LON + 0.004, LAT + 0.001),
            (LON + 0.005, LAT + 0.001),
            (LON + 0.005, LAT),
        ]
    ],
)
FLAT = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.002, LAT), (LON, LAT)])


# (layer, feature geometry, words expected in the error, field)
GEOMETRY_ERRORS = [
    ("hazards", None, "missing", "geometry"),
    ("hazards", shapely.Polygon(), "empty", "geometry"),
    ("hazards", shapely.Point(LON, LAT), "is a Point; the hazards layer takes Polygon", "geometry"),
    ("casualties", square(0), "is a Polygon; the casualties layer takes Point", "geometry"),
    (
        "hazards",
        shapely.GeometryCollection([square(1), shapely.Point(LON, LAT)]),
        "GeometryCollection (1 Point, 1 Polygon)",
        "geometry",
    ),
    ("casualties", shapely.Point(200.0, 50.0), "outside the WGS84 range", "geometry"),
    ("casualties", shapely.Point(0.0, 0.0), "(0, 0)", "geometry"),
    ("casualties", shapely.Point(5e-7, -3e-7), "(0, 0)", "geometry"),
    ("hazards", shapely.box(0, 0, 0.001, 0.001), "(0, 0)", "geometry"),
    ("casualties", shapely.Point(13.4, 52.5), "outside the area of operations Ukraine", "geometry"),
    ("casualties", shapely.Point(LAT, LON), "look swapped", "geometry"),
    ("hazards", shapely.box(LAT, LON, LAT + 0.01, LON + 0.01), "look swapped", "geometry"),
    ("casualties", shapely.Point(512_345.0, 5_590_000.0), "projected metres", "geometry"),
    ("casualties", shapely.Point(np.nan, LAT), "not numbers", "geometry"),
]


@pytest.mark.parametrize(("layer", "geom", "words", "field"), GEOMETRY_ERRORS)
def test_geometry_problem_is_rejected_naming_file_feature_and_fix(layer, geom, words, field):
    builders = {"hazards": hazards, "casualties": casualties}
    gdf = _with_geometry(builders[layer](), 1, geom)
    result = validate_layer(gdf, layer, file="upload.geojson")
    assert not result.report.ok
    assert result.report.file == "upload.geojson"
    assert len(result.report.errors) == 1, result.report.errors
    error = result.report.errors[0]
    assert words in error.problem
    assert error.field == field
    id_field = "hazard_id" if layer == "hazards" else "incident_id"
    expected_id = gdf[id_field].iloc[1]
    assert error.feature == f"feature 1 ({id_field} {expected_id})"
    assert error.fix


def test_outside_aoi_says_how_to_pass_aoi_and_custom_aoi_accepts():
    gdf = _with_geometry(casualties(), 0, shapely.Point(18.4, 43.85))  # Sarajevo
    rejected = validate_layer(gdf, "casualties")
    assert "--aoi minlon,minlat,maxlon,maxlat" in rejected.report.errors[0].fix
    wide = AreaOfOperations(15.0, 40.0, 41.0, 53.0, name="Balkans+Ukraine")
    assert validate_layer(gdf, "casualties", aoi=wide).report.ok


def test_partly_outside_aoi_is_a_warning():
    gdf = _with_geometry(hazards(), 0, shapely.box(21.99, 48.0, 22.01, 48.01))
    result = validate_layer(gdf, "hazards")
    assert result.report.ok
    assert "extends beyond the area of operations" in result.report.warnings[0].problem


def test_swapped_coordinates_are_never_swapped_silently():
    gdf = _with_geometry(casualties(), 2, shapely.Point(LAT, LON))
    result = validate_layer(gdf, "casualties")
    assert result.frame.geometry.iloc[2].equals(shapely.Point(LAT, LON))
    assert "never swaps" in result.report.errors[0].problem


def test_multipolygon_and_polygon_are_both_fine_for_polygon_layers():
    multi = shapely.MultiPolygon([square(5), square(6)])
    result = validate_layer(_with_geometry(hazards(), 0, multi), "hazards")
    assert result.report.ok, result.report.errors
    assert result.frame.geometry.iloc[0].geom_type == "MultiPolygon"
    assert result.frame.geometry.iloc[1].geom_type == "Polygon"


def test_self_intersection_is_repaired_with_areas_recorded():
    result = validate_layer(_with_geometry(hazards(), 0, BOWTIE), "hazards")
    assert result.report.ok, result.report.errors
    [repair] = [r for r in result.report.repairs if r.feature.startswith("feature 0")]
    assert "crosses itself" in repair.problem
    assert repair.field == "geometry ring 1"
    # the two triangles of the bow-tie, built by hand, measured geodesically
    left = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT + 0.001), (LON, LAT + 0.002)])
    right = shapely.Polygon(
        [(LON + 0.002, LAT), (LON + 0.002, LAT + 0.002), (LON + 0.001, LAT + 0.001)]
    )
    expected = geodesic_area_m2(gpd.GeoSeries([left, right], crs="EPSG:4326")).sum()
    assert repair.area_after_m2 == pytest.approx(expected, rel=0.005)
    assert repair.area_before_m2 is not None
    out = result.frame.geometry.iloc[0]
    assert out.is_valid
    assert out.symmetric_difference(shapely.union(left, right)).area < 1e-12
    # a big area change on a hazard is accepted but flagged
    assert any("changed the area" in w.problem for w in result.report.warnings)


def test_hole_outside_shell_is_repaired_for_hazards_naming_the_ring():
    result = validate_layer(_with_geometry(hazards(), 0, HOLE_OUTSIDE), "hazards")
    assert result.report.ok
    [repair] = [r for r in result.report.repairs if r.feature.startswith("feature 0")]
    assert "hole lies outside" in repair.problem
    assert repair.field == "geometry ring 2"
    assert result.frame.geometry.iloc[0].is_valid


@pytest.mark.parametrize(
    ("geom", "words"),
    [
        (BOWTIE, "refused for released land"),
        (HOLE_OUTSIDE, "refused for released land"),
        (FLAT, "collapses to lines/points"),
    ],
)
def test_cleared_repairs_that_change_area_or_collapse_are_refused(geom, words):
    result = validate_layer(_with_geometry(cleared(), 1, geom), "cleared")
    assert not result.report.ok
    [error] = result.report.errors
    assert words in error.problem
    assert "unsurveyed ground as safe" in error.problem
    assert error.feature == "feature 1 (survey_id C-1)"
    assert not [r for r in result.report.repairs if r.feature.startswith("feature 1")]


def test_cleared_repair_that_keeps_the_area_is_accepted():
    # a zero-area spike: make_valid drops the spike, the area is unchanged
    x, y, d = LON, LAT, 0.002
    spike = shapely.Polygon(
        [(x, y), (x + d, y), (x + d, y + d), (x + d, y + 2 * d), (x + d, y + d), (x, y + d)]
    )
    result = validate_layer(_with_geometry(cleared(), 0, spike), "cleared")
    assert result.report.ok, result.report.errors
    [repair] = [r for r in result.report.repairs if r.feature.startswith("feature 0")]
    assert repair.area_after_m2 == pytest.approx(repair.area_before_m2, rel=1e-9)
    assert "dropped the zero-area lines" in repair.repair
    assert result.frame.geometry.iloc[0].geom_type == "Polygon"


def test_collapsed_polygon_in_other_layers_is_an_error():
    result = validate_layer(_with_geometry(hazards(), 0, FLAT), "hazards")
    assert "no area" in result.report.errors[0].problem


def test_wrong_winding_is_normalised_with_one_summary_record():
    gdf = hazards(4)
    gdf = gdf.set_geometry(gpd.GeoSeries([shapely.reverse(g) for g in gdf.geometry], crs=4326))
    assert not any(shapely.is_ccw(g.exterior) for g in gdf.geometry)
    result = validate_layer(gdf, "hazards")
    assert result.report.ok
    [repair] = result.report.repairs
    assert repair.feature == "file"
    assert repair.problem.startswith("4 polygon(s) had clockwise outer rings")
    assert all(shapely.is_ccw(g.exterior) for g in result.frame.geometry)
    hole = shapely.affinity.translate(square(0), 0.003, 0.003)  # counter-clockwise hole
    holed = shapely.Polygon(square(0, size=0.01).exterior.coords, [hole.exterior.coords])
    one = validate_layer(_with_geometry(hazards(), 0, holed), "hazards")
    out = one.frame.geometry.iloc[0]
    assert shapely.is_ccw(out.exterior)
    assert not shapely.is_ccw(out.interiors[0])


def test_repeated_vertices_are_removed_with_a_record():
    x, y = LON, LAT
    doubled = shapely.Polygon(
        [(x, y), (x + 0.002, y), (x + 0.002, y), (x + 0.002, y + 0.002), (x, y + 0.002)]
    )
    result = validate_layer(_with_geometry(hazards(), 2, doubled), "hazards")
    assert result.report.ok
    [repair] = result.report.repairs
    assert "repeated consecutive vertices" in repair.problem
    assert "feature 2 (hazard_id H-0002)" in repair.problem
    assert shapely.get_num_coordinates(result.frame.geometry.iloc[2]) == 5


def test_area_m2_disagreeing_with_geometry_is_an_error_with_both_values():
    gdf = cleared()
    truth = geodesic_area_m2(gdf.geometry)
    gdf["area_m2"] = [truth.iloc[0], truth.iloc[1] * 1.1, str(truth.iloc[2] * 1.001)]
    result = validate_layer(gdf, "cleared")
    [error] = result.report.errors
    assert error.feature == "feature 1 (survey_id C-1)"
    assert error.field == "area_m2"
    assert f"{truth.iloc[1] * 1.1:,.1f} m²" in error.problem
    assert "measures" in error.problem
    assert "EPSG:3035" in error.problem


def test_area_m2_of_a_small_polygon_may_drift_by_a_boundary_band_not_more():
    # a 10 m x 10 m cleared patch: 0.5 % of its area is 0.5 m², its 40 m boundary moved by
    # coordinate rounding (≤ 0.1 m band) can shift the area by up to 4 m²
    side_deg = 10 / 111_320  # ~10 m north-south; ~6.4 m east-west at 50.45°N
    gdf = cleared()
    small = shapely.box(LON, LAT, LON + side_deg, LAT + side_deg)
    gdf = _with_geometry(gdf, 0, small)
    truth = geodesic_area_m2(gdf.geometry).iloc[0]
    perimeter_m = gdf.to_crs("EPSG:3035").length.iloc[0]
    within_band = truth + 0.5 * 0.1 * perimeter_m  # 3-4 % off, inside the band
    gdf["area_m2"] = [within_band, np.nan, np.nan]
    assert abs(within_band - truth) / truth > 0.005
    assert validate_layer(gdf, "cleared").report.ok
    beyond_band = truth + 2 * 0.1 * perimeter_m
    gdf["area_m2"] = [beyond_band, np.nan, np.nan]
    [error] = validate_layer(gdf, "cleared").report.errors
    assert error.field == "area_m2"
    assert error.feature.startswith("feature 0")
    assert "boundary rounding" in error.problem


def test_overlapping_cleared_polygons_are_accepted_with_a_warning():
    gdf = _with_geometry(cleared(), 1, shapely.affinity.translate(square(0), 0.001, 0))
    result = validate_layer(gdf, "cleared")
    assert result.report.ok
    [warning] = result.report.warnings
    assert warning.feature == "feature 0 (survey_id C-0)"
    assert "overlaps feature 1 (survey_id C-1)" in warning.problem
    assert "union" in warning.problem
    # touching neighbours are not overlaps
    touching = _with_geometry(cleared(), 1, shapely.affinity.translate(square(0), 0.002, 0))
    assert not validate_layer(touching, "cleared").report.warnings


def test_projected_frame_is_reprojected_with_a_record():
    gdf = hazards().to_crs("EPSG:32636")
    result = validate_layer(gdf, "hazards")
    assert result.report.ok
    assert result.frame.crs.to_epsg() == 4326
    assert "EPSG:32636" in result.report.repairs[0].problem
    assert result.frame.geometry.iloc[0].equals_exact(square(0), 1e-7)


def test_points_and_polygons_both_fine_for_strikes():
    gdf = frame(
        {
            "strike_id": ["S-1", "S-2"],
            "date": ["2022-03-01"] * 2,
            "munition_type": ["M26"] * 2,
            "cluster_munition": ["yes", "no"],
        },
        [shapely.Point(LON, LAT), square(1)],
    )
    assert validate_layer(gdf, "strikes").report.ok
