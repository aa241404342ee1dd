"""Risk core: strike footprints, the hazard surface and clearance tasks.

Pure functions: GeoDataFrames in, GeoDataFrames / named Series out, no I/O.
"""

from __future__ import annotations

from minemap.risk._spatial import equal_area_crs_for
from minemap.risk.catalogue import (
    MunitionCatalogue,
    MunitionEntry,
    load_catalogue,
    match_munition,
    match_munitions,
)
from minemap.risk.footprints import strike_footprints
from minemap.risk.surface import (
    CASUALTY_BUFFER_M,
    casualty_buffers,
    hazard_surface,
    update_surface,
)
from minemap.risk.tasks import attribute_points, make_tasks

__all__ = [
    "CASUALTY_BUFFER_M",
    "MunitionCatalogue",
    "MunitionEntry",
    "attribute_points",
    "casualty_buffers",
    "equal_area_crs_for",
    "hazard_surface",
    "load_catalogue",
    "make_tasks",
    "match_munition",
    "match_munitions",
    "strike_footprints",
    "update_surface",
]
