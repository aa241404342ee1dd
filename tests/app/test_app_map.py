"""AppTest of the Map page's view: detail in view, task selection, roles (issue 4).

The browser reports the map's view (``bounds``, ``zoom``) through streamlit-folium into
``st.session_state["main_map"]``; AppTest cannot drive Leaflet, so these tests put the
view there exactly as streamlit-folium does and run the page. The browser path is in
``test_app_browser_view.py``.
"""

from __future__ import annotations

import json
import math

import pytest

from minemap._errors import AccessDenied
from minemap_app import cache, i18n, settings, viewport
from tests.app.conftest import signed_in

HZ1_VIEW = (36.195, 49.895, 36.225, 49.925)
"""Around hazard HZ-1 (36.20–36.22, 49.90–49.92) only; HZ-3 lies at 36.40–36.43."""


def leaflet_view(bounds, zoom: int) -> dict:
    """A view as streamlit-folium reports it (Leaflet's getBounds() JSON and getZoom())."""
    minx, miny, maxx, maxy = bounds
    return {
        "bounds": {
            "_southWest": {"lat": miny, "lng": minx},
            "_northEast": {"lat": maxy, "lng": maxx},
        },
        "zoom": zoom,
    }


def map_args(at) -> dict:
    """The arguments the page sent to the map component (script, feature groups…)."""
    for element in at.main:
        if type(element).__name__ != "UnknownElement":
            continue
        proto = element.proto
        if "script" in str(proto):
            return json.loads(proto.json_args)
    raise AssertionError("no map component on the page")


_HOLDER = "var holder = "
"""In the group that carries the legend and zoom switch (``mapview.GroupControls``): the
page's own layers come before it in ``feature_group``, the features in view after it."""


def page_layers(args: dict) -> str:
    """The layers of the page's full run (summary, legend…), sent into the kept map."""
    groups = args["feature_group"] or ""
    assert _HOLDER in groups, "no legend/zoom-switch holder group sent"
    return groups[: groups.index(_HOLDER)]


def detail(args: dict) -> str:
    """The features in view the fragment added after the page's own layers."""
    groups = args["feature_group"] or ""
    assert _HOLDER in groups, "no legend/zoom-switch holder group sent"
    rest = groups[groups.index(_HOLDER) :]
    marker = "window.feature_group.push("
    return rest[rest.index(marker) + len(marker) :]


def view_extent(args: dict) -> tuple[float, float, float, float]:
    """The lon/lat extent the map opens on (``center`` and ``zoom`` on the 1.5:1 map)."""
    (lat, lon), zoom = args["center"], args["zoom"]
    half_w = settings.MAP_HEIGHT_PX * 1.5 / 2 * 360 / (256 * 2**zoom)
    half_h = settings.MAP_HEIGHT_PX / 2 * 360 / (256 * 2**zoom) * math.cos(math.radians(lat))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


@pytest.fixture
def summary_view(monkeypatch):
    """Make the small seeded store big enough for the national summary (auto view)."""
    monkeypatch.setattr(settings, "DETAIL_FEATURE_LIMIT", 0)


def test_national_zoom_sends_the_summary_and_no_features(seeded_store, summary_view):
    at = signed_in("planner")
    args = map_args(at)
    assert "window.minemap.layer" not in detail(args)
    assert "window.minemap.layer" in page_layers(args)  # the H3 cells
    assert "HZ-1" not in args["script"] + args["feature_group"]  # hazards are H3 cells here
    assert i18n.t("map.zoom_for_detail", "uk", zoom=settings.DETAIL_MIN_ZOOM) in captions(at)


def test_zoomed_in_view_sends_only_the_features_in_it(seeded_store, summary_view):
    at = signed_in("planner")
    at.session_state[viewport.MAP_KEY] = leaflet_view(HZ1_VIEW, 14)
    at.run()
    assert not at.exception, at.exception
    args = map_args(at)
    groups = detail(args)
    assert "HZ-1" in groups
    assert "HZ-3" not in groups  # outside the (padded) view
    assert "CAS-1" in groups  # the casualty at 36.21, 49.91 is in view
    assert "Olena Plantedname" not in groups
    # The base map is unchanged, so the browser keeps the same Leaflet map.
    national = signed_in("planner")
    assert map_args(national)["script"] == args["script"]
    shown = next(c for c in captions(at) if c.startswith("Об'єкти в полі зору"))
    assert f"{i18n.t('layer.hazards', 'uk')}: 1" in shown


def test_cap_per_layer_is_respected_and_said(seeded_store, summary_view, monkeypatch):
    monkeypatch.setattr(settings, "VIEW_MAX_FEATURES_PER_LAYER", 1)
    at = signed_in("planner")
    at.session_state[viewport.MAP_KEY] = leaflet_view((36.0, 49.7, 36.6, 50.1), 11)
    at.run()
    assert not at.exception, at.exception
    groups = detail(map_args(at))
    assert sum(hz in groups for hz in ("HZ-1", "HZ-3", "x=window.__xss")) <= 1
    shown = next(c for c in captions(at) if c.startswith("Об'єкти в полі зору"))
    assert f"{i18n.t('layer.hazards', 'uk')}: 1 з 3" in shown
    assert i18n.t("map.detail_capped_note", "uk") in captions(at)


@pytest.mark.parametrize("role", ["funder", "admin"])
def test_aggregate_roles_never_get_exact_features_whatever_the_zoom(
    seeded_store, summary_view, role
):
    at = signed_in(role)
    for zoom in (6, 12, 18):
        at.session_state[viewport.MAP_KEY] = leaflet_view(HZ1_VIEW, zoom)
        at.run()
        assert not at.exception, at.exception
        args = map_args(at)
        payload = f"{args['script']} {args['feature_group']}"
        for secret in ("HZ-1", "HZ-3", "CAS-1", "Olena Plantedname", "36.21, 49.91"):
            assert secret not in payload, (role, zoom, secret)
    # The cache refuses the query itself, not only the page.
    version = cache.data_version(str(seeded_store))
    for name in ("hazards", "strikes", "casualties"):
        with pytest.raises(AccessDenied, match="H3 aggregates"):
            cache.layer_in_view(
                str(seeded_store), version, name, role, bounds=HZ1_VIEW, zoom=16, cap=10
            )
    with pytest.raises(AccessDenied):
        cache.layer_in_view(
            str(seeded_store), version, "tasks", role, bounds=HZ1_VIEW, zoom=16, cap=10
        )


def test_choosing_a_task_on_priorities_opens_the_map_on_it(seeded_store):
    at = signed_in("planner")
    national = view_extent(map_args(at))
    national_script = map_args(at)["script"]
    # With no oblast or task, the map opens on the data (all hazards of the seed lie within
    # 36.20–36.43 E, 49.90–49.98 N), not on the whole country.
    assert national[0] <= 36.20
    assert national[1] <= 49.90
    assert national[2] >= 36.43
    assert national[3] >= 49.98
    assert national[2] - national[0] < 5
    at.switch_page("views/priorities.py").run()
    picker = at.selectbox(key="prio_pick")
    task_id = picker.options[3]
    picker.set_value(task_id).run()
    assert not at.exception, at.exception
    # The page offers a link to the Map page (a browser follows it: test_app_browser_view).
    assert [link.label for link in at.get("page_link")] == [i18n.t("prio.show_on_map", "uk")]
    at.switch_page("views/map.py").run()
    assert not at.exception, at.exception
    # On the Map page now, with the task remembered (id and bounds only).
    assert [t.value for t in at.title] == [i18n.t("map.title", "uk")]
    focus = at.session_state[viewport.FOCUS_KEY]
    assert focus["task_id"] == task_id
    tminx, tminy, tmaxx, tmaxy = focus["bounds"]
    # The map opens on the task: its bounds inside the view, the view small (not national).
    minx, miny, maxx, maxy = view_extent(map_args(at))
    assert minx <= tminx
    assert miny <= tminy
    assert maxx >= tmaxx
    assert maxy >= tmaxy
    assert (maxx - minx) < 0.2 < (national[2] - national[0])
    # Highlighted (its own outlined layer) and named in the sidebar.
    assert "#00b4d8" in page_layers(map_args(at))
    # The same base map: the browser keeps its Leaflet map and only moves the view.
    assert map_args(at)["script"] == national_script
    assert any(task_id.replace("_", "\\_") in c.value for c in at.sidebar.caption)
    # Clearing it brings the national view back.
    at.sidebar.button(key="map_focus_clear").click().run()
    assert viewport.FOCUS_KEY not in at.session_state
    assert view_extent(map_args(at)) == national


def test_a_chosen_task_loads_the_detail_of_its_view(seeded_store, summary_view):
    at = signed_in("planner")
    at.switch_page("views/priorities.py").run()
    picker = at.selectbox(key="prio_pick")
    picker.set_value(picker.options[1]).run()
    at.switch_page("views/map.py").run()
    assert not at.exception, at.exception
    # No view reported by a browser yet: the task's own view is queried right away.
    assert viewport.MAP_KEY not in at.session_state or not at.session_state[viewport.MAP_KEY]
    groups = detail(map_args(at))
    assert groups
    assert str(at.session_state[viewport.FOCUS_KEY]["task_id"]) in groups


def test_detail_payload_of_a_full_view_stays_under_the_bound():
    """VIEW_MAX_FEATURES_PER_LAYER polygons per layer, as sent, stay within the 5 MB bound."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely
    from streamlit_folium import _get_feature_group_string

    from minemap import mapview, webmap

    n = settings.VIEW_MAX_FEATURES_PER_LAYER
    rng = np.random.default_rng(1)
    xs, ys = 36.0 + rng.random(n) * 0.3, 49.8 + rng.random(n) * 0.2
    shapes = [shapely.Point(x, y).buffer(0.002, quad_segs=5) for x, y in zip(xs, ys, strict=True)]
    hazards = gpd.GeoDataFrame(
        {
            "hazard_id": [f"HZ-{i:06d}" for i in range(n)],
            "hazard_type": ["SHA", "CHA"] * (n // 2),
            "contamination": "AP/AT mixed",
            "status": "open",
            "date": pd.Timestamp("2024-01-01"),
        },
        geometry=shapes,
        crs="EPSG:4326",
    )
    cleared = hazards.rename(columns={"hazard_id": "survey_id"}).assign(
        status="cleared", method="manual", operator="Operator name"
    )
    farmland = hazards.rename(columns={"hazard_id": "parcel_id"}).assign(land_use="arable")
    frames = {"hazards": hazards, "cleared": cleared, "farmland": farmland}
    scratch = webmap.build_map(frames, options=webmap.MapOptions(simplify_m=0))
    base = webmap.build_map({}, admin=webmap.admin_boundaries(), options=webmap.MapOptions())
    sent = "".join(
        _get_feature_group_string(g, base, i) for i, g in enumerate(mapview.detach_groups(scratch))
    )
    per_layer_mb = len(sent.encode()) / len(frames) / 1e6
    # Six such layers and the national summary (≤ 2 MB measured) must fit in 5 MB.
    assert 6 * per_layer_mb + 2.0 < 5.0, per_layer_mb


def test_task_colours_span_the_whole_ranking_not_only_the_view(seeded_store, summary_view):
    at = signed_in("planner")
    version = cache.data_version(str(seeded_store))
    tasks = cache.prioritisation(str(seeded_store), version, "planner", None).tasks
    ranked = tasks.sort_values("priority_rank")
    top, bottom = ranked.iloc[0], ranked.iloc[-1]
    far = ranked[
        ~ranked.geometry.intersects(top.geometry.buffer(0.03))
        & ~ranked.geometry.intersects(bottom.geometry.buffer(0.03))
    ]
    assert len(far), "the seed needs a task away from the top and bottom ones"
    other = far.iloc[0]
    minx, miny, maxx, maxy = other.geometry.bounds
    at.session_state[viewport.MAP_KEY] = leaflet_view((minx, miny, maxx, maxy), 16)
    at.run()
    assert not at.exception, at.exception
    groups = detail(map_args(at))
    # The task in view, plus the highest- and lowest-scored ones so the classes span all.
    for task_id in (other.task_id, top.task_id, bottom.task_id):
        assert json.dumps(str(task_id))[1:-1] in groups, task_id


def test_zoomed_in_reruns_do_not_send_the_hidden_summary_again(seeded_store, summary_view):
    at = signed_in("planner")
    national = page_layers(map_args(at))
    at.session_state[viewport.MAP_KEY] = leaflet_view(HZ1_VIEW, 14)
    at.run()
    assert not at.exception, at.exception
    zoomed = map_args(at)
    assert "HZ-1" in detail(zoomed)
    # Nationally: the oblast outlines and the H3 summary of each layer. Zoomed in (where
    # the summary is hidden): the outlines only, and the holder switches nothing.
    layers = "window.minemap.layer("
    assert national.count(layers) > 1
    assert page_layers(zoomed).count(layers) == 1
    assert "Харківська" in page_layers(zoomed)
    assert len(page_layers(zoomed)) < len(national)
    assert "var layers = [];" in zoomed["feature_group"]
    assert "var layers = [];" not in map_args(signed_in("planner"))["feature_group"]
    # The features in view bring their legend (the summary has none).
    assert "minemap-legend" not in national
    assert "minemap-legend" in detail(zoomed)


def test_language_and_basemap_swap_layers_in_the_same_map(seeded_store):
    at = signed_in("planner")
    before = map_args(at)
    assert "Харківська" in before["feature_group"]
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    english = map_args(at)
    # The outline names follow the language in the swapped layers; the map's own script
    # is the same, so the browser keeps its Leaflet map.
    assert english["script"] == before["script"]
    assert "Kharkiv" in english["feature_group"]
    assert "Харківська" not in english["feature_group"]
    at.sidebar.selectbox(key="map_basemap__en").set_value("osm").run()
    assert not at.exception, at.exception
    tiles = map_args(at)
    assert tiles["script"] == before["script"]
    assert "tile.openstreetmap.org" in tiles["feature_group"]
    assert "tile.openstreetmap.org" not in tiles["script"] + english["feature_group"]
