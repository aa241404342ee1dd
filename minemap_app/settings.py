"""Widget defaults, ranges and limits of the web app, in one place.

Labels live in :mod:`minemap_app.i18n` (by key); this module holds the numbers and choices.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BACKTEST_ACTIONS",
    "BACKTEST_BOOTSTRAP",
    "BACKTEST_MAX_WEIGHTS",
    "BASEMAPS",
    "DEFAULT_BASEMAP",
    "DEFAULT_LANG",
    "DEFAULT_UPLOAD_LAYER",
    "DEFAULT_VISIBLE_LAYERS",
    "DETAIL_FEATURE_LIMIT",
    "DETAIL_MIN_ZOOM",
    "EXACT_CASUALTY_ROLES",
    "LANGUAGES",
    "MAP_HEIGHT_PX",
    "MAP_LAYERS",
    "MAX_FEATURES_PER_LAYER",
    "MAX_UPLOAD_MB",
    "SIMPLIFY_M",
    "SUMMARY_H3_RESOLUTION",
    "TABLE_PAGE_ROWS",
    "TASKS_WAIT_S",
    "TASK_FOCUS_PAD",
    "VIEW_MAX_FEATURES_PER_LAYER",
    "VIEW_PAD_FRACTION",
    "WEIGHT_MAX",
    "WEIGHT_MIN",
    "WEIGHT_STEP",
]

LANGUAGES: Final = ("uk", "en")
DEFAULT_LANG: Final = "uk"
"""Most users work in Ukrainian."""

EXACT_CASUALTY_ROLES: Final = ("planner", "field")
"""Roles that see casualty points. This only chooses how the map draws; what a role may
read at all is decided by ``minemap.auth`` (funders get H3 aggregates from the core)."""

BACKTEST_ACTIONS: Final = ("change_weights",)
"""Who may run back-tests: the people who choose weights (planners). A back-test reads the
full layers and is about choosing weights on evidence."""

BACKTEST_MAX_WEIGHTS: Final = 3
BACKTEST_BOOTSTRAP: Final = 500
"""Bootstrap resamples of the app's back-test (the CLI's default is 1,000; 500 keeps the
page responsive and the interval ends stable to about a percentage point)."""
"""Weight sets compared in one back-test run on the Back-test page."""

MAP_LAYERS: Final = (
    "tasks",
    "hazards",
    "cleared",
    "farmland",
    "settlements",
    "strikes",
    "casualties",
)
DEFAULT_VISIBLE_LAYERS: Final = ("tasks", "hazards", "cleared", "strikes", "casualties")

BASEMAPS: Final = ("none", "osm")
"""``none``: no tiles, bundled oblast outlines only (works offline); ``osm``: OpenStreetMap
tiles (need internet; the map's own layers still draw without them)."""
DEFAULT_BASEMAP: Final = "none"

MAP_HEIGHT_PX: Final = 620
SIMPLIFY_M: Final = 20.0
"""Douglas–Peucker tolerance (metres) for polygons sent to the browser."""
DETAIL_FEATURE_LIMIT: Final = 5_000
# How long, counted from the start of a Map page run, the page waits for the priority
# engine's run (started as soon as the filters are known, beside the other layers' work)
# before drawing the other layers without the tasks and swapping the tasks in later: one
# complete drawing when the engine is quick (the kept surface and tasks), never a page held
# up for long when it is not.
TASKS_WAIT_S: Final = 1.8
"""Above this many features in view the map shows the national H3 summary unless an oblast is
chosen (measured: folium + streamlit-folium send ~1-2 KB per feature, see docs/app.md)."""
MAX_FEATURES_PER_LAYER: Final = 1_000
"""One layer with more features than this is drawn as H3 counts even in the oblast view."""
SUMMARY_H3_RESOLUTION: Final = 4
"""≈ 1,770 km² cells for the national overview (a few hundred cells per layer)."""

DETAIL_MIN_ZOOM: Final = 10
"""From this Leaflet zoom on (≈ 60 × 35 km in view on a 620-px map) the summary view gives
way to the individual features in view; below it the H3 summary is shown."""
VIEW_MAX_FEATURES_PER_LAYER: Final = 350
"""Most features of one layer sent for a view (the rest: "zoom in"). Measured ≈ 1.2 KB per
20-vertex polygon with its popup, so six full layers stay near 2.5 MB: under the 5 MB bound
with the national summary (≤ 2 MB) beside them (tests/app/test_app_map.py checks it)."""
VIEW_PAD_FRACTION: Final = 0.25
"""The view is widened by this share on every side before querying, so short pans find
their features already sent."""
TASK_FOCUS_PAD: Final = 1.0
"""A task chosen on the Priorities page opens the map on its bounds widened by this
share of its size on every side (at least 0.005° ≈ 500 m)."""

WEIGHT_MIN: Final = 0.0
WEIGHT_MAX: Final = 100.0
WEIGHT_STEP: Final = 1.0
"""Weights are relative (only ratios matter); the engine's defaults sum to 100."""

DEFAULT_UPLOAD_LAYER: Final = "hazards"
"""Non-technical survey results are the most common upload."""

MAX_UPLOAD_MB: Final = 200
"""Same as ``server.maxUploadSize`` in .streamlit/config.toml; checked again by the app."""

TABLE_PAGE_ROWS: Final = 500
