"""Tasks: parcel split, bounded grid pieces, evidence summary, point attribution — checked
against independent geopandas overlays."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from minemap.geometry import area_m2, geodesic_area_m2
from minemap.risk import (
    attribute_points,
    hazard_surface,
    make_tasks,
    strike_footprints,
)
from minemap.risk.tasks import grid_cut
from tests.risk._fixtures import (
    bellingcat_cluster_strikes,
    canonical,
    crater_hazards,
    metric_box,
    metric_point,
    poltava_farmland,
)

LON, LAT = 36.0, 49.5


def _hazards(boxes, types=None, dates=None):
    return canonical(
        "hazards",
        [metric_box(LON, LAT, *b) for b in boxes],
        hazard_id=[f"H{i}" for i in range(len(boxes))],
        date=dates or [pd.Timestamp("2023-03-01")] * len(boxes),
        hazard_type=types or ["SHA"] * len(boxes),
        contamination="UXO",
    )


def _released(boxes):
    return canonical(
        "cleared",
        [metric_box(LON, LAT, *b) for b in boxes],
        survey_id=[f"R{i}" for i in range(len(boxes))],
        date=pd.Timestamp("2023-06-01"),
        team="T1",
        operator="Op",
        status="cleared",
        method="manual",
    )


def _farmland(boxes, ids=None):
    return canonical(
        "farmland",
        [metric_box(LON, LAT, *b) for b in boxes],
        parcel_id=ids or [f"P{i}" for i in range(len(boxes))],
        land_use="arable",
        crop="wheat",
        value_per_ha=25_000.0,
    )


def _casualties(offsets, dates, killed, injured, device=None):
    n = len(offsets)
    return canonical(
        "casualties",
        [metric_point(LON, LAT, dx, dy) for dx, dy in offsets],
        incident_id=[f"I{i}" for i in range(n)],
        date=dates,
        killed=killed,
        injured=injured,
        civilian=True,
        munition_type=device or ["PMN anti-personnel mine"] * n,
    )


def _overlap_area(frame: gpd.GeoDataFrame) -> float:
    """Total pairwise overlap area (m²) among the rows, computed with a plain sjoin."""
    m = frame[["geometry"]].to_crs("EPSG:3035").reset_index(drop=True)
    pairs = gpd.sjoin(m, m, predicate="intersects")
    pairs = pairs[pairs.index < pairs["index_right"]]
    if pairs.empty:
        return 0.0
    a = m.geometry.loc[pairs.index].to_numpy()
    b = m.geometry.loc[pairs["index_right"]].to_numpy()
    return float(shapely.area(shapely.intersection(a, b)).sum())


def test_grid_cut_bounds_pieces_and_preserves_area():
    hz = _hazards([(0, 0, 5000, 3000)])
    surface = hazard_surface(hazards=hz)
    tasks = make_tasks(surface, hazards=hz, max_task_size_m=2000)
    assert len(tasks) == 6  # ceil(5/2) × ceil(3/2)
    assert set(tasks["kind"]) == {"grid"}
    m = tasks.to_crs("EPSG:3035")
    widths = m.bounds["maxx"] - m.bounds["minx"]
    heights = m.bounds["maxy"] - m.bounds["miny"]
    assert widths.max() <= 2000 + 1
    assert heights.max() <= 2000 + 1
    assert tasks["area_m2"].sum() == pytest.approx(float(area_m2(hz).sum()), rel=1e-3)
    assert _overlap_area(tasks) < 1.0
    assert tasks["area_m2"].to_numpy() == pytest.approx(area_m2(tasks).to_numpy(), rel=1e-6)
    assert tasks["area_m2"].to_numpy() == pytest.approx(
        geodesic_area_m2(tasks).to_numpy(), rel=0.005
    )
    assert (tasks["evidence_class"] == "SHA").all()
    assert (tasks["n_sha"] == 1).all()


# A real surface component (demo data, metres) on which GEOS's rectangle clipper raised
# "Invalid number of points in LinearRing found 3" for some cut lines, although the polygon is
# valid: the grid cut falls back to an exact intersection with the box.
_CLIP_TRAP_WKT = (
    "MULTIPOLYGON (((6406149.037169265 3172524.5888346443, 6406306.1557751745 3172709.8095614"
    "193, 6406643.406712191 3172869.2840027255, 6406643.406712191 3172059.133724077, 6406191."
    "271249882 3172574.376872549, 6406149.037169265 3172524.5888346443)), ((6405108.994614797"
    " 3171741.837501622, 6405351.381844923 3172462.6788664977, 6405258.806706152 3172524.5413"
    "2261, 6405463.051715666 3172388.056537333, 6405703.988669004 3172340.175866691, 6405944."
    "837351656 3172388.1487165177, 6406149.037169265 3172524.5888346443, 6406013.920918263 31"
    "72434.3082581805, 6406643.406712191 3171938.8434117795, 6406643.406712191 3170862.839987"
    "0014, 6406590.351805178 3170796.9756664084, 6405108.994614797 3171741.837501622)), ((640"
    "5967.3833524715 3172728.30763321, 6405839.410076484 3172642.750855739, 6405703.941008572"
    " 3172615.8742829333, 6405568.556482991 3172642.81751395, 6405453.73840033 3172719.494342"
    "4426, 6405377.064516905 3172834.276155829, 6405350.058959828 3172969.7174388207, 6405377"
    ".02404845 3173105.109348172, 6405453.746359554 3173219.9528830894, 6405604.00586298 3173"
    "320.308486864, 6406283.249704793 3173697.2245360897, 6406370.528103984 3173714.538848062"
    ", 6406446.451601641 3173699.476809735, 6406510.786475154 3173656.4421724044, 6406553.816"
    "643052 3173592.074929313, 6406568.890135547 3173516.123752533, 6406553.791268753 3173440"
    ".195321028, 6406489.532832539 3173343.9287233055, 6405967.3833524715 3172728.30763321)))"
)


@pytest.mark.parametrize("max_size_m", [300.0, 600.0, 700.0, 2000.0])
def test_grid_cut_survives_the_rectangle_clipper_bug(max_size_m):
    geom = shapely.from_wkt(_CLIP_TRAP_WKT)
    assert shapely.is_valid(geom)
    pieces = [g for _, _, g in grid_cut(geom, max_size_m)]
    assert sum(p.area for p in pieces) == pytest.approx(geom.area, rel=1e-9)
    for p in pieces:
        minx, miny, maxx, maxy = p.bounds
        assert maxx - minx <= max_size_m + 1e-6
        assert maxy - miny <= max_size_m + 1e-6
    union = shapely.union_all(pieces)
    assert shapely.symmetric_difference(union, geom).area < 1e-6 * geom.area


def test_small_component_is_not_cut():
    hz = _hazards([(1900, 1900, 500, 500)])  # straddles a 2 km line of any global grid
    tasks = make_tasks(hazard_surface(hazards=hz), hazards=hz)
    assert len(tasks) == 1


def test_parcel_tasks_and_independent_intersection_area():
    hz = _hazards([(0, 0, 3000, 1000)])
    # P0 half over the hazard, P1 inside, P2 far away, P3 duplicates part of P1 (dirty cadastre)
    farm = _farmland(
        [(-500, 0, 1000, 1000), (1000, 200, 500, 500), (9000, 0, 100, 100), (1200, 300, 200, 200)],
        ids=["P0", "P1", "P2", "P3"],
    )
    rel = _released([(2800, 0, 200, 1000)])
    surface = hazard_surface(hazards=hz, released=rel)
    tasks = make_tasks(surface, farmland=farm, hazards=hz)
    parcels = tasks[tasks["kind"] == "parcel"].set_index("parcel_id")
    assert set(parcels.index) == {"P0", "P1"}  # P3 lies wholly inside P1: P1 sorts first
    assert parcels.loc["P0", "farmland_area_m2"] == pytest.approx(500 * 1000, rel=5e-3)
    assert parcels.loc["P1", "area_m2"] == pytest.approx(500 * 500, rel=5e-3)
    assert parcels.loc["P0", "land_use"] == "arable"
    assert parcels.loc["P0", "value_per_ha"] == 25_000.0
    assert tasks["task_id"].is_unique
    assert tasks["task_id"].str.contains("/p/P0").sum() == 1
    # independent: surface ∩ farmland by overlay
    inter = gpd.overlay(surface[["geometry"]], farm[["geometry"]].iloc[:2], how="intersection")
    assert parcels["area_m2"].sum() == pytest.approx(float(area_m2(inter).sum()), rel=5e-3)
    assert tasks["area_m2"].sum() == pytest.approx(surface["area_m2"].sum(), rel=1e-4)
    assert _overlap_area(tasks) < 1.0
    grid = tasks[tasks["kind"] == "grid"]
    assert (grid["farmland_area_m2"] == 0).all()
    assert grid["parcel_id"].isna().all()
    # released land does not reappear in any task
    back = gpd.overlay(tasks[["geometry"]], rel[["geometry"]], how="intersection")
    assert float(area_m2(back).sum()) < 1.0


def test_expected_items_apportioned_by_area_and_released_share_removed():
    strikes = canonical(
        "strikes",
        [metric_point(LON, LAT, 0, 0)],
        strike_id=["S1"],
        date=pd.Timestamp("2024-02-02"),
        munition_type="9M27K",
        cluster_munition=True,
    )
    fp = strike_footprints(strikes)
    # release the western half of the 150 m circle
    rel = _released([(-200, -200, 200, 400)])
    surface = hazard_surface(footprints=fp, released=rel)
    farm = _farmland([(0, -200, 200, 200)])  # south-east quarter is farmland
    tasks = make_tasks(surface, farmland=farm, footprints=fp)
    assert tasks["expected_items_low"].sum() == pytest.approx(
        fp["expected_items_low"].iloc[0] / 2, rel=0.01
    )
    assert tasks["expected_items_high"].sum() == pytest.approx(
        fp["expected_items_high"].iloc[0] / 2, rel=0.01
    )
    parcel = tasks[tasks["kind"] == "parcel"]
    assert parcel["expected_items_high"].iloc[0] == pytest.approx(
        fp["expected_items_high"].iloc[0] / 4, rel=0.01
    )
    assert (tasks["evidence_class"] == "strike").all()
    assert (tasks["n_strikes"] == 1).all()
    assert (tasks["n_cluster_strikes"] == 1).all()
    assert (tasks["latest_evidence_date"] == pd.Timestamp("2024-02-02")).all()


def test_casualty_or_strike_with_an_empty_point_is_counted_nowhere_and_reported():
    hz = _hazards([(0, 0, 1000, 1000)], types=["CHA"])
    cas = _casualties(
        [(100, 100), (200, 200)],
        dates=[pd.Timestamp("2024-01-01")] * 2,
        killed=[1, 0],
        injured=[0, 1],
    )
    cas.loc[1, "geometry"] = shapely.Point()  # position lost in the source
    surface = hazard_surface(hazards=hz, casualties=cas)
    tasks = make_tasks(surface, hazards=hz, casualties=cas, as_of="2024-01-01")
    assert tasks["n_casualty_incidents"].tolist() == [1]
    assert tasks["killed"].tolist() == [1]
    assert tasks["injured"].tolist() == [0]
    assert tasks.attrs["casualties_outside"] == ["I1"]  # listed, never lost


def test_casualty_recency_attribution_and_evidence_class():
    hz = _hazards([(0, 0, 1000, 1000), (3000, 0, 1000, 1000)], types=["CHA", "SHA"])
    cas = _casualties(
        [(100, 100), (200, 200), (3500, 500), (9000, 9000)],
        dates=[
            pd.Timestamp("2024-01-01"),
            pd.Timestamp("2023-01-01"),
            pd.Timestamp("2022-01-01"),
            pd.Timestamp("2024-01-01"),
        ],
        killed=[1, 0, 2, 1],
        injured=[1, 3, 0, 0],
    )
    surface = hazard_surface(hazards=hz, casualties=cas)
    tasks = make_tasks(surface, hazards=hz, casualties=cas, as_of="2024-01-01", half_life_days=365)
    by_class = tasks.set_index("evidence_class")
    assert set(by_class.index) == {"CHA", "SHA", "casualty"}
    cha = by_class.loc["CHA"]
    assert cha["n_casualty_incidents"] == 2
    assert cha["killed"] == 1
    assert cha["injured"] == 4
    # 2 victims today + 3 victims 365 days ago (2023 is not a leap year)
    assert cha["casualty_recency"] == pytest.approx(2 + 3 * 0.5)
    sha = by_class.loc["SHA"]
    assert sha["casualty_recency"] == pytest.approx(2 * 0.5 ** (730 / 365))
    assert sha["latest_evidence_date"] == pd.Timestamp("2023-03-01")
    assert by_class.loc["casualty", "n_casualty_incidents"] == 1
    # every incident attributed exactly once
    assert tasks["n_casualty_incidents"].sum() == len(cas)
    where = attribute_points(tasks, cas)
    assert where.notna().all()
    assert where.index.equals(cas.index)
    assert tasks.attrs["casualties_outside"] == []


def test_points_outside_are_reported_not_lost():
    hz = _hazards([(0, 0, 1000, 1000)])
    rel = _released([(0, 0, 300, 300)])
    cas = _casualties(
        [(270, 150), (700, 700)],
        dates=[pd.Timestamp("2024-01-01")] * 2,
        killed=[0, 0],
        injured=[1, 1],
    )
    surface = hazard_surface(hazards=hz, released=rel)
    tasks = make_tasks(surface, hazards=hz, casualties=cas)
    where = attribute_points(tasks, cas)
    assert pd.isna(where.iloc[0])  # in released land
    assert where.iloc[1] == tasks["task_id"].iloc[0]
    # the incident in released land still counts once, for the task its buffer reaches most
    assert tasks["n_casualty_incidents"].sum() == 2


def test_deterministic_run_twice():
    hz = _hazards([(0, 0, 4500, 2500), (4000, 2000, 3000, 1000)], types=["SHA", "CHA"])
    farm = _farmland([(500, 500, 800, 400), (2000, 100, 300, 2000)])
    rel = _released([(100, 100, 200, 200)])
    args = {"farmland": farm, "hazards": hz}
    a = make_tasks(hazard_surface(hazards=hz, released=rel), **args)
    b = make_tasks(hazard_surface(hazards=hz, released=rel), **args)
    assert_geodataframe_equal(a, b)
    assert list(a["task_id"]) == sorted(a["task_id"])


@pytest.mark.realdata
def test_crater_fields_and_bellingcat_strikes_area_identity():
    hz = crater_hazards()
    strikes = bellingcat_cluster_strikes()
    fp = strike_footprints(strikes)
    surface = hazard_surface(hazards=hz, footprints=fp)
    tasks = make_tasks(surface, hazards=hz, footprints=fp)
    union = shapely.union_all(
        shapely.make_valid(np.concatenate([hz.geometry.array, fp.geometry.array]))
    )
    expected = float(area_m2(gpd.GeoSeries([union], crs="EPSG:4326")).iloc[0])
    assert tasks["area_m2"].sum() == pytest.approx(expected, rel=0.005)
    assert _overlap_area(tasks) < 1e-5 * expected
    assert tasks["area_m2"].to_numpy() == pytest.approx(
        geodesic_area_m2(tasks).to_numpy(), rel=0.005
    )
    # every strike attributed to a task or reported outside
    where = attribute_points(tasks, strikes)
    assert len(where) == len(strikes)
    assert where.notna().all()  # no released layer here: every strike point is in a task
    assert (tasks["n_sha"] > 0).sum() > 50
    total_items = fp["expected_items_high"].sum()
    assert tasks["expected_items_high"].sum() == pytest.approx(total_items, rel=1e-5)


@pytest.mark.realdata
def test_poltava_parcels_split_against_independent_overlay():
    farm = poltava_farmland()
    # a synthetic hazard over the middle of the cadastre: a 3 km × 2 km box
    minx, miny, maxx, maxy = farm.total_bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    x, y = to_m.transform(cx, cy)
    to_ll = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    box = shapely.segmentize(shapely.box(x - 1500, y - 1000, x + 1500, y + 1000), 50)
    box = shapely.transform(box, lambda xy: np.column_stack(to_ll.transform(*xy.T)))
    hz = canonical(
        "hazards",
        [box],
        hazard_id=["HX"],
        date=pd.Timestamp("2024-04-01"),
        hazard_type="CHA",
        contamination="AT",
    )
    surface = hazard_surface(hazards=hz)
    tasks = make_tasks(surface, farmland=farm, hazards=hz)
    parcels = tasks[tasks["kind"] == "parcel"]
    assert len(parcels) > 50
    assert parcels["parcel_id"].is_unique  # one parcel per task (one component here)
    inter = gpd.overlay(
        hz[["geometry"]], farm[["geometry", "parcel_id"]], how="intersection", keep_geom_type=True
    )
    inter_area = area_m2(inter)
    big = inter[inter_area >= 1.0]
    assert set(parcels["parcel_id"]) <= set(inter["parcel_id"])
    # cadastre overlaps are given to one parcel, so the parcel total is at most the overlay's
    assert parcels["area_m2"].sum() <= float(inter_area.sum()) * 1.0001
    assert parcels["area_m2"].sum() == pytest.approx(
        float(
            area_m2(gpd.GeoSeries([shapely.union_all(big.geometry.array)], crs="EPSG:4326")).iloc[0]
        ),
        rel=0.005,
    )
    assert tasks["area_m2"].sum() == pytest.approx(float(area_m2(hz).iloc[0]), rel=0.005)
    assert _overlap_area(tasks) < 1e-5 * tasks["area_m2"].sum()
    assert (tasks["evidence_class"] == "CHA").all()


def test_partially_overlapping_parcels_never_give_overlapping_tasks():
    hz = _hazards([(0, 0, 1500, 1500)])
    # P1 overlaps P0 by 100 m × 400 m; P2 overlaps both
    farm = _farmland(
        [(100, 100, 600, 400), (600, 100, 600, 400), (300, 300, 600, 600)],
        ids=["P0", "P1", "P2"],
    )
    surface = hazard_surface(hazards=hz)
    tasks = make_tasks(surface, farmland=farm, hazards=hz)
    assert _overlap_area(tasks) < 1.0
    assert tasks["area_m2"].sum() == pytest.approx(surface["area_m2"].sum(), rel=1e-6)
    union = shapely.union_all(np.asarray(farm.geometry.array))
    farm_union = float(area_m2(gpd.GeoSeries([union], crs="EPSG:4326")).iloc[0])
    assert tasks["farmland_area_m2"].sum() == pytest.approx(farm_union, rel=1e-3)
    parcels = tasks[tasks["kind"] == "parcel"].set_index("parcel_id")
    assert parcels.loc["P0", "area_m2"] == pytest.approx(600 * 400, rel=5e-3)  # sorts first


def test_parcels_overlapping_outside_the_hazard_keep_their_whole_pieces():
    # P0 and P1 overlap each other only south of the hazard: inside it both keep their
    # whole pieces, and the grid remainder is the hazard minus both
    hz = _hazards([(0, 0, 1000, 1000)])
    farm = _farmland([(100, -600, 200, 1200), (0, 0, 1, 1)], ids=["P0", "P1"])
    # P1 is L-shaped: x 250..550 south of y = -300, then x 350..550 up to y = 300
    p1 = shapely.union_all(
        [metric_box(LON, LAT, 250, -800, 300, 500), metric_box(LON, LAT, 350, -300, 200, 600)]
    )
    farm.loc[1, "geometry"] = p1
    surface = hazard_surface(hazards=hz)
    tasks = make_tasks(surface, farmland=farm, hazards=hz)
    assert _overlap_area(tasks) < 1.0
    parcels = tasks[tasks["kind"] == "parcel"].set_index("parcel_id")
    assert parcels.loc["P0", "area_m2"] == pytest.approx(200 * 600, rel=5e-3)
    assert parcels.loc["P1", "area_m2"] == pytest.approx(200 * 300, rel=5e-3)  # whole piece
    grid = tasks[tasks["kind"] == "grid"]
    assert grid["area_m2"].sum() == pytest.approx(1000 * 1000 - 200 * 600 - 200 * 300, rel=5e-3)
    assert tasks["area_m2"].sum() == pytest.approx(surface["area_m2"].sum(), rel=1e-9)


def test_outside_europe_uses_a_local_equal_area_crs():
    # Antioquia, Colombia: outside EPSG:3035's area of use
    lon, lat = -75.5, 6.2
    hz = canonical(
        "hazards",
        [metric_box(lon, lat, 0, 0, 10, 10).buffer(0.01)],
        hazard_id=["CO1"],
        date=pd.Timestamp("2020-01-01"),
        hazard_type="SHA",
        contamination="AP",
    )
    surface = hazard_surface(hazards=hz)
    tasks = make_tasks(surface, hazards=hz)
    assert "laea" in tasks.attrs["area_crs"].lower() or "lambert" in tasks.attrs["area_crs"].lower()
    geodesic = geodesic_area_m2(hz).iloc[0]
    assert tasks["area_m2"].sum() == pytest.approx(geodesic, rel=0.005)
    assert surface["area_m2"].sum() == pytest.approx(geodesic, rel=0.005)


def test_metric_surface_handover_is_exact_and_never_stale():
    hz = _hazards([(0, 0, 1500, 1200), (1000, 900, 700, 600)], types=["SHA", "CHA"])
    rel = _released([(100, 100, 200, 200)])
    surface = hazard_surface(hazards=hz, released=rel)
    tasks = make_tasks(surface, hazards=hz)
    # the surface's own metric geometry is cut (no 4326 → metric round trip): one task, whose
    # area is exactly the component's area as hazard_surface measured it
    assert len(tasks) == 1
    assert tasks["area_m2"].iloc[0] == surface["area_m2"].iloc[0]
    # a copy has no hand-over: reprojected, equal within the round trip's sub-mm error
    copied = make_tasks(surface.copy(), hazards=hz)
    assert copied["area_m2"].iloc[0] == pytest.approx(surface["area_m2"].iloc[0], rel=1e-6)
    # a geometry edited in place must be used, not the remembered metric form
    smaller = metric_box(LON, LAT, 0, 0, 500, 500)
    surface.loc[0, "geometry"] = smaller
    edited = make_tasks(surface, hazards=hz)
    expected = float(area_m2(gpd.GeoSeries([smaller], crs="EPSG:4326")).iloc[0])
    assert edited["area_m2"].sum() == pytest.approx(expected, rel=1e-6)


def test_evidence_touching_a_task_does_not_count_as_overlapping_it():
    from minemap.risk.tasks import _overlap_pairs

    tasks = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], dtype=object)
    evidence = np.array(
        [
            shapely.box(0, 0, 10, 10),  # equals task 0, shares an edge with task 1
            shapely.box(5, 5, 15, 8),  # overlaps both
            shapely.box(20, 0, 30, 10),  # shares an edge with task 1 only
            shapely.Polygon([(20, 10), (25, 15), (20, 20)]),  # a corner of task 1 only
        ],
        dtype=object,
    )
    ev, task = _overlap_pairs(shapely.STRtree(tasks), evidence, n_threads=1)
    assert sorted(zip(ev.tolist(), task.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 1)]


def test_split_marks_exactly_the_unchecked_overlay_pieces():
    """make_tasks validates only the pieces the cut did not check already: whole cells,
    metric parcels and convex-clip pieces are marked checked and are valid; cell remainders,
    merged pieces and overlay fallbacks are left to make_tasks' validity pass."""
    from minemap.risk import _spatial
    from minemap.risk.tasks import _parcel_ids, _split_surface

    hazards = _hazards([(0, 0, 5000, 3000)])
    farmland = canonical(
        "farmland",
        [
            metric_box(LON, LAT, 100, 100, 600, 400),  # inside one cell: clipped/whole
            metric_box(LON, LAT, 300, 200, 600, 400),  # overlaps the first (dirty cadastre)
            metric_box(LON, LAT, 1500, 500, 1000, 700),  # spans a cell boundary: merged
            # an L-shaped (non-convex) parcel: GEOS overlay fallback
            shapely.union_all(
                [
                    metric_box(LON, LAT, 3000, 1000, 900, 300),
                    metric_box(LON, LAT, 3000, 1000, 300, 900),
                ]
            ),
        ],
        parcel_id=["P0", "P1", "P2", "P3"],
        land_use="arable",
        crop="wheat",
        value_per_ha=25_000.0,
    )
    surface = hazard_surface(hazards=hazards)
    crs = _spatial.equal_area_crs_for(surface.total_bounds)
    sm = _spatial.recall_metric(surface.geometry.array, crs)
    s4326 = np.asarray(surface.geometry.array, dtype=object)
    _, rank = _parcel_ids(farmland)
    split = _split_surface(sm, s4326, farmland, rank, crs, 2000.0, 1.0, 1)
    assert split.checked.dtype == bool
    assert len(split.checked) == len(split.geom)
    assert shapely.is_valid(split.geom[split.checked]).all()
    parcel_rows = split.parcel[~split.checked & (split.parcel >= 0)]
    # P1 lost its overlap with P0, P2 was merged across cells, P3 went through GEOS
    assert set(farmland["parcel_id"].to_numpy()[parcel_rows]) == {"P1", "P2", "P3"}
    # the grid cells with parcels carved out of them are remainders (unchecked); at least one
    # cell without any parcel is a whole cell (checked)
    grid = split.parcel < 0
    assert (~split.checked[grid]).any()
    assert split.checked[grid].any()
    tasks = make_tasks(surface, farmland=farmland, hazards=hazards, n_threads=1)
    assert shapely.is_valid(tasks.geometry.array).all()
    assert tasks["area_m2"].sum() == pytest.approx(float(area_m2(surface).sum()), rel=1e-9)
