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
    "EXACT_CASUALTY_ROLES",
    "LANGUAGES",
    "MAP_HEIGHT_PX",
    "MAP_LAYERS",
    "MAX_FEATURES_PER_LAYER",
    "MAX_UPLOAD_MB",
    "SIMPLIFY_M",
    "SUMMARY_H3_RESOLUTION",
    "TABLE_PAGE_ROWS",
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

MAP_LAYERS: Final = ("tasks", "hazards", "cleared", "farmland", "strikes", "casualties")
DEFAULT_VISIBLE_LAYERS: Final = ("tasks", "hazards", "cleared", "strikes", "casualties")

BASEMAPS: Final = ("none", "osm")
"""``none``: no tiles, bundled oblast outlines only (works offline); ``osm``: OpenStreetMap
tiles (need internet; the map's own layers still draw without them)."""
DEFAULT_BASEMAP: Final = "none"

MAP_HEIGHT_PX: Final = 620
SIMPLIFY_M: Final = 20.0
"""Douglas–Peucker tolerance (metres) for polygons sent to the browser."""
DETAIL_FEATURE_LIMIT: Final = 5_000
"""Above this many features in view the map shows the national H3 summary unless an oblast is
chosen (measured: folium + streamlit-folium send ~1-2 KB per feature, see docs/app.md)."""
MAX_FEATURES_PER_LAYER: Final = 1_000
"""One layer with more features than this is drawn as H3 counts even in the oblast view."""
SUMMARY_H3_RESOLUTION: Final = 4
"""≈ 1,770 km² cells for the national overview (a few hundred cells per layer)."""

WEIGHT_MIN: Final = 0.0
WEIGHT_MAX: Final = 100.0
WEIGHT_STEP: Final = 1.0
"""Weights are relative (only ratios matter); the engine's defaults sum to 100."""

DEFAULT_UPLOAD_LAYER: Final = "hazards"
"""Non-technical survey results are the most common upload."""

MAX_UPLOAD_MB: Final = 200
"""Same as ``server.maxUploadSize`` in .streamlit/config.toml; checked again by the app."""

TABLE_PAGE_ROWS: Final = 500
