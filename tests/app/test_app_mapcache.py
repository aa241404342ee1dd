"""The map's caches: the oblast prefilter, the period keys and the background warm-up."""

from __future__ import annotations

import time
from datetime import date

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from minemap._errors import AccessDenied
from minemap_app import cache


@pytest.fixture(autouse=True)
def _fresh_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_oblast_prefilter_keeps_exactly_what_intersects():
    # A triangle; boxes inside, outside, across its edge, and one whose bounding box
    # overlaps the triangle's but whose shape does not touch it (the prefilter's trap).
    area = Polygon([(0, 0), (10, 0), (0, 10)])
    geoms = gpd.GeoSeries(
        [
            box(1, 1, 2, 2),  # inside
            box(20, 20, 21, 21),  # far outside
            box(4, 4, 7, 7),  # across the hypotenuse
            box(8, 8, 9, 9),  # inside the triangle's bbox, outside the triangle
            box(-1, -1, 0, 0),  # touches a corner
        ],
        crs="EPSG:4326",
    )
    expected = np.flatnonzero(geoms.intersects(area).to_numpy())
    assert cache._intersecting(geoms, area).tolist() == expected.tolist() == [0, 2, 4]
    assert cache._intersecting(geoms.iloc[:0], area).tolist() == []


def test_oblast_filter_matches_the_exact_intersection(seeded_store):
    path = cache.store_path()
    version = cache.data_version(path)
    full = cache.layer(path, version, "hazards", "planner")
    for oblast in ("Kharkiv Oblast", "Lviv Oblast"):
        area = cache._oblast_geometry(oblast)
        got = cache.filtered_layer(
            path, version, "hazards", "planner", date_from=None, date_to=None, oblast=oblast
        )
        wanted = full[full.geometry.intersects(area)]
        assert sorted(got["hazard_id"]) == sorted(wanted["hazard_id"])
    kharkiv = cache.filtered_layer(
        path, version, "hazards", "planner", date_from=None, date_to=None, oblast="Kharkiv Oblast"
    )
    assert len(kharkiv) == 3  # the seed lies in Kharkiv oblast …
    lviv = cache.filtered_layer(
        path, version, "hazards", "planner", date_from=None, date_to=None, oblast="Lviv Oblast"
    )
    assert lviv.empty  # … and nowhere near Lviv


def test_period_start_filters_events_only(seeded_store):
    path = cache.store_path()
    version = cache.data_version(path)

    def ids(name, column, **period):
        frame = cache.filtered_layer(path, version, name, "planner", oblast=None, **period)
        return sorted(frame[column])

    # Hazards are the situation at the period's end: the start does not matter …
    late_start = {"date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31)}
    assert ids("hazards", "hazard_id", **late_start) == ids(
        "hazards", "hazard_id", date_from=None, date_to=date(2024, 12, 31)
    )
    assert len(ids("hazards", "hazard_id", **late_start)) == 3
    # … and the end does (HZ-3 is dated 2024-02-01).
    assert "HZ-3" not in ids("hazards", "hazard_id", date_from=None, date_to=date(2024, 1, 31))
    # Casualties must fall inside the period (CAS-1 is dated 2024-04-01).
    assert ids("casualties", "incident_id", **late_start) == ["CAS-1"]
    after = {"date_from": date(2024, 5, 1), "date_to": date(2024, 12, 31)}
    assert ids("casualties", "incident_id", **after) == []


def test_warm_up_runs_once_per_store_version_and_computes_the_default_view(seeded_store, caplog):
    path = cache.store_path()
    with caplog.at_level("WARNING", logger="minemap_app.cache"):
        thread = cache.warm_map(path)
        assert thread is not None
        thread.join(timeout=300)
    assert not thread.is_alive()
    # Every step of the warm-up (layers, period, engine) ran without an error.
    assert [r.getMessage() for r in caplog.records if "warming" in r.getMessage()] == []
    assert cache.warm_map(path) is thread  # the same version starts nothing new
    version = cache.data_version(path)
    summary = cache.layer_summary(path, version, "planner")
    last = max(last for _, _, last in summary.values() if last is not None)
    tasks = cache.prioritised_tasks(path, version, "planner", None, date_to=last, oblast=None)
    assert len(tasks) > 0
    assert {"task_id", "priority_score"} <= set(tasks.columns)


def test_tasks_when_ready_runs_the_engine_in_the_background_once(seeded_store):
    path = cache.store_path()
    version = cache.data_version(path)
    summary = cache.layer_summary(path, version, "planner")
    last = max(last for _, _, last in summary.values() if last is not None)
    args = (path, version, "planner", None)
    # Not computed yet and no time to wait: None, the run goes on in the background.
    assert cache.tasks_when_ready(*args, date_to=last, wait_s=0.0) is None
    assert cache.tasks_pending(*args, date_to=last)
    deadline = time.monotonic() + 300
    while cache.tasks_pending(*args, date_to=last) and time.monotonic() < deadline:
        time.sleep(0.1)
    ready = cache.tasks_when_ready(*args, date_to=last, wait_s=0.0)
    # The very frame the page's synchronous path gets (the run filled that cache entry).
    assert ready is cache.prioritised_tasks(*args, date_to=last, oblast=None)
    assert len(ready) > 0
    assert not cache.tasks_pending(*args, date_to=last)
    # Another period end has no run yet; a role without exact hazards gets the error.
    assert cache.tasks_pending(*args, date_to=date(2000, 1, 1)) is False
    with pytest.raises(AccessDenied):
        cache.tasks_when_ready(path, version, "funder", None, date_to=last, wait_s=30.0)
