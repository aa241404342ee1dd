"""The one place that decides what a role may do and read.

Every read of layer data on behalf of a person goes through :func:`read_layer_for`;
every permission check through :func:`can` / :func:`require`. The rules themselves
are the tables in :mod:`minemap.auth.roles`.

Guarantees (tested in ``tests/auth/test_access.py``):

- personal fields are never even selected from the store for a role without
  ``read_personal`` (the store's ``include_personal=False``);
- extra (non-schema) source columns reach the planner only;
- an ``"aggregate"`` layer comes back as counts per coarse H3 cell: no feature
  geometry, no ids, no free text — a funder's frame holds no exact casualty point and
  no uncleared hazard outline;
- an unknown role, or no role (not signed in), may do and read nothing.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from minemap._errors import AccessDenied
from minemap.auth.roles import ACTIONS, POLICIES, LayerAccess
from minemap.geometry import area_m2
from minemap.layers import LAYER_NAMES, get_schema
from minemap.settings import STORAGE_CRS
from minemap.store._base import BatchRecord, Store

__all__ = [
    "AGGREGATE_H3_RESOLUTION",
    "COUNT_BANDS",
    "AccessDenied",
    "aggregate_layer",
    "audit_log_for",
    "batches_for",
    "can",
    "count_band",
    "layer_access",
    "read_layer_for",
    "report_inputs_for",
    "require",
]

AGGREGATE_H3_RESOLUTION = 5
"""H3 resolution of aggregate layers: cells of ≈ 250 km² (edge ≈ 9 km), the same as the
app's national overview. Coarse enough that no cell pins down a field or a house."""

COUNT_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (1, 4, "1-4"),
    (5, 9, "5-9"),
    (10, 49, "10-49"),
    (50, None, "50+"),
)
"""Bands in which casualty counts per cell are shown to roles without exact access.

People-counts are never shown exactly outside the planner and field roles: a cell with
"1 incident, 1 killed" next to a local news item identifies a family. The first band
ends below 5, the report's small-count threshold (``minemap.reports.privacy.THRESHOLD``;
a test keeps them equal)."""

_PEOPLE_COUNTS: dict[str, tuple[str, ...]] = {"casualties": ("killed", "injured")}
"""Per-layer columns that count people; aggregated only as a banded total."""


def count_band(count: int) -> str:
    """The band (:data:`COUNT_BANDS`) of a positive count; ``"0"`` for zero.

    Examples
    --------
    >>> count_band(0), count_band(4), count_band(5), count_band(120)
    ('0', '1-4', '5-9', '50+')
    """
    if count <= 0:
        return "0"
    for low, high, label in COUNT_BANDS:
        if count >= low and (high is None or count <= high):
            return label
    raise AssertionError(count)  # pragma: no cover - the bands cover every count


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known actions: {', '.join(ACTIONS)}")


def can(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action``.

    Parameters
    ----------
    role : str or None
        The signed-in person's role; ``None`` (nobody signed in) or an unknown role
        may do nothing.
    action : str
        A key of :data:`minemap.auth.roles.ACTIONS`.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        ``action`` is not a known action (a typo must not silently deny or allow).

    Examples
    --------
    >>> can("planner", "undo_batch"), can("funder", "undo_batch"), can(None, "view_map")
    (True, False, False)
    """
    _check_action(action)
    policy = POLICIES.get(role) if role is not None else None
    return policy is not None and action in policy.actions


def require(role: str | None, action: str) -> None:
    """Raise :class:`AccessDenied` unless ``role`` may do ``action``.

    The message names the role and the action in plain words and says who may.
    """
    if can(role, action):
        return
    if role is None:
        raise AccessDenied(f"sign in first: {ACTIONS[action].lower()} needs an account")
    allowed = [r for r, p in POLICIES.items() if action in p.actions]
    if role not in POLICIES:
        raise AccessDenied(
            f"{role!r} is not a minemap role (roles: {', '.join(POLICIES)}); "
            "ask an admin to fix the account"
        )
    raise AccessDenied(
        f"the {role} role may not {ACTIONS[action].lower()}; "
        f"allowed for: {', '.join(allowed) or 'nobody'}"
    )


def layer_access(role: str | None, layer: str) -> LayerAccess:
    """How ``role`` may read ``layer``: ``"full"``, ``"exact"``, ``"aggregate"`` or ``"none"``.

    Raises
    ------
    ValueError
        ``layer`` is not a canonical layer.
    """
    get_schema(layer)
    policy = POLICIES.get(role) if role is not None else None
    return "none" if policy is None else policy.layers[layer]


def read_layer_for(store: Store, layer: str, *, role: str | None) -> gpd.GeoDataFrame:
    """Read ``layer`` from ``store`` as ``role`` may see it.

    Parameters
    ----------
    store : minemap.store.Store
        An open store.
    layer : str
        Canonical layer name.
    role : str or None
        The signed-in person's role.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326. ``"full"``: the store's canonical frame with personal fields and
        extra columns. ``"exact"``: schema fields without personal ones, ``batch_id``,
        geometry. ``"aggregate"``: :func:`aggregate_layer` of the exact frame.

    Raises
    ------
    AccessDenied
        The role may not read this layer at all (or nobody is signed in).
    """
    access = layer_access(role, layer)
    if access == "none":
        if role is None:
            raise AccessDenied(f"sign in first: reading the {layer} layer needs an account")
        raise AccessDenied(f"the {role} role may not read the {layer} layer")
    if access == "full":
        return store.read_layer(layer, include_personal=True)
    exact = _exact(store, layer)
    if access == "exact":
        return exact
    return aggregate_layer(exact, layer)


def aggregate_layer(
    frame: gpd.GeoDataFrame, layer: str, *, resolution: int = AGGREGATE_H3_RESOLUTION
) -> gpd.GeoDataFrame:
    """Counts per H3 cell: the only form of a sensitive layer some roles may see.

    Points are placed by their position, polygons by a representative point inside
    them; features without geometry are left out.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        A canonical layer frame in EPSG:4326.
    layer : str
        Its canonical layer name.
    resolution : int, default :data:`AGGREGATE_H3_RESOLUTION`
        H3 resolution of the cells.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell, sorted by cell, geometry the cell's hexagon
        (EPSG:4326). Casualties: ``h3_cell``, ``incidents_band`` and
        ``casualties_band`` (killed + injured), both as :func:`count_band` labels — no
        exact counts of people. Other layers: ``h3_cell``, ``features`` (count), and
        ``area_ha`` for polygonal layers.
    """
    schema = get_schema(layer)
    people = [c for c in _PEOPLE_COUNTS.get(layer, ()) if c in frame.columns]
    geoms = frame.geometry
    placed = geoms.notna() & ~geoms.is_empty
    work = frame.loc[placed]
    anchors = shapely.point_on_surface(work.geometry.array)
    cells = [
        h3.latlng_to_cell(y, x, resolution)
        for x, y in zip(shapely.get_x(anchors), shapely.get_y(anchors), strict=True)
    ]
    table = pd.DataFrame({"h3_cell": pd.array(cells, dtype="str")}, index=work.index)
    if people:
        table["people"] = sum(work[c].astype("Int64").fillna(0) for c in people)
    if schema.is_polygonal:
        table["area_ha"] = area_m2(work) / 10_000.0
    grouped = table.groupby("h3_cell", sort=True)
    counts = grouped.size().astype("int64")
    if people:
        out = pd.DataFrame(
            {
                "incidents_band": pd.array([count_band(n) for n in counts], dtype="str"),
                "casualties_band": pd.array(
                    [count_band(int(n)) for n in grouped["people"].sum()], dtype="str"
                ),
            },
            index=counts.index,
        )
    else:
        out = counts.rename("features").to_frame()
        if schema.is_polygonal:
            out["area_ha"] = grouped["area_ha"].sum().astype("float64")
    out = out.reset_index()
    hexagons = [
        shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
        for cell in out["h3_cell"]
    ]
    return gpd.GeoDataFrame(
        out, geometry=np.asarray(hexagons, dtype=object) if hexagons else [], crs=STORAGE_CRS
    )


def report_inputs_for(store: Store, *, role: str | None) -> dict[str, gpd.GeoDataFrame]:
    """Every layer as input for a funder-safe report, for roles that may get reports.

    Reports (``minemap.reports``) need exact, non-personal geometry to compute their
    figures and coarse maps; what they *output* is funder-safe (whitelisted fields,
    small counts suppressed). These frames are therefore for the server-side report
    build only: pass them straight to ``minemap.reports.build_report`` inside one
    function, never into session state, a page, or a download.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Per layer: schema fields without personal ones, ``batch_id``, geometry (no
        extra source columns; personal fields never selected).

    Raises
    ------
    AccessDenied
        The role may not see reports (``view_reports``).
    """
    require(role, "view_reports")
    return {layer: _exact(store, layer) for layer in LAYER_NAMES}


def _exact(store: Store, layer: str) -> gpd.GeoDataFrame:
    frame = store.read_layer(layer, include_personal=False)
    schema = get_schema(layer)
    personal = set(schema.personal_fields)
    keep = [f for f in schema.field_names if f not in personal] + ["batch_id"]
    return frame[[c for c in keep if c in frame.columns] + [frame.geometry.name]]


def audit_log_for(store: Store, *, role: str | None) -> pd.DataFrame:
    """The audit log, for roles that may see it (:func:`require` ``view_audit``)."""
    require(role, "view_audit")
    return store.audit_log()


def batches_for(store: Store, *, role: str | None, user: str | None) -> list[BatchRecord]:
    """The import batches ``role`` may see: every batch (``view_batches``), or only
    those ``user`` imported (``view_own_batches``).

    Raises
    ------
    AccessDenied
        The role may see no batches.
    """
    if can(role, "view_batches"):
        return store.list_batches()
    require(role, "view_own_batches")
    if not user:
        return []
    return [b for b in store.list_batches() if b.user == user]
