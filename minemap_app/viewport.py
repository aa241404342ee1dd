"""The Map page's map: a fragment that reruns alone on pan/zoom and sends what is in view.

The map is drawn inside ``st.fragment``: when Leaflet reports a new view (streamlit-folium
returns only ``bounds`` and ``zoom``), only this fragment reruns — never the page, its
sidebar or its filters. The Leaflet map itself is not re-created either: the base map
(the map, helpers and plugin assets) has the same script on every run, so streamlit-folium
keeps it, and the page's layers (basemap, outlines, national H3 summary, legend) and the
features in view travel as ``feature_group_to_add``, which it swaps into the existing map.
Zoomed in, the summary (hidden there) is not sent again (:func:`mapview.drop_switched`).

The bounds query is :mod:`minemap.mapview` behind :func:`minemap_app.cache.layer_in_view`
(cached on store, version, role, layer, filters, snapped bounds and zoom). Roles that get
H3 aggregates never reach it: the page sends them no detail layers, and the cache
function refuses them as well.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from minemap import mapview, webmap
from minemap_app import cache, i18n, settings, ui

__all__ = [
    "FOCUS_KEY",
    "MAP_KEY",
    "MapSpec",
    "add_focus",
    "clear_focus",
    "controls_last",
    "current_view",
    "focus_bounds",
    "prepare_dynamic",
    "set_focus",
    "show_map",
    "stable_map",
    "view_of",
]

MAP_KEY = "main_map"
"""Session key where streamlit-folium leaves the view the browser last reported."""
FOCUS_KEY = "map_focus"
"""Session key of the task chosen on the Priorities page: ``{"task_id", "bounds"}``."""
FOCUS_COLOUR = "#00b4d8"


@dataclass(frozen=True)
class MapSpec:
    """What the fragment needs to query the view again on its own (plain values only)."""

    path: str
    version: int
    role: str | None
    layers: tuple[str, ...]
    """Layers sent feature by feature when zoomed in; empty: no detail in view."""
    weights: tuple[tuple[str, float], ...] | None
    date_from: date | None
    date_to: date | None
    oblast: str | None
    options: webmap.MapOptions
    initial_bounds: tuple[float, float, float, float] | None
    """Where the map opens when the browser has not reported a view yet (a chosen task)."""
    lang: str


def focus_bounds(total_bounds: Any) -> tuple[float, float, float, float]:
    """A task's bounds widened by :data:`settings.TASK_FOCUS_PAD` (at least 0.005°)."""
    minx, miny, maxx, maxy = (float(v) for v in total_bounds)
    pad = max(maxx - minx, maxy - miny) * settings.TASK_FOCUS_PAD
    pad = max(pad, 0.005)
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


def set_focus(task_id: str, total_bounds: Any) -> None:
    """Remember the task to open the map on (its id and bounds; no frames in session)."""
    st.session_state[FOCUS_KEY] = {
        "task_id": str(task_id),
        "bounds": [float(v) for v in total_bounds],
    }
    # The last reported view belongs to the previous map: open on the task instead.
    st.session_state.pop(MAP_KEY, None)


def clear_focus() -> None:
    """Forget the chosen task (the map opens on the whole country again)."""
    st.session_state.pop(FOCUS_KEY, None)
    st.session_state.pop(MAP_KEY, None)


def prepare_dynamic(fmap: folium.Map, options: webmap.MapOptions, *, casualties: bool) -> None:
    """Let the national summary give way to the detail when zoomed in.

    The summary groups are hidden from :data:`settings.DETAIL_MIN_ZOOM` on (in the browser,
    without a rerun), and the plugin code the detail layers may need (marker clusters, heat
    map) is loaded with the map, because streamlit-folium loads scripts only then.
    """
    admin_name = webmap.escape_text(options.t("layer.admin"))
    groups = [
        child
        for child in fmap._children.values()
        if isinstance(child, folium.FeatureGroup) and child.layer_name != admin_name
    ]
    mapview.ZoomSwitch(groups, min_zoom=settings.DETAIL_MIN_ZOOM).add_to(fmap)
    # The plugin assets (marker clusters, heat map) are on every base map: see stable_map.


def add_focus(fmap: folium.Map, shape: gpd.GeoDataFrame) -> None:
    """Outline the chosen task on top of everything (its id as an escaped tooltip)."""
    label = webmap.escape_text(f"#{shape['priority_rank'].iloc[0]} {shape['task_id'].iloc[0]}")
    data = gpd.GeoDataFrame({"_tooltip": [label]}, geometry=shape.geometry.values, crs=shape.crs)
    group = folium.FeatureGroup(name=label, show=True)
    folium.GeoJson(
        data,
        style_function=lambda _f: {
            "color": FOCUS_COLOUR,
            "weight": 5,
            "fill": False,
            "dashArray": "8 6",
        },
        tooltip=folium.GeoJsonTooltip(fields=["_tooltip"], labels=False),
        zoom_on_click=False,
    ).add_to(group)
    group.add_to(fmap)


def controls_last(fmap: folium.Map) -> folium.Map:
    """Move the layer switcher after every layer added to a finished map.

    folium's ``LayerControl`` lists the map's layers in its script; a layer added after
    it (the chosen task, the aggregate cells) would be referenced before it exists, and
    that script error leaves the map blank.
    """
    for key, child in list(fmap._children.items()):
        if isinstance(child, folium.LayerControl):
            fmap._children.move_to_end(key)
    return fmap


def stable_map(
    fmap: folium.Map,
    options: webmap.MapOptions,
    *,
    view: tuple[float, float, float, float] | None,
) -> mapview.SplitMap:
    """Split the page's finished map so a filter change swaps layers, not the map.

    streamlit-folium re-creates its iframe (Leaflet, plugins, the whole script) whenever
    the map's script changes. What stays in the script is the same for every filter,
    language and basemap: the map itself, the JS helpers and the plugin assets (marker
    clusters and heat map, loaded whether casualties are shown or not, since scripts load
    only with the map). Everything else travels as ``feature_group_to_add``: the basemap's
    tile layer (a group of its own, first, not in the layer switcher), the oblast outlines
    (their names are in the page's language), the data layers, legend and zoom switch;
    the opening view (``view``, else the map's own fit) as ``center``/``zoom``, which move
    an existing map only when they change.
    """
    mapview.plugin_assets(options.asset_base).add_to(fmap)
    tiles = []
    for key, child in list(fmap._children.items()):
        if isinstance(child, folium.TileLayer):
            del fmap._children[key]
            child._parent = None
            tiles.append(child)
    split = mapview.split_map(fmap)
    if tiles:
        basemap = folium.FeatureGroup(name="minemap-basemap", control=False, show=True)
        for tile in tiles:
            tile.add_to(basemap)
        split.groups.insert(0, basemap)
    if view is not None:
        split.bounds = tuple(float(v) for v in view)
    return split


def view_of(
    bounds: tuple[float, float, float, float] | None,
) -> tuple[list[float] | None, int | None]:
    """``center`` ([lat, lon]) and ``zoom`` for st_folium that show ``bounds`` whole."""
    if bounds is None:
        return None, None
    minx, miny, maxx, maxy = bounds
    zoom = mapview.zoom_for_bounds(
        bounds, width_px=int(settings.MAP_HEIGHT_PX * 1.5), height_px=settings.MAP_HEIGHT_PX
    )
    return [round((miny + maxy) / 2, 6), round((minx + maxx) / 2, 6)], zoom


def current_view(spec: MapSpec) -> mapview.View | None:
    """The view the browser last reported, else the chosen task's; ``None``: national."""
    reported = mapview.parse_leaflet_view(st.session_state.get(MAP_KEY))
    if reported is not None:
        return reported
    if spec.initial_bounds is not None:
        zoom = mapview.zoom_for_bounds(
            spec.initial_bounds,
            width_px=int(settings.MAP_HEIGHT_PX * 1.5),
            height_px=settings.MAP_HEIGHT_PX,
        )
        return mapview.View(bounds=spec.initial_bounds, zoom=zoom)
    return None


def _detail_in_view(
    spec: MapSpec, view: mapview.View
) -> tuple[list[folium.FeatureGroup], dict[str, tuple[int, int]]]:
    query = mapview.snap_bounds(
        mapview.pad_bounds(view.bounds, fraction=settings.VIEW_PAD_FRACTION), zoom=view.zoom
    )
    slices = {
        name: cache.layer_in_view(
            spec.path,
            spec.version,
            name,
            spec.role,
            bounds=query,
            zoom=view.zoom,
            cap=settings.VIEW_MAX_FEATURES_PER_LAYER,
            weights=spec.weights if name == "tasks" else None,
            date_from=spec.date_from,
            date_to=spec.date_to,
            oblast=spec.oblast,
        )
        for name in spec.layers
    }
    counts = {name: (len(s.frame), s.total) for name, s in slices.items()}
    frames = {name: s.frame for name, s in slices.items() if name != "tasks" and len(s.frame)}
    tasks = slices["tasks"].frame if "tasks" in slices and len(slices["tasks"].frame) else None
    if tasks is not None:
        # The highest- and lowest-scored tasks go along (two features at most), so the colour
        # classes are those of the whole ranking, not of the tasks that happen to be in view.
        extremes = cache.task_score_extremes(
            spec.path,
            spec.version,
            spec.role,
            spec.weights,
            date_to=spec.date_to,
            oblast=spec.oblast,
        )
        extra = extremes[~extremes["task_id"].isin(tasks["task_id"])]
        if len(extra):
            tasks = pd.concat([tasks, extra])
    if not frames and tasks is None:
        return [], counts
    # Already simplified for this zoom by the query: only rounding here, no H3 fallback.
    options = replace(
        spec.options, simplify_m=0.0, summary_resolution=None, max_features_per_layer=None
    )
    scratch = webmap.build_map(frames, tasks=tasks, admin=None, options=options)
    # The legend of the features in view (the summary's has none of them) goes first: the
    # groups after the last legend holder are the features in view.
    legend = mapview.detach_legend(scratch)
    # streamlit-folium adds every group it is given to the map: layers hidden by default
    # (the casualty heat map) are left out rather than shown.
    shown = [g for g in mapview.detach_groups(scratch) if g.show]
    return ([legend] if legend is not None else []) + shown, counts


def _counts_text(counts: dict[str, tuple[int, int]], lang: str) -> str:
    parts = []
    for name, (shown, total) in counts.items():
        label = i18n.t(f"layer.{name}", lang)
        if shown < total:
            parts.append(
                i18n.t(
                    "map.detail_capped",
                    lang,
                    layer=label,
                    shown=i18n.fmt_number(shown, lang),
                    total=i18n.fmt_number(total, lang),
                )
            )
        else:
            parts.append(f"{label}: {i18n.fmt_number(total, lang)}")
    return " · ".join(parts)


def _same_session_role(spec: MapSpec) -> bool:
    """Whether the signed-in session still has the role this map was built for."""
    token = st.session_state.get("auth_token")
    if token:
        account = cache.account(spec.path, token)
        return account is not None and account.role == spec.role
    identity = st.session_state.get("oidc_identity")  # SSO: mapped once per session
    return identity is not None and identity.get("role") == spec.role


@st.fragment
def show_map(stable: mapview.SplitMap, spec: MapSpec) -> None:
    """Draw the map (``stable``'s base and layers) and, zoomed in, the features in view.

    Runs as a fragment: a new view reported by the browser reruns only this function
    (with the same ``stable`` and ``spec`` as the page's last full run). Either way the
    base map's script is the same, so the browser keeps its Leaflet map and only swaps
    the layers.
    """
    if not _same_session_role(spec):
        # A fragment rerun skips the router: an ended session or a changed role must not
        # keep receiving what the old role could see. The whole app resolves it again —
        # once: if that did not settle it either, draw nothing rather than loop.
        if st.session_state.get("_map_role_rerun"):
            st.session_state.pop("_map_role_rerun", None)
            st.stop()
        st.session_state["_map_role_rerun"] = True
        st.rerun(scope="app")
    st.session_state.pop("_map_role_rerun", None)
    view = current_view(spec)
    groups: list[folium.FeatureGroup] | None = None
    counts: dict[str, tuple[int, int]] = {}
    if spec.layers and view is not None and view.zoom >= settings.DETAIL_MIN_ZOOM:
        try:
            groups, counts = _detail_in_view(spec, view)
        except Exception as exc:  # a failed query becomes a message; the map still draws
            ui.show_error("error.generic", exc)
            groups = None
    # A fresh copy each run: streamlit-folium renders (and so changes) the map and the
    # groups it is given, and the same script on every run is what keeps the browser's
    # Leaflet map (no reload, no jump).
    base, layers = copy.deepcopy((stable.base, stable.groups))
    if groups is not None:
        # Zoomed in: the summary layers are hidden from here on; not sending them again
        # makes a pan cost the features in view, not the whole national summary.
        layers = mapview.drop_switched(layers)
    center, zoom = view_of(stable.bounds)
    st_folium(
        base,
        key=MAP_KEY,
        height=settings.MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=["bounds", "zoom"],
        feature_group_to_add=[mapview.swap_start(), *layers, *(groups or [])],
        layer_control=folium.LayerControl(collapsed=False),
        center=center,
        zoom=zoom,
    )
    if not spec.layers:
        return
    if counts:
        st.caption(
            ui.tr("map.detail_in_view", zoom=view.zoom, counts=_counts_text(counts, spec.lang))
        )
        if any(shown < total for shown, total in counts.values()):
            st.caption(ui.tr("map.detail_capped_note"))
    else:
        st.caption(ui.tr("map.zoom_for_detail", zoom=settings.DETAIL_MIN_ZOOM))
