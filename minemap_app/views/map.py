"""Map page: the clearance map with filters (planners)."""

from __future__ import annotations

import time
from datetime import date

import folium
import streamlit as st

from minemap import auth, webmap
from minemap_app import cache, i18n, mapping, settings, ui, viewport

ui.require("view_map")
started = time.monotonic()  # the tasks are waited for until settings.TASKS_WAIT_S after this
ui.page_header("map")
# Every message above the map goes in here: the map keeps its place in the page whatever
# the filters show, so Streamlit keeps its iframe (and the browser its Leaflet map).
notes = st.container()
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
with_tasks = ui.can("view_tasks")  # funders and admins see no exact hazard geometry

try:
    version = cache.data_version(path)
except Exception as exc:  # a damaged store must become a message, not a traceback
    ui.show_error("error.store", exc)
    version = 0

map_layers = [name for name in settings.MAP_LAYERS if with_tasks or name != "tasks"]
data_layers = [name for name in map_layers if name != "tasks"]
# What this role may read of each layer: "aggregate" layers are H3 cells from the core.
aggregate = {name for name in data_layers if auth.layer_access(role, name) == "aggregate"}
summary_by_layer = cache.layer_summary(path, version, role) if version else {}

with st.sidebar:
    st.subheader(ui.tr("map.filters"))
    chosen = st.multiselect(
        ui.tr("map.layers"),
        options=map_layers,
        format_func=lambda name, lang=lang: i18n.t(f"layer.{name}", lang),
        key=ui.widget_key(
            "map_layers", [n for n in settings.DEFAULT_VISIBLE_LAYERS if n in map_layers]
        ),
    )
    ui.remember("map_layers", chosen)
    firsts = [first for _, first, _ in summary_by_layer.values() if first is not None]
    lasts = [last for _, _, last in summary_by_layer.values() if last is not None]
    date_from: date | None = None
    date_to: date | None = None
    if firsts:
        first, last = min(firsts), max(lasts)
        if first < last:
            date_from, date_to = st.slider(
                ui.tr("map.period"),
                min_value=first,
                max_value=last,
                value=(first, last),
                format="DD.MM.YYYY" if lang == "uk" else "D MMM YYYY",
                key="map_period",
            )
        else:
            date_from = date_to = first
    names = cache.oblast_names(lang)  # English name (the id) → name in this language
    oblast_choice = st.selectbox(
        ui.tr("map.oblast"),
        options=["", *names],
        format_func=lambda name, lang=lang: names.get(name) or i18n.t("map.all_oblasts", lang),
        key=ui.widget_key("map_oblast", ""),
    )
    ui.remember("map_oblast", oblast_choice)
    oblast = oblast_choice or None
    view = st.radio(
        ui.tr("map.view"),
        options=("auto", "summary", "detail"),
        format_func=lambda v, lang=lang: i18n.t(f"map.view.{v}", lang),
        key=ui.widget_key("map_view", "auto"),
    )
    ui.remember("map_view", view)
    basemap = st.selectbox(
        ui.tr("map.basemap"),
        options=settings.BASEMAPS,
        format_func=lambda b, lang=lang: i18n.t(f"map.basemap.{b}", lang),
        key=ui.widget_key("map_basemap", settings.DEFAULT_BASEMAP),
    )
    ui.remember("map_basemap", basemap)

# On a large store the engine's run as of the period end takes a second or more: it starts
# now, beside the other layers' filtering and drawing, and is waited for below (small
# stores run it in line, as before).
large = sum(count for count, _, _ in summary_by_layer.values()) > settings.DETAIL_FEATURE_LIMIT
want_tasks = "tasks" in chosen and bool(version) and with_tasks
if want_tasks and large:
    cache.start_tasks(
        path, version, role, st.session_state.get("weights"), date_to=date_to, oblast=oblast
    )

frames = {
    name: cache.filtered_layer(
        path, version, name, role, date_from=date_from, date_to=date_to, oblast=oblast
    )
    for name in data_layers
    if name in chosen and version
}
frames = {name: frame for name, frame in frames.items() if not frame.empty}
cells = {name: frames.pop(name) for name in list(frames) if name in aggregate}
if aggregate:
    notes.caption(ui.tr("map.aggregate_note"))

tasks = None
tasks_waiting = False
if want_tasks:
    weights = st.session_state.get("weights")
    # On a large store: waited for until TASKS_WAIT_S after the run started (then one
    # complete drawing); a longer run leaves the other layers drawn at once and the tasks
    # swapped in when it is done.
    try:
        if large:
            tasks = cache.tasks_when_ready(
                path, version, role, weights, date_to=date_to, oblast=oblast,
                wait_s=settings.TASKS_WAIT_S - (time.monotonic() - started),
            )  # fmt: skip
            tasks_waiting = tasks is None
        else:
            tasks = cache.prioritised_tasks(
                path, version, role, weights, date_to=date_to, oblast=oblast
            )
    except Exception as exc:  # the engine's message, escaped; never a traceback
        with notes:
            ui.show_error("error.risk", exc)
if tasks_waiting:
    notes.info(ui.tr("map.tasks_computing"))

    @st.fragment(run_every=0.25)
    def _wait_for_tasks() -> None:
        """Rerun the page once the engine's run is done (the map then swaps the tasks in)."""
        if not cache.tasks_pending(
            path, version, role, st.session_state.get("weights"), date_to=date_to, oblast=oblast
        ):
            st.rerun(scope="app")

    with notes:
        _wait_for_tasks()

if not any(count for count, _, _ in summary_by_layer.values()):
    notes.info(ui.tr("map.empty"))

n_features = sum(len(f) for f in frames.values()) + (0 if tasks is None else len(tasks))
summary = view == "summary" or (
    view == "auto" and oblast is None and n_features > settings.DETAIL_FEATURE_LIMIT
)
if summary and n_features:
    notes.caption(ui.tr("map.summary_note", n=i18n.fmt_number(n_features, lang)))

counts = [
    f"{ui.tr(f'layer.{name}')}: {i18n.fmt_number(len(frame), lang)}"
    for name, frame in [*frames.items(), *([("tasks", tasks)] if tasks is not None else [])]
] + [
    f"{ui.tr(f'layer.{name}')}: {i18n.fmt_number(len(frame), lang)} {ui.tr('map.cells')}"
    for name, frame in cells.items()
]
if counts:
    notes.caption(ui.tr("map.counts", counts=" · ".join(counts)))

admin = cache.admin_boundaries()
bounds = None
if oblast:
    selected = admin[admin["name_en"] == oblast]
    if not selected.empty:
        bounds = tuple(selected.total_bounds)

# A task chosen on the Priorities page: open on it, highlighted (planners and field teams).
focus = st.session_state.get(viewport.FOCUS_KEY) if with_tasks else None
focus_shape = None
if focus and version:
    try:
        focus_shape = cache.task_focus(
            path, version, role, st.session_state.get("weights"), str(focus["task_id"])
        )
    except Exception as exc:  # the engine's message, escaped; never a traceback
        with notes:
            ui.show_error("error.risk", exc)
    if focus_shape is not None and not focus_shape.empty:
        bounds = viewport.focus_bounds(focus_shape.total_bounds)
        with st.sidebar:
            st.caption(ui.tr("map.focus", task=ui.md_escape(str(focus["task_id"]))))
            st.button(
                ui.tr("map.focus_clear"), on_click=viewport.clear_focus, key="map_focus_clear"
            )

options = webmap.MapOptions(
    asset_base=ui.asset_base(),
    text=i18n.map_text(lang),
    decimal_comma=lang == "uk",
    language=lang,
    reference_date=date_to or date.today(),
    simplify_m=settings.SIMPLIFY_M,
    summary_resolution=settings.SUMMARY_H3_RESOLUTION if summary else None,
    height_px=settings.MAP_HEIGHT_PX,
    max_features_per_layer=settings.MAX_FEATURES_PER_LAYER,
    exact_casualties=ui.current_role() in settings.EXACT_CASUALTY_ROLES,
)
fmap = webmap.build_map(frames, tasks=tasks, admin=admin, bounds=bounds, options=options)
# Summary view of layers this role may see feature by feature: at national zoom the H3
# cells, past DETAIL_MIN_ZOOM the features in view (sent by the fragment below).
detail_layers = [name for name in frames if name in chosen]
if tasks is not None and not tasks.empty:
    detail_layers.append("tasks")
dynamic = summary and bool(detail_layers)
if dynamic:
    viewport.prepare_dynamic(fmap, options, casualties="casualties" in detail_layers)
if cells:
    mapping.add_aggregate_layers(fmap, cells, lang=lang, fit=bounds is None and not frames)
if focus_shape is not None and not focus_shape.empty:
    viewport.add_focus(fmap, focus_shape)
if basemap == "osm":
    folium.TileLayer("OpenStreetMap", overlay=False, control=False).add_to(fmap)
# The base map (outlines, basemap) keeps one script whatever the filters: the browser keeps
# its Leaflet map and a filter change swaps the layers. The view: the oblast or the chosen
# task, else the data over the whole period (not the filtered extent, which moves with every
# filter), else the whole country.
if bounds is None and version:
    try:
        bounds = cache.data_extent(path, version, role)
    except Exception:  # the layers' own errors are shown above; open on the country
        bounds = None
stable = viewport.stable_map(
    fmap, options, view=bounds if bounds is not None else tuple(admin.total_bounds)
)

viewport.show_map(
    stable,
    viewport.MapSpec(
        path=path,
        version=version,
        role=role,
        layers=tuple(detail_layers) if dynamic else (),
        weights=st.session_state.get("weights"),
        date_from=date_from,
        date_to=date_to,
        oblast=oblast,
        options=options,
        initial_bounds=bounds if focus_shape is not None and not focus_shape.empty else None,
        lang=lang,
    ),
)
