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

# Priorities (helper "priority"): farmland impact, weights, score, effort, sensitivity, grid.
from minemap.risk.effort import DEFAULT_EFFORT, EffortParams, estimate_effort
from minemap.risk.exposure import EXPOSURE_DISTANCE_M, people_exposed
from minemap.risk.farmland import (
    compensation_eligible,
    default_land_values,
    farmland_impact,
    load_land_values,
)
from minemap.risk.footprints import strike_footprints
from minemap.risk.grid import h3_summary
from minemap.risk.pipeline import PrioritisationResult, prioritise, rank_tasks
from minemap.risk.priority import priority_components, priority_score
from minemap.risk.sensitivity import kendall_tau_b, rank_sensitivity
from minemap.risk.surface import (
    CASUALTY_BUFFER_M,
    casualty_buffers,
    hazard_surface,
    update_surface,
)
from minemap.risk.tasks import attribute_points, load_kernels, make_tasks
from minemap.risk.weights import Weights, default_weights, load_weights

__all__ = [
    "CASUALTY_BUFFER_M",
    "DEFAULT_EFFORT",
    "EXPOSURE_DISTANCE_M",
    "EffortParams",
    "MunitionCatalogue",
    "MunitionEntry",
    "PrioritisationResult",
    "Weights",
    "attribute_points",
    "casualty_buffers",
    "compensation_eligible",
    "default_land_values",
    "default_weights",
    "equal_area_crs_for",
    "estimate_effort",
    "farmland_impact",
    "h3_summary",
    "hazard_surface",
    "kendall_tau_b",
    "load_catalogue",
    "load_kernels",
    "load_land_values",
    "load_weights",
    "make_tasks",
    "match_munition",
    "match_munitions",
    "people_exposed",
    "prioritise",
    "priority_components",
    "priority_score",
    "rank_sensitivity",
    "rank_tasks",
    "strike_footprints",
    "update_surface",
]
