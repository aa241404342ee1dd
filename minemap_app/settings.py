"""Widget defaults, ranges and limits of the web app, in one place.

Labels live in :mod:`minemap_app.i18n` (by key); this module holds the numbers and choices.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASEMAPS",
    "DEFAULT_BASEMAP",
    "DEFAULT_LANG",
    "DEFAULT_ROLE",
    "DEFAULT_UPLOAD_LAYER",
    "DEFAULT_VISIBLE_LAYERS",
    "DETAIL_FEATURE_LIMIT",
    "LANGUAGES",
    "MAP_HEIGHT_PX",
    "MAP_LAYERS",
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

DEFAULT_ROLE: Final = "planner"
"""Until sign-in exists (issue 6) every session acts as a planner; pages already take the
role from :func:`minemap_app.ui.current_role`, so sign-in only has to set it."""

MAP_LAYERS: Final = ("tasks", "hazards", "cleared", "farmland", "strikes", "casualties")
DEFAULT_VISIBLE_LAYERS: Final = ("tasks", "hazards", "cleared", "strikes", "casualties")

BASEMAPS: Final = ("none", "osm")
"""``none``: no tiles, bundled oblast outlines only (works offline); ``osm``: OpenStreetMap
tiles (need internet; the map's own layers still draw without them)."""
DEFAULT_BASEMAP: Final = "none"

MAP_HEIGHT_PX: Final = 620
SIMPLIFY_M: Final = 20.0
"""Douglas–Peucker tolerance (metres) for polygons sent to the browser."""
DETAIL_FEATURE_LIMIT: Final = 20_000
"""Above this many features in view, the map shows the H3 summary unless an oblast is chosen."""
SUMMARY_H3_RESOLUTION: Final = 5
"""≈ 250 km² cells for the national overview."""

WEIGHT_MIN: Final = 0.0
WEIGHT_MAX: Final = 100.0
WEIGHT_STEP: Final = 1.0
"""Weights are relative (only ratios matter); the engine's defaults sum to 100."""

DEFAULT_UPLOAD_LAYER: Final = "hazards"
"""Non-technical survey results are the most common upload."""

MAX_UPLOAD_MB: Final = 200
"""Same as ``server.maxUploadSize`` in .streamlit/config.toml; checked again by the app."""

TABLE_PAGE_ROWS: Final = 500
