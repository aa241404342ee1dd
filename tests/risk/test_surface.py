"""Hazard surface: per-component union of evidence minus released land, checked against an
independent geopandas/shapely computation in every test."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap._errors import CRSError
from minemap.geometry import area_m2, geodesic_area_m2
from minemap.risk import (
    attribute_points,
    casualty_buffers,
    hazard_surface,
    make_tasks,
    update_surface,
)
from tests.risk._fixtures import (
    bih_casualties,
    bih_hazards,
    bih_released,
    canonical,
    metric_box,
    metric_point,
)

LON, LAT = 36.0, 49.5


def _hazards(boxes, types=None):
    return canonical(
        "hazards",
        [metric_box(LON, LAT, *b) for b in boxes],
        hazard_id=[f"H{i}" for i in range(len(boxes))],
        date=pd.Timestamp("2023-03-01"),
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


def _union_area(*frames) -> float:
    geoms = pd.concat([f.geometry for f in frames], ignore_index=True)
    union = gpd.GeoSeries([shapely.union_all(np.asarray(geoms.array))], crs="EPSG:4326")
    return float(area_m2(union).iloc[0])


def test_overlapping_evidence_counted_once_and_components_separate():
    # H0 and H1 overlap (1 km × 1 km each, shifted 500 m), H2 is 20 km away
    hz = _hazards([(0, 0, 1000, 1000), (500, 0, 1000, 1000), (20_000, 0, 1000, 1000)])
    surface = hazard_surface(hazards=hz)
    assert len(surface) == 2  # never one blob: two connected components
    assert sorted(surface["n_evidence"]) == [1, 2]
    assert surface["area_m2"].sum() == pytest.approx(_union_area(hz), rel=1e-3)
    assert surface["area_m2"].sum() == pytest.approx(1.5e6 + 1e6, rel=5e-3)
    assert surface.crs == "EPSG:4326"


def test_released_land_is_subtracted_and_never_reappears():
    hz = _hazards([(0, 0, 2000, 1000), (1500, 0, 1000, 1000)])
    rel = _released([(0, 0, 800, 1000), (50_000, 0, 500, 500)])  # 2nd is far away
    surface = hazard_surface(hazards=hz, released=rel)
    expected = _union_area(hz) - float(
        area_m2(
            gpd.overlay(
                gpd.GeoDataFrame(geometry=[shapely.union_all(hz.geometry.array)], crs="EPSG:4326"),
                rel[["geometry"]],
                how="intersection",
            )
        ).sum()
    )
    assert surface["area_m2"].sum() == pytest.approx(expected, rel=1e-3)
    overlap = gpd.overlay(surface[["geometry"]], rel[["geometry"]], how="intersection")
    assert area_m2(overlap).sum() < 1.0  # m²
    assert surface["released_area_m2"].sum() == pytest.approx(800 * 1000, rel=5e-3)


def test_fully_released_component_disappears():
    hz = _hazards([(0, 0, 500, 500), (10_000, 0, 500, 500)])
    rel = _released([(-10, -10, 520, 520)])
    surface = hazard_surface(hazards=hz, released=rel)
    assert len(surface) == 1
    assert surface["area_m2"].iloc[0] == pytest.approx(250_000, rel=5e-3)


def test_casualty_buffers_by_device_type():
    pts = [metric_point(LON, LAT, i * 5000, 0) for i in range(5)]
    cas = canonical(
        "casualties",
        pts,
        incident_id=[f"I{i}" for i in range(5)],
        date=pd.Timestamp("2024-01-01"),
        killed=0,
        injured=1,
        civilian=True,
        munition_type=[
            "PMN-2 anti-personnel mine",
            "TM-62 anti-tank mine",
            "9N235 submunition (Smerch)",
            None,
            "артснаряд 152 мм",
        ],
    )
    buf = casualty_buffers(cas)
    assert buf["device_class"].tolist() == ["AP", "AT", "CMR", "unknown", "UXO"]
    assert buf["buffer_radius_m"].tolist() == [50.0, 100.0, 200.0, 100.0, 50.0]
    surface = hazard_surface(casualties=cas)
    assert len(surface) == 5
    geo = geodesic_area_m2(surface).sum()
    expected = sum(math.pi * r * r for r in [50, 100, 200, 100, 50])
    assert geo == pytest.approx(expected, rel=0.012)  # 32-gons: 0.64 % below π r²
    one = hazard_surface(casualties=cas, casualty_buffer_m=10)
    assert geodesic_area_m2(one).sum() == pytest.approx(5 * math.pi * 100, rel=0.012)


def test_component_ids_deterministic_and_independent_of_row_order():
    hz = _hazards(
        [(0, 0, 1000, 1000), (800, 0, 1000, 1000), (9000, 0, 600, 600), (30_000, 0, 300, 300)]
    )
    rel = _released([(100, 100, 300, 300)])
    a = hazard_surface(hazards=hz, released=rel)
    b = hazard_surface(hazards=hz, released=rel)
    assert_geodataframe_equal(a, b)
    shuffled = hazard_surface(hazards=hz.iloc[[3, 1, 0, 2]], released=rel)
    assert shuffled["component_id"].tolist() == a["component_id"].tolist()
    assert shuffled["area_m2"].to_numpy() == pytest.approx(a["area_m2"].to_numpy(), rel=1e-9)
    assert a["component_id"].is_unique


def test_counts_per_component():
    hz = _hazards([(0, 0, 1000, 1000), (900, 0, 1000, 1000)], types=["CHA", "SHA"])
    surface = hazard_surface(hazards=hz)
    assert surface[["n_cha", "n_sha", "n_strikes", "n_casualties"]].iloc[0].tolist() == [1, 1, 0, 0]


def test_wrong_crs_and_empty_inputs():
    hz = _hazards([(0, 0, 100, 100)])
    with pytest.raises(CRSError, match="released layer"):
        hazard_surface(hazards=hz, released=_released([(0, 0, 1, 1)]).to_crs("EPSG:3035"))
    empty = hazard_surface()
    assert len(empty) == 0
    assert "component_id" in empty.columns


@pytest.mark.realdata
def test_bih_area_identity_against_independent_overlay():
    hz, rel, cas = bih_hazards(), bih_released(), bih_casualties()
    surface = hazard_surface(hazards=hz, released=rel, casualties=cas)
    # independent: casualty circles of the documented radii (AP 50 m, unknown 100 m)
    radius = np.where(cas["munition_type"].notna(), 50.0, 100.0)
    circles = cas.to_crs("EPSG:3035").buffer(radius, quad_segs=8).to_crs("EPSG:4326")
    evidence = pd.concat([hz.geometry, circles], ignore_index=True)
    union = gpd.GeoDataFrame(
        geometry=[shapely.union_all(shapely.make_valid(np.asarray(evidence.array)))],
        crs="EPSG:4326",
    )
    released_in = gpd.overlay(
        union,
        rel[["geometry"]].assign(geometry=rel.make_valid()),
        how="intersection",
        keep_geom_type=True,
    )
    expected = float(area_m2(union).iloc[0]) - float(area_m2(released_in).sum())
    assert surface["area_m2"].sum() == pytest.approx(expected, rel=0.005)
    # no surface over released land beyond a tolerance (edges are shared, areas are not)
    overlap = gpd.overlay(
        surface[["geometry"]], rel[["geometry"]], how="intersection", keep_geom_type=True
    )
    assert area_m2(overlap).sum() < 1e-4 * surface["area_m2"].sum()
    assert len(surface) > 100  # components, not a national blob
    # the tasks cover exactly the same area, and no incident is lost
    tasks = make_tasks(surface, hazards=hz, casualties=cas)
    assert tasks["area_m2"].sum() == pytest.approx(expected, rel=0.005)
    outside = tasks.attrs["casualties_outside"]
    assert tasks["n_casualty_incidents"].sum() + len(outside) == len(cas)
    where = attribute_points(tasks, cas)
    inside = where.dropna().value_counts()
    counted = tasks.set_index("task_id").loc[inside.index, "n_casualty_incidents"]
    assert (counted.to_numpy() >= inside.to_numpy()).all()  # points inside a task count there
    assert not set(outside) & set(cas.loc[where.notna(), "incident_id"])


def test_update_surface_equals_full_recomputation():
    hz_all = _hazards(
        [(0, 0, 1000, 1000), (1500, 0, 1000, 1000), (10_000, 0, 800, 800),
         (20_000, 0, 500, 500), (30_000, 0, 500, 500)]
    )  # fmt: skip
    rel_old = _released([(10_000, 0, 200, 800)])
    old_hz = hz_all.iloc[[0, 1, 2, 3]]
    previous = hazard_surface(hazards=old_hz, released=rel_old)
    # the day's changes: a hazard bridging H0 and H1, a new far hazard H4, H3 undone,
    # and a release cutting H2 further
    bridge = _hazards([(900, 200, 700, 300)]).assign(hazard_id="HB")
    new_hz = pd.concat([hz_all.iloc[[0, 1, 2, 4]], bridge], ignore_index=True)
    new_rel_row = _released([(10_500, 0, 300, 300)]).assign(survey_id="R9")
    rel_new = pd.concat([rel_old, new_rel_row], ignore_index=True)
    changed = pd.concat(
        [bridge.geometry, hz_all.geometry.iloc[[4, 3]], new_rel_row.geometry], ignore_index=True
    )
    updated = update_surface(previous, changed=changed, hazards=new_hz, released=rel_new)
    full = hazard_surface(hazards=new_hz, released=rel_new)
    assert_geodataframe_equal(updated, full, check_like=False)
    assert len(full) == 3  # H0+HB+H1 merged, H2 (cut), H4; H3 gone
    replaced = previous[~previous["component_id"].isin(full["component_id"])]
    assert len(replaced) == 3  # the old H0, H1 and H3 components were merged or removed


def _demo(name: str) -> gpd.GeoDataFrame:
    from tests.conftest import REPO

    return gpd.read_file(REPO / "minemap" / "data" / "demo" / f"{name}.geojson")


def test_update_surface_replaces_a_sliver_merged_into_new_evidence():
    """Regression (issue 3): on the demo data, strikes fed in two halves. A hazard cut by
    released land to a ~1e-7 m² sliver is merged with new strikes; the old sliver row no
    longer intersects the change after the lon/lat round trip. Staleness decided by
    geometry kept it beside its successor (174 components where a full run gives 173:
    hazard counted twice). Decided by membership, the update equals the full run."""
    from minemap.risk.footprints import strike_footprints

    hz, st = _demo("hazards"), _demo("strikes")
    cas, rel = _demo("casualties"), _demo("cleared")
    half = len(st) // 2
    previous = hazard_surface(
        hazards=hz, footprints=strike_footprints(st.iloc[:half]), casualties=cas, released=rel
    )
    footprints = strike_footprints(st)
    updated = update_surface(
        previous,
        changed=footprints.iloc[half:],
        hazards=hz,
        footprints=footprints,
        casualties=cas,
        released=rel,
    )
    full = hazard_surface(hazards=hz, footprints=footprints, casualties=cas, released=rel)
    assert updated["component_id"].is_unique
    assert_geodataframe_equal(updated, full, check_like=False)
    # the case is really there: a previous component that is not in the full surface and
    # whose evidence is now part of a larger component, left with (almost) no area
    gone = previous[~previous["component_id"].isin(full["component_id"])]
    assert (gone["area_m2"] < 1e-3).any()


def test_update_surface_never_drops_a_component_whose_row_it_cannot_match():
    """Safety net: a hazard renamed (its key changed, against the contract) next to a change
    has no matching previous row; it is recomputed, not left out of the surface."""
    hz = _hazards([(0, 0, 300, 300), (5000, 0, 300, 300)])
    previous = hazard_surface(hazards=hz)
    near = _hazards([(350, 0, 100, 100)]).assign(hazard_id="HN")  # 50 m from H0, apart
    renamed = hz.assign(hazard_id=["H0-renamed", "H1"])
    current = pd.concat([renamed, near], ignore_index=True)
    updated = update_surface(previous, changed=near.geometry, hazards=current)
    full = hazard_surface(hazards=current)
    assert len(full) == 3
    assert_geodataframe_equal(updated, full, check_like=False)


def _sliver_release(box, rng):
    """A release covering the hazard box except a strip 1 nm – 0.1 mm wide along one edge."""
    dx, dy, w, h = box
    gap = float(10 ** rng.uniform(-9, -4))
    side = int(rng.integers(4))
    if side == 0:
        return (dx + gap, dy - 10, w + 10, h + 20)
    if side == 1:
        return (dx - 10, dy - 10, w + 10 - gap, h + 20)
    if side == 2:
        return (dx - 10, dy + gap, w + 20, h + 10)
    return (dx - 10, dy - 10, w + 20, h + 10 - gap)


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_update_surface_over_random_days_equals_full_recomputation(seed):
    """Seeded days of added and removed hazards, casualties and releases, some releases
    leaving slivers: after every day the chained update equals a full recomputation."""
    rng = np.random.default_rng(seed)
    n_ids = iter(range(10_000))

    def new_boxes(k):
        return [(*rng.uniform(0, 4000, 2), *rng.uniform(100, 600, 2)) for _ in range(k)]

    def hazard_rows(boxes):
        return _hazards(boxes).assign(hazard_id=[f"H{next(n_ids)}" for _ in boxes])

    def release_rows(boxes):
        return _released(boxes).assign(survey_id=[f"R{next(n_ids)}" for _ in boxes])

    def casualty_rows(k):
        pts = [metric_point(LON, LAT, *rng.uniform(0, 4000, 2)) for _ in range(k)]
        return canonical("casualties", pts, incident_id=[f"K{next(n_ids)}" for _ in pts])

    hz = hazard_rows(new_boxes(25))
    rel = release_rows(new_boxes(4))
    cas = casualty_rows(6)

    def layers():
        return {"hazards": hz, "casualties": cas, "released": rel}

    previous = hazard_surface(**layers())
    smallest = np.inf
    for _day in range(6):
        changed = []
        # new hazards, some of them cut to slivers by a release the same day
        boxes = new_boxes(int(rng.integers(1, 5)))
        added = hazard_rows(boxes)
        slivers = release_rows([_sliver_release(b, rng) for b in boxes[:2]])
        hz = pd.concat([hz, added], ignore_index=True)
        rel = pd.concat([rel, slivers], ignore_index=True)
        changed += [added.geometry, slivers.geometry]
        # new casualties and strikes of the day bridging old components
        more = casualty_rows(int(rng.integers(0, 4)))
        cas = pd.concat([cas, more], ignore_index=True)
        changed.append(more.geometry)
        # undo: a random hazard and sometimes a release
        gone = hz.iloc[[int(rng.integers(len(hz)))]]
        hz = hz.drop(index=gone.index)
        changed.append(gone.geometry)
        if len(rel) > 2 and rng.random() < 0.5:
            undone = rel.iloc[[int(rng.integers(len(rel)))]]
            rel = rel.drop(index=undone.index)
            changed.append(undone.geometry)
        changed = gpd.GeoSeries(pd.concat(changed, ignore_index=True), crs="EPSG:4326")
        updated = update_surface(previous, changed=changed, **layers())
        full = hazard_surface(**layers())
        assert updated["component_id"].is_unique
        assert_geodataframe_equal(updated, full, check_like=False)
        previous = updated
        smallest = min(smallest, full["area_m2"].min())
    assert smallest < 1.0  # slivers were made (and kept or replaced correctly)


# --- internals of the fast paths, each against the plain shapely computation -----------------


def _random_circles(rng, n, spread):
    from minemap.risk._spatial import circles

    x, y = rng.uniform(0, spread, n), rng.uniform(0, spread, n)
    r = rng.uniform(20, 200, n)
    return circles(x, y, r), np.column_stack([x, y, r])


def test_intersecting_pairs_equal_geos_intersects_for_circles_and_polygons():
    from minemap.risk._spatial import circles
    from minemap.risk.surface import _intersecting_pairs

    rng = np.random.default_rng(3)
    geoms, circ = _random_circles(rng, 300, 3000.0)
    # near-misses and near-touches around both shortcut thresholds (inscribed / circumscribed)
    # along a vertex direction (0) the polygons reach their radius, along a mid-edge direction
    # (π/32) only the inscribed radius
    inscribed = np.cos(np.pi / 32)
    gaps = [1.0, inscribed, 1.0 - 1e-7, 1.0 + 1e-7, 0.999, inscribed * (1 + 1e-6), 0.999]
    for k, gap in enumerate(gaps):
        angle = 0.0 if k < 5 else np.pi / 32
        cx, cy, r = 5000.0 + 600.0 * k, 0.0, np.array([100.0, 60.0])
        d = 160.0 * gap
        x = np.array([cx, cx + d * np.cos(angle)])
        y = np.array([cy, cy + d * np.sin(angle)])
        more = circles(x, y, r)
        c = np.column_stack([x, y, r])
        geoms, circ = np.concatenate([geoms, more]), np.vstack([circ, c])
    polys = np.array([shapely.box(0, 0, 400, 30), shapely.box(2000, 2000, 2100, 2900)])
    geoms = np.concatenate([geoms, polys])
    circ = np.vstack([circ, np.full((2, 3), np.nan)])
    left, right = _intersecting_pairs(geoms, circ, n_threads=2)
    got = set(zip(left.tolist(), right.tolist(), strict=True))
    i, j = np.triu_indices(len(geoms), k=1)
    hit = shapely.intersects(geoms[i], geoms[j])
    expected = set(zip(i[hit].tolist(), j[hit].tolist(), strict=True))
    assert got == expected
    assert len(expected) > 50  # the set is not trivially empty


def test_union_groups_equal_one_union_all_per_group():
    from minemap.risk.surface import union_groups

    rng = np.random.default_rng(5)
    geoms, _ = _random_circles(rng, 400, 4000.0)
    labels = rng.integers(0, 90, len(geoms))  # groups of many sizes, incl. single members
    labels = np.unique(labels, return_inverse=True)[1]
    got = union_groups(geoms, labels, n_threads=2)
    for g in range(labels.max() + 1):
        members = geoms[labels == g]
        expected = members[0] if len(members) == 1 else shapely.union_all(members)
        assert shapely.equals_exact(got[g], expected, tolerance=0.0)


def test_subtract_released_equals_difference_with_union_of_released():
    from minemap.risk.surface import subtract_released

    rng = np.random.default_rng(8)
    geoms, _ = _random_circles(rng, 200, 3000.0)
    released, _ = _random_circles(rng, 150, 3000.0)
    released = np.concatenate([released, [shapely.box(-500, -500, 300, 300)]])  # covers some
    got = subtract_released(geoms, released, n_threads=2)
    covered = 0
    for g, out in zip(geoms, got, strict=True):
        hits = released[shapely.intersects(released, g)]
        if len(hits) == 0:
            assert out is g
            continue
        expected = shapely.difference(g, shapely.union_all(hits) if len(hits) > 1 else hits[0])
        if shapely.covers(hits, g).any():
            covered += 1
            assert out.is_empty
        else:
            assert shapely.equals_exact(out, expected, tolerance=0.0)
    assert covered > 0


def test_subtract_released_finishes_every_geometry_once_on_the_calling_thread():
    import threading

    from minemap.risk.surface import subtract_released

    rng = np.random.default_rng(9)
    geoms, _ = _random_circles(rng, 300, 6000.0)
    released, _ = _random_circles(rng, 120, 6000.0)
    released = np.concatenate([released, [shapely.box(-500, -500, 300, 300)]])  # covers some
    seen = np.zeros(len(geoms), dtype=int)
    finished = np.empty(len(geoms), dtype=object)
    threads = set()

    def finish(pos, done):
        threads.add(threading.get_ident())
        assert (np.diff(pos) > 0).all()
        seen[pos] += 1
        finished[pos] = done

    got = subtract_released(geoms, released, n_threads=2, finish=finish)
    assert threads == {threading.get_ident()}
    assert (seen == 1).all()
    assert all(a is b for a, b in zip(got, finished, strict=True))  # the final geometries
    plain = subtract_released(geoms, released, n_threads=1)
    assert (shapely.to_wkb(got) == shapely.to_wkb(plain)).all()
    assert shapely.is_empty(got).any()
    assert (shapely.area(got) < shapely.area(geoms)).any()


def test_surface_on_two_threads_equals_one_thread_byte_for_byte():
    """The overlapped two-thread path (union coordinated from a side thread, released land
    projected meanwhile, components brought back to lon/lat as their overlays finish) gives
    the very same frame as one step after the other."""
    rng = np.random.default_rng(21)

    def boxes(k, size):
        return [(*rng.uniform(0, 30_000, 2), *rng.uniform(50, size, 2)) for _ in range(k)]

    hz = _hazards(boxes(400, 900)).assign(hazard_id=[f"H{i}" for i in range(400)])
    rel = _released(boxes(250, 700))
    pts = [metric_point(LON, LAT, *rng.uniform(0, 30_000, 2)) for _ in range(150)]
    cas = canonical("casualties", pts, incident_id=[f"K{i}" for i in range(len(pts))])
    one = hazard_surface(hazards=hz, casualties=cas, released=rel, n_threads=1)
    two = hazard_surface(hazards=hz, casualties=cas, released=rel, n_threads=2)
    assert len(one) > 100
    assert (one["released_area_m2"] > 0).sum() > 20
    assert_geodataframe_equal(one, two, check_less_precise=False)
    assert one.attrs == two.attrs
    wkb_one = shapely.to_wkb(np.asarray(one.geometry.array, dtype=object))
    wkb_two = shapely.to_wkb(np.asarray(two.geometry.array, dtype=object))
    assert (wkb_one == wkb_two).all()


def test_component_id_is_sha1_of_the_sorted_member_keys():
    import hashlib

    hz = _hazards([(0, 0, 1000, 1000), (800, 0, 1000, 1000), (9000, 0, 600, 600)])
    hz["hazard_id"] = ["b9", "B10", "a-1"]  # code-point order: "B10" < "a-1" < "b9"
    surface = hazard_surface(hazards=hz)

    def sha(keys):
        text = "\n".join(sorted(keys)).encode("utf-8")
        return "C" + hashlib.sha1(text).hexdigest()[:12]

    assert set(surface["component_id"]) == {sha(["hazard:b9", "hazard:B10"]), sha(["hazard:a-1"])}


def test_covered_members_add_nothing_and_one_of_equal_twins_stays():
    from minemap.risk._spatial import circles
    from minemap.risk.surface import _covered_members, _intersecting_pairs

    rng = np.random.default_rng(11)
    geoms, circ = _random_circles(rng, 250, 2500.0)
    big = shapely.box(1000, 1000, 1600, 1600)  # swallows the circles inside it
    twin = circles(np.array([4000.0, 4000.0]), np.array([0.0, 0.0]), np.array([80.0, 80.0]))
    geoms = np.concatenate([geoms, [big], twin])
    circ = np.vstack([circ, [[np.nan] * 3], [[4000.0, 0.0, 80.0]] * 2])
    left, right = _intersecting_pairs(geoms, circ, n_threads=2)
    got = _covered_members(geoms, left, right, n_threads=2)
    covers = shapely.covers(geoms[:, None], geoms[None, :])  # [i, j]: i covers j
    np.fill_diagonal(covers, False)
    # equal geometries cover each other: only the one with the smaller index stays
    earlier = np.arange(len(geoms))[:, None] < np.arange(len(geoms))[None, :]
    expected = (covers & (~covers.T | earlier)).any(axis=0)
    assert (got == expected).all()
    assert got[-1]  # the later twin goes ...
    assert not got[-2]  # ... the earlier stays
    assert got.sum() > 3
    kept, full = shapely.union_all(geoms[~got]), shapely.union_all(geoms)
    # same union up to floating-point noise of the overlay (different noding order)
    assert shapely.symmetric_difference(kept, full).area < 1e-9 * full.area


def test_casualty_with_an_empty_point_is_left_out_not_misaligned():
    pts = [metric_point(LON, LAT, 0, 0), shapely.Point(), metric_point(LON, LAT, 5000, 0)]
    cas = canonical(
        "casualties", pts, incident_id=["I0", "I1", "I2"], date=pd.Timestamp("2024-01-01"),
        killed=0, injured=1, civilian=True, munition_type=["PMN-2", None, "TM-62 anti-tank mine"],
    )  # fmt: skip
    surface = hazard_surface(casualties=cas)
    assert surface["n_casualties"].tolist() == [1, 1]
    # I0 keeps its 50 m AP circle, I2 its 100 m AT circle (rows not shifted by the blank)
    areas = sorted(geodesic_area_m2(surface))
    assert areas == pytest.approx([math.pi * 50**2, math.pi * 100**2], rel=0.012)


def test_rows_near_hold_every_row_the_exact_query_on_the_reprojected_surface_finds():
    from minemap.risk._spatial import circles, project, to_storage
    from minemap.risk.surface import _rows_near

    rng = np.random.default_rng(21)
    x0, y0 = 6.0e6, 3.0e6  # EPSG:3035, eastern Ukraine
    surf_m = circles(x0 + rng.uniform(0, 50_000, 400), y0 + rng.uniform(0, 50_000, 400), 300.0)
    previous = to_storage(surf_m, "EPSG:3035")
    probe = circles(x0 + rng.uniform(0, 50_000, 30), y0 + rng.uniform(0, 50_000, 30), 400.0)
    # a probe exactly touching a surface row's metric box edge, and one 1 m away
    bx = shapely.bounds(project(previous[:1], "EPSG:4326", "EPSG:3035"))[0]
    probe = np.concatenate([probe, [shapely.box(bx[2], bx[1], bx[2] + 50, bx[3])]])
    probe = np.concatenate([probe, [shapely.box(bx[2] + 1, bx[1], bx[2] + 50, bx[3])]])
    got = _rows_near(previous, probe, "EPSG:3035")
    whole = project(previous, "EPSG:4326", "EPSG:3035")
    exact = np.unique(shapely.STRtree(whole).query(probe, predicate="intersects")[1])
    assert set(exact.tolist()) <= set(got.tolist())
    assert 0 in got.tolist()
    # boxes only, but still local: rows farther than the margin from every probe are out
    far = shapely.distance(whole[:, None], probe[None, :]).min(axis=1) > 500.0
    assert not set(np.flatnonzero(far).tolist()) & set(got.tolist())
    assert 5 < len(got) < len(previous) / 2


def test_footprints_metric_is_reused_only_for_the_same_unchanged_array():
    """The metric footprints are remembered per footprint GeometryArray (the surface and the
    tasks of one run share them); an in-place edit of a geometry or a radius, a copy or
    another CRS gets a fresh computation, always equal to computing it from scratch."""
    from minemap.risk.footprints import strike_footprints
    from minemap.risk.surface import _footprints_metric

    def fresh(frame, crs):  # a copy is a different array: computed from scratch
        return _footprints_metric(frame.copy(), crs, with_circles=True)

    def same(a, b):
        wkb_a, wkb_b = shapely.to_wkb(a[0]), shapely.to_wkb(b[0])
        return list(wkb_a) == list(wkb_b) and np.array_equal(a[1], b[1], equal_nan=True)

    fp = strike_footprints(_demo("strikes"))
    first = _footprints_metric(fp, "EPSG:3035", with_circles=True)
    again = _footprints_metric(fp, "EPSG:3035", with_circles=True)
    assert same(first, again)
    assert same(again, fresh(fp, "EPSG:3035"))
    assert again[0] is not first[0]  # a caller may edit its arrays without harm
    again[0][:] = None
    assert same(_footprints_metric(fp, "EPSG:3035", with_circles=True), first)

    # an edited geometry (same array object) is seen
    fp.loc[fp.index[0], "geometry"] = shapely.Point(36.0, 49.5).buffer(0.01)
    edited = _footprints_metric(fp, "EPSG:3035", with_circles=True)
    assert same(edited, fresh(fp, "EPSG:3035"))
    assert not shapely.equals(edited[0][0], first[0][0])
    # an edited radius is seen
    fp.loc[fp.index[1], "footprint_radius_m"] = 321.0
    edited = _footprints_metric(fp, "EPSG:3035", with_circles=True)
    assert edited[1][1, 2] == 321.0
    assert same(edited, fresh(fp, "EPSG:3035"))
    # another CRS is seen
    laea = "+proj=laea +lat_0=49 +lon_0=31 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    other = _footprints_metric(fp, laea, with_circles=True)
    assert same(other, fresh(fp, laea))
    assert not same(other, edited)


@pytest.mark.parametrize("n_parts", [2, 3])
def test_independent_parts_give_the_whole_surface_and_tasks(n_parts):
    """The evidence split by _independent_parts, each part's surface and tasks computed on
    its own (with the part's released land and farmland by box), concatenated and sorted,
    equal the whole run exactly: no component spans two parts."""
    from minemap.risk.footprints import strike_footprints
    from minemap.risk.surface import _independent_parts, _rows_in_box

    hz, cas, rel, farm = (_demo(n) for n in ("hazards", "casualties", "cleared", "farmland"))
    fp = strike_footprints(_demo("strikes"))
    full = hazard_surface(hazards=hz, footprints=fp, casualties=cas, released=rel)
    # one as_of for all parts (make_tasks' default is the layers' latest date); cells larger
    # than the demo's components (the grid cut's clip_by_rect raises a GEOS error on one demo
    # component, a make_tasks problem reported separately)
    opts = {"as_of": "2026-01-01", "max_task_size_m": 50_000.0}
    full_tasks = make_tasks(full, farmland=farm, hazards=hz, footprints=fp, casualties=cas, **opts)
    parts = _independent_parts(hazards=hz, footprints=fp, casualties=cas, n_parts=n_parts)
    assert len(parts) == n_parts
    # every record in exactly one part, and every part has evidence
    for name, frame in (("hazards", hz), ("footprints", fp), ("casualties", cas)):
        assert (sum(p[name].astype(int) for p in parts) == 1).all()
        assert len(parts[0][name]) == len(frame)
    assert all(p["hazards"].any() or p["footprints"].any() for p in parts)
    surfaces, tasks = [], []
    for p in parts:
        s = hazard_surface(
            hazards=hz[p["hazards"]],
            footprints=fp[p["footprints"]],
            casualties=cas[p["casualties"]],
            released=rel[_rows_in_box(rel, p["bounds"])],
        )
        surfaces.append(s)
        tasks.append(
            make_tasks(
                s,
                farmland=farm[_rows_in_box(farm, p["bounds"])],
                hazards=hz[p["hazards"]],
                footprints=fp[p["footprints"]],
                casualties=cas[p["casualties"]],
                **opts,
            )
        )
    assert all(len(s) for s in surfaces)
    merged = pd.concat(surfaces, ignore_index=True).sort_values("component_id", kind="stable")
    assert_geodataframe_equal(merged.reset_index(drop=True), full, check_less_precise=False)
    assert shapely.to_wkb(merged.geometry.values).tolist() == (
        shapely.to_wkb(full.geometry.values).tolist()
    )
    merged_tasks = pd.concat(tasks, ignore_index=True).sort_values("task_id", kind="stable")
    assert_geodataframe_equal(merged_tasks.reset_index(drop=True), full_tasks)


def test_independent_parts_keep_evidence_joined_only_by_a_long_metric_edge():
    """A straight edge in the metric CRS bows away from the lon/lat edge between the same
    vertices (here ~0.07° over 8° of longitude at 48° N): a hazard just north of a long
    strip's lon/lat box lies inside the strip in metres. The parts must keep them together."""
    from minemap.risk.surface import _independent_parts

    strip = shapely.box(30.0, 47.9, 38.0, 48.0)  # corners only: long straight edges
    geoms = [
        strip,
        shapely.box(34.0, 48.02, 34.01, 48.03),  # outside the strip's lon/lat box
        shapely.box(25.0, 48.0, 25.01, 48.01),
        shapely.box(40.0, 48.0, 40.01, 48.01),
    ]
    hz = canonical(
        "hazards",
        geoms,
        hazard_id=["strip", "north", "west", "east"],
        date=pd.Timestamp("2023-03-01"),
        hazard_type=["SHA"] * 4,
        contamination="UXO",
    )
    full = hazard_surface(hazards=hz)
    assert len(full) == 3  # the strip and the north box form one component
    assert sorted(full["n_sha"]) == [1, 1, 2]
    parts = _independent_parts(hazards=hz, n_parts=2)
    assert [p["hazards"].tolist() for p in parts] != [[True] * 4, [False] * 4]
    together = [p for p in parts if p["hazards"][0]]
    assert together[0]["hazards"][1]  # the north box is in the strip's part
    merged = pd.concat(
        [hazard_surface(hazards=hz[p["hazards"]]) for p in parts], ignore_index=True
    ).sort_values("component_id", kind="stable")
    assert_geodataframe_equal(merged.reset_index(drop=True), full)
