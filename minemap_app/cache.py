"""Every data access of the web app, cached on simple keys, always on someone's behalf.

Pages never touch the store, the risk engine or the ingest pipeline directly: they call
these wrappers. Cache keys are plain values — the store path, its ``data_version()``, the
reader's **role**, a layer name, filter values, a tuple of weights — never GeoDataFrames
(which hash slowly or not at all). ``st.cache_data`` hands each caller its own copy, so
pages may mutate results — except the map's :func:`filtered_layer` and
:func:`prioritised_tasks`, which return shared, read-only frames (``st.cache_resource``:
no copy of 100,000 parcels per rerun).

Layer data is read only through :func:`minemap.auth.read_layer_for` with the session's
role in the cache key, so a funder's run can never be served a planner's frame; every
wrapper that does something on a person's behalf checks the permission itself
(:func:`minemap.auth.require`) as well as the page — hiding a page is not enforcement.
Every core module is imported directly: an ImportError fails loudly.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from minemap import auth, reports, webmap
from minemap.ingest import ingest_file
from minemap.io import write_layer
from minemap.layers import LAYER_NAMES, get_schema
from minemap.quality import released_overlaps as _released_overlaps
from minemap.risk.pipeline import prioritise
from minemap.risk.weights import COMPONENTS
from minemap.risk.weights import default_weights as _default_weights
from minemap.settings import resolve_store_path
from minemap.store import open_store

__all__ = [
    "account",
    "accounts",
    "add_account",
    "admin_boundaries",
    "audit_csv",
    "audit_log",
    "audit_version",
    "backtest",
    "batches",
    "change_account",
    "check_upload",
    "commit_upload",
    "data_extent",
    "data_version",
    "default_weights",
    "filtered_layer",
    "has_accounts",
    "layer",
    "layer_in_view",
    "layer_summary",
    "oblast_names",
    "prioritisation",
    "prioritised_tasks",
    "record",
    "record_rejection",
    "rejections",
    "released_overlaps",
    "report_file",
    "report_period",
    "rollback",
    "sign_in",
    "sign_out",
    "start_tasks",
    "store_path",
    "task_focus",
    "task_score_extremes",
    "tasks_file",
    "tasks_pending",
    "tasks_when_ready",
    "undo_batch",
    "warm_map",
]

_LOG = logging.getLogger(__name__)


def store_path() -> str:
    """The store this server shows: ``$MINEMAP_STORE`` (set by ``minemap serve``) or default.

    A file path is made absolute; a database URL (``postgresql://…``) is kept as it is.
    """
    location = resolve_store_path()
    return location if "://" in location else os.path.abspath(location)


def _exists(path: str) -> bool:
    return "://" in path or Path(path).exists()


def _open(path: str, *, create: bool = False) -> Any:
    return open_store(path, create=create)


def data_version(path: str) -> int:
    """The store's change counter (0 when no store file exists yet). Not cached: cheap."""
    if not _exists(path):
        return 0
    with _open(path) as store:
        return int(store.data_version())


def audit_version(path: str) -> int:
    """The newest audit entry's id (0 without a store): the cache key of audit views.

    ``data_version`` does not move on audit-only entries (downloads, sign-ins), so views
    of the audit log are keyed on this instead. Not cached: cheap.
    """
    if not _exists(path):
        return 0
    with _open(path) as store:
        return int(store.audit_version())


# --- accounts and sessions (never cached: they must be current on every run) ---------


def has_accounts(path: str) -> bool:
    """Whether the store has any account (a fresh ``minemap serve`` store has none)."""
    if not _exists(path):
        return False
    with _open(path) as store:
        return bool(auth.list_accounts(store))


def sign_in(path: str, name: str, password: str) -> auth.Session:
    """Check a name and password (rate-limited, audited); raises :class:`AuthError`."""
    if not _exists(path):
        raise auth.AuthError("no accounts yet: run `minemap users add NAME --role admin`")
    with _open(path) as store:
        return auth.sign_in(store, name, password)


def account(path: str, token: str | None) -> auth.Account | None:
    """The account of a session token, with its role *now*; ``None`` when it is over."""
    if not token or not _exists(path):
        return None
    with _open(path) as store:
        return auth.session_user(store, token)


def sign_out(path: str, token: str | None) -> None:
    """End the session (audited)."""
    if token and _exists(path):
        with _open(path) as store:
            auth.sign_out(store, token)


def oidc_sign_in(path: str, claims: dict[str, Any], role_map: Any) -> Any:
    """Map a single-sign-on identity to a role (audited); raises :class:`AuthError`."""
    with _open(path, create=True) as store:
        return auth.oidc_sign_in(store, claims, role_map)


def record(path: str, action: str, *, user: str | None, detail: dict[str, Any]) -> None:
    """Append one entry to the store's audit log (what the app did on someone's behalf)."""
    with _open(path, create=True) as store:
        store.record_audit(action, user=user, detail=detail)


# --- layer data, always as a role may see it -------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def layer(path: str, version: int, name: str, role: str | None) -> gpd.GeoDataFrame:
    """One layer as ``role`` may read it (:func:`minemap.auth.read_layer_for`).

    ``version`` is only a cache key: a new ``data_version()`` reads afresh. ``role`` is
    part of the key, so no role is ever served another role's frame.
    """
    del version
    if auth.layer_access(role, name) == "none":
        auth.require(role, "view_map")  # the clear "sign in first" / role message
    if not _exists(path):
        return _empty(name)
    with _open(path) as store:
        return auth.read_layer_for(store, name, role=role)


@st.cache_resource(show_spinner=False, max_entries=16)
def _shared_layer(path: str, version: int, name: str, role: str | None) -> gpd.GeoDataFrame:
    """:func:`layer` as one shared, **read-only** frame for the priority engine (which
    derives new frames and never assigns into its inputs): unpickling 100,000 parcels on
    every engine run as of a new period end cost a fifth of the run."""
    return layer(path, version, name, role)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_summary(
    path: str, version: int, role: str | None
) -> dict[str, tuple[int, date | None, date | None]]:
    """Per layer: (feature count, first date, last date) — small, so reruns copy no frames."""
    out: dict[str, tuple[int, date | None, date | None]] = {}
    for name in LAYER_NAMES:
        frame = _shared_layer(path, version, name, role)  # only read: no copy
        dates = (
            pd.to_datetime(frame["date"], errors="coerce").dropna()
            if "date" in frame
            else pd.Series([], dtype="datetime64[ns]")
        )
        first = dates.min().date() if len(dates) else None
        last = dates.max().date() if len(dates) else None
        out[name] = (len(frame), first, last)
    return out


def _empty(name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"date": pd.Series([], dtype="datetime64[ns]")}, geometry=[], crs=4326)


@st.cache_resource(show_spinner=False)
def admin_boundaries() -> gpd.GeoDataFrame:
    """The bundled oblast outlines (shared, read once per server)."""
    return webmap.admin_boundaries()


def oblast_names(lang: str) -> dict[str, str]:
    """English oblast name (a language-neutral id) → its name in ``lang``, sorted by the latter."""
    admin = admin_boundaries()
    column = "name_en" if lang == "en" else "name_uk"
    pairs = zip(admin["name_en"].astype(str), admin[column].astype(str), strict=True)
    return dict(sorted(pairs, key=lambda pair: pair[1]))


def _oblast_geometry(oblast: str | None) -> Any:
    if not oblast:
        return None
    admin = admin_boundaries()
    match = admin[(admin["name_en"] == oblast) | (admin["name_uk"] == oblast)]
    if match.empty:
        return None
    return match.geometry.union_all()


_EVENT_LAYERS = ("casualties", "strikes")
"""Layers whose records must fall inside the period; the others show the state at its end."""


def filtered_layer(
    path: str,
    version: int,
    name: str,
    role: str | None,
    *,
    date_from: date | None,
    date_to: date | None,
    oblast: str | None,
) -> gpd.GeoDataFrame:
    """A layer (as ``role`` may read it) filtered to a period and an oblast.

    Events (casualties, strikes) must fall inside the period; everything else must have
    been recorded by its end (the situation at ``date_to``). Features intersecting the
    oblast's outline are kept. Aggregate layers have no dates: only the oblast applies.
    Only events depend on ``date_from``, so for the other layers moving the period's
    start reuses the cached entry.

    **Shared and read-only**: unlike the other wrappers this returns the cached frame
    itself (``st.cache_resource``), not a copy — copying 100,000 parcels on every rerun
    cost more than drawing them. Derive new frames from it (``frame[mask]``,
    ``frame.copy()``); never assign into it.
    """
    if name not in _EVENT_LAYERS:
        date_from = None
    if not any(field.name == "date" for field in get_schema(name).fields):
        # undated layers (farmland, settlements) do not change with the period: one entry,
        # one snapshot, so the map reuses their drawn layer (100,000 parcels' H3 cells and
        # GeoJSON) when the period's end moves
        date_to = None
    return _filtered_layer(
        path, version, name, role, date_from=date_from, date_to=date_to, oblast=oblast
    )


@st.cache_resource(show_spinner=False, max_entries=32)
def _filtered_layer(
    path: str,
    version: int,
    name: str,
    role: str | None,
    *,
    date_from: date | None,
    date_to: date | None,
    oblast: str | None,
) -> gpd.GeoDataFrame:
    shared = _shared_layer(path, version, name, role)  # no unpickled copy of the layer
    frame = shared
    if oblast and _oblast_geometry(oblast) is not None and not frame.empty:
        # The spatial part is cached on its own: a new period reuses it.
        frame = frame.iloc[_in_oblast(path, version, name, role, oblast)]
    frame = _filter(frame, name, date_from=date_from, date_to=date_to, oblast=None)
    if frame is shared:  # nothing filtered out: a view of it (copy-on-write) gets the mark
        frame = frame.copy(deep=False)
    # An unchanging snapshot: the map reuses its drawn layer (H3 cells, GeoJSON) by this.
    frame.attrs[webmap.SNAPSHOT_ATTR] = (path, version, role, name, date_from, date_to, oblast)
    return frame


@st.cache_data(show_spinner=False, max_entries=64)
def _in_oblast(path: str, version: int, name: str, role: str | None, oblast: str) -> Any:
    """Positions of the layer's features that intersect the oblast's outline."""
    frame = _shared_layer(path, version, name, role)  # only read: no copy
    return _intersecting(frame.geometry, _oblast_geometry(oblast))


def _intersecting(geometry: gpd.GeoSeries, area: Any) -> Any:
    """Positions of the geometries intersecting ``area``: bounding boxes first, then the
    exact test against the prepared outline for the candidates only."""
    geoms = np.asarray(geometry.array, dtype=object)
    if area is None or len(geoms) == 0:
        return np.arange(len(geoms))
    minx, miny, maxx, maxy = area.bounds
    bounds = shapely.bounds(geoms)
    candidates = np.flatnonzero(
        (bounds[:, 0] <= maxx)
        & (bounds[:, 2] >= minx)
        & (bounds[:, 1] <= maxy)
        & (bounds[:, 3] >= miny)
    )
    shapely.prepare(area)
    return candidates[shapely.intersects(area, geoms[candidates])]


def _filter(
    frame: gpd.GeoDataFrame,
    name: str,
    *,
    date_from: date | None,
    date_to: date | None,
    oblast: str | None,
) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    if "date" in frame.columns:
        dates = pd.to_datetime(frame["date"], errors="coerce")
        keep = pd.Series(True, index=frame.index)
        if date_to is not None:
            keep &= dates.le(pd.Timestamp(date_to)).fillna(True).astype(bool)
        if date_from is not None and name in _EVENT_LAYERS:
            keep &= dates.ge(pd.Timestamp(date_from)).fillna(True).astype(bool)
        frame = frame[keep]
    area = _oblast_geometry(oblast)
    if area is not None and not frame.empty:
        frame = frame.iloc[_intersecting(frame.geometry, area)]
    return frame


# --- priorities --------------------------------------------------------------------------


def default_weights() -> dict[str, float]:
    """The risk engine's default weight per component, in display order."""
    base = _default_weights()
    return {name: float(base.weights[name]) for name in COMPONENTS}


def _weights(weights: tuple[tuple[str, float], ...] | None) -> Any:
    base = _default_weights()
    if not weights or dict(weights) == base.weights:
        return base
    values = {name: float(value) for name, value in weights}
    if sum(values.values()) <= 0:
        raise ValueError("at least one weight must be above zero")
    return base.replace_weights({**base.weights, **values}, suffix="-custom")


@st.cache_data(show_spinner=False, max_entries=32)
def prioritisation(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    as_of: date | None = None,
    sensitivity: bool = False,
) -> Any:
    """``minemap.risk.pipeline.prioritise`` on the layers ``role`` may read.

    Needs ``view_tasks`` (exact hazard geometry). ``as_of`` is the plan's date: the
    engine ignores records dated after it.
    """
    auth.require(role, "view_tasks")
    layers = {name: _shared_layer(path, version, name, role) for name in LAYER_NAMES}
    layers = {name: frame for name, frame in layers.items() if not frame.empty}
    if not _exists(path):
        return prioritise(layers, weights=_weights(weights), as_of=as_of, sensitivity=sensitivity)
    # the hazard surface and the tasks of the last runs (any process) are kept in the
    # store: only the components touched by imports/undos since, or by the records this
    # period end sets aside, are recomputed and cut again (same result as a full run) —
    # the warm-up and every new period end take this path
    with _open(path) as store:
        return prioritise(
            layers,
            weights=_weights(weights),
            as_of=as_of,
            sensitivity=sensitivity,
            surface_cache=store,
        )


@st.cache_resource(show_spinner=False, max_entries=16)
def prioritised_tasks(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> gpd.GeoDataFrame:
    """Ranked tasks for the map: as of ``date_to``, within ``oblast`` if given.

    Cached on its own and **shared, read-only** like :func:`filtered_layer` (no copy per
    rerun); marked as a snapshot (:data:`minemap.webmap.SNAPSHOT_ATTR`) so the
    map reuses their drawn layer.
    """
    tasks = prioritisation(path, version, role, weights, as_of=date_to).tasks
    area = _oblast_geometry(oblast)
    if area is not None and not tasks.empty:
        tasks = tasks.iloc[_intersecting(tasks.geometry, area)]
    snapshot = (path, version, role, "tasks", weights, date_to, oblast)
    tasks.attrs[webmap.SNAPSHOT_ATTR] = snapshot
    return tasks


@st.cache_data(show_spinner=False, max_entries=16)
def data_extent(path: str, version: int, role: str | None) -> tuple[float, ...] | None:
    """Where the Map page opens: the extent of the layers ``role`` reads exactly, over the
    whole period (the default view's cached frames), widened outward to 0.05°; ``None``
    when there are none. Independent of the filters, so a filter change does not move
    the kept map."""
    summary = layer_summary(path, version, role)
    date_from, date_to = _default_period(summary)
    boxes = []
    for name in LAYER_NAMES:
        if auth.layer_access(role, name) not in ("full", "exact"):
            continue
        frame = filtered_layer(
            path, version, name, role, date_from=date_from, date_to=date_to, oblast=None
        )
        if not frame.empty:
            boxes.append(frame.total_bounds)
    if not boxes:
        return None
    arr = np.array(boxes, dtype=float)
    step = 0.05
    return (
        float(np.floor(arr[:, 0].min() / step) * step),
        float(np.floor(arr[:, 1].min() / step) * step),
        float(np.ceil(arr[:, 2].max() / step) * step),
        float(np.ceil(arr[:, 3].max() / step) * step),
    )


_TASK_JOBS: dict[tuple[Any, ...], threading.Thread] = {}
_TASK_JOBS_LOCK = threading.Lock()


def start_tasks(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> threading.Thread:
    """Start :func:`prioritised_tasks` for these arguments in a background thread.

    One thread per key (a call while it runs, or after it ended, returns the same thread):
    the Map page starts the engine as soon as it knows the filters, so the run overlaps the
    filtering and drawing of the other layers, and :func:`tasks_when_ready` waits for it.
    """
    key = (path, version, role, weights, date_to, oblast)
    with _TASK_JOBS_LOCK:
        job = _TASK_JOBS.get(key)
        if job is None:

            def run() -> None:
                try:
                    prioritised_tasks(path, version, role, weights, date_to=date_to, oblast=oblast)
                except Exception as exc:  # the page calls again and shows the message
                    _LOG.warning("computing the map's tasks failed: %s", type(exc).__name__)

            job = threading.Thread(target=run, name="minemap-map-tasks", daemon=True)
            _TASK_JOBS[key] = job
            while len(_TASK_JOBS) > 64:  # forget the oldest finished runs
                oldest = next(iter(_TASK_JOBS))
                if _TASK_JOBS[oldest].is_alive():
                    break
                del _TASK_JOBS[oldest]
            job.start()
    return job


def tasks_when_ready(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
    wait_s: float = 0.5,
) -> gpd.GeoDataFrame | None:
    """:func:`prioritised_tasks`, or ``None`` while the engine is still running for it.

    The first call for a key starts the run (:func:`start_tasks`, unless started already)
    and waits up to ``wait_s`` (an entry already cached comes back at once); later calls
    return ``None`` until the thread is done, then the cached tasks (or raise the engine's
    error). The Map page draws every other layer meanwhile and reruns when the tasks are
    ready.
    """
    job = start_tasks(path, version, role, weights, date_to=date_to, oblast=oblast)
    job.join(timeout=max(0.0, wait_s))
    if job.is_alive():
        return None
    return prioritised_tasks(path, version, role, weights, date_to=date_to, oblast=oblast)


def tasks_pending(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> bool:
    """Whether :func:`tasks_when_ready`'s run for these arguments is still going."""
    job = _TASK_JOBS.get((path, version, role, weights, date_to, oblast))
    return job is not None and job.is_alive()


def _default_period(summary: dict[str, tuple[int, date | None, date | None]]) -> Any:
    firsts = [first for _, first, _ in summary.values() if first is not None]
    lasts = [last for _, _, last in summary.values() if last is not None]
    return (min(firsts), max(lasts)) if firsts else (None, None)


def warm_map(path: str) -> threading.Thread | None:
    """Start computing what the Map page's first view needs, once per store version.

    Called when the server starts (:mod:`minemap_app.server`) and by the router on every
    run; starts :func:`_warm_map` for a version not seen before. A store that cannot be
    read starts nothing (the pages show the error).
    """
    try:
        version = data_version(path)
    except Exception as exc:  # the pages that read the store show the message
        _LOG.warning("not warming the map: %s", type(exc).__name__)
        return None
    return _warm_map(path, version)


@st.cache_resource(show_spinner=False, max_entries=4)
def _warm_map(path: str, version: int) -> threading.Thread | None:
    """The background run behind :func:`warm_map`, once per (store, version).

    Runs in a background thread, started when the server starts (:mod:`minemap_app.server`,
    before any browser connects) and by the router on the first run that sees a new
    ``version`` (the data changed): for each of :data:`WARM_ROLES`, the priority engine's
    run as of the period's end with the default weights (:func:`start_tasks`, so the Map
    page waits for this run rather than starting its own), meanwhile the layers filtered to
    the full period and the map's opening extent — the cache entries the map's default
    view asks for. A page that needs one of them while it is being computed waits for it
    (Streamlit computes one cache entry once) instead of starting a second run. Errors are
    left to the page that needs the value (it shows them as messages); the thread ends when
    the engine's run has.
    """
    if not version:
        return None

    def attempt(role: str, compute: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return compute(*args, **kwargs)
        except Exception as exc:  # the page recomputes it and shows the message
            # Only the error's type: its text could quote data.
            _LOG.warning("warming the map for %s failed: %s", role, type(exc).__name__)
            return None

    def run() -> None:
        for role in WARM_ROLES:
            summary = attempt(role, layer_summary, path, version, role)
            if summary is None:
                continue
            date_from, date_to = _default_period(summary)
            # The engine's run first (the longest part), as the page's own background run
            # of the tasks: the page's tasks_when_ready then waits for this very thread.
            # It logs its own failure by type; the page shows the message.
            tasks = start_tasks(path, version, role, None, date_to=date_to, oblast=None)
            for name in LAYER_NAMES:
                attempt(
                    role,
                    filtered_layer,
                    *(path, version, name, role),
                    date_from=date_from,
                    date_to=date_to,
                    oblast=None,
                )
            attempt(role, data_extent, path, version, role)
            attempt(role, admin_boundaries)  # the oblast outlines and names
            tasks.join()

    thread = threading.Thread(target=run, name="minemap-warm-map", daemon=True)
    thread.start()
    return thread


WARM_ROLES: tuple[str, ...] = ("planner",)
"""Roles whose default map view (with priority tasks) is computed ahead of the first visit:
planners, the map's main users. Field teams' first view computes its own entry (the cache
is keyed on the role); warming it too would double the engine's CPU at every start."""


@st.cache_data(show_spinner=False, max_entries=16)
def tasks_file(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    fmt: str,
) -> bytes:
    """The ranked tasks as a GeoPackage, GeoJSON or CSV file (``download_layers``)."""
    auth.require(role, "download_layers")
    tasks = prioritisation(path, version, role, weights).tasks
    with tempfile.TemporaryDirectory(prefix="minemap-export-") as folder:
        target = Path(folder) / f"minemap_tasks.{fmt}"
        write_layer(tasks, target)
        return target.read_bytes()


# --- uploads and batches -------------------------------------------------------------------

_SAFE_SUFFIX = frozenset(
    {".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".csv", ".txt"}
)


def _upload_suffix(name: str) -> str:
    # The user's file name is a label only; at most a known suffix is kept as a hint.
    suffix = Path(name).suffix.lower()
    return suffix if suffix in _SAFE_SUFFIX else ".upload"


@st.cache_data(show_spinner=False, max_entries=16)
def check_upload(
    path: str, version: int, role: str | None, layer_name: str, file_name: str, data: bytes
) -> Any:
    """Dry-run ``minemap.ingest.ingest_file`` on uploaded bytes: the full report, no write."""
    del version  # only a cache key: a duplicate check depends on the store's content
    auth.require(role, "upload")
    return _ingest_bytes(path, layer_name, file_name, data, dry_run=True, user=None)


def commit_upload(
    path: str,
    layer_name: str,
    file_name: str,
    data: bytes,
    *,
    role: str | None,
    user: str | None,
) -> Any:
    """Import one uploaded file for real (all of it or nothing), as ``user`` (audited)."""
    auth.require(role, "upload")
    return _ingest_bytes(path, layer_name, file_name, data, dry_run=False, user=user)


def _ingest_bytes(
    path: str, layer_name: str, file_name: str, data: bytes, *, dry_run: bool, user: str | None
) -> Any:
    with tempfile.TemporaryDirectory(prefix="minemap-upload-") as folder:
        target = Path(folder) / f"upload{_upload_suffix(file_name)}"
        target.write_bytes(data)
        return ingest_file(
            target, layer_name, store=path, dry_run=dry_run, user=user, display_name=file_name
        )


def batches(path: str, version: int, role: str | None, user: str | None) -> list[Any]:
    """The batches ``role`` may see (all, or ``user``'s own), newest first. Not cached."""
    del version
    if not _exists(path):
        auth.require(role, "view_own_batches")
        return []
    with _open(path) as store:
        found = auth.batches_for(store, role=role, user=user)
    return sorted(found, key=lambda b: b.created_at, reverse=True)


def record_rejection(path: str, result: Any, *, user: str | None) -> None:
    """Write a rejected upload to the store's audit log (``rejected``)."""
    record(
        path,
        "rejected",
        user=user,
        detail={
            "file": result.file,
            "layer": result.layer,
            "errors": len(result.report.errors),
            # Problem texts never carry personal data (minemap._report rule).
            "problems": [str(p) for p in result.report.errors[:20]],
        },
    )


@st.cache_data(show_spinner=False, max_entries=16)
def rejections(path: str, version: int, role: str | None, user: str | None) -> pd.DataFrame:
    """Rejected uploads (newest first): every one for planners, one's own for field teams.

    ``version`` is :func:`audit_version` (rejections are audit entries only).
    """
    del version
    auth.require(role, "view_own_batches")
    empty = pd.DataFrame(columns=["at", "user", "action", "detail"])
    if not _exists(path):
        return empty
    with _open(path) as store:
        log = store.audit_log()
    log = log[log["action"] == "rejected"]
    if not auth.can(role, "view_batches"):
        log = log[log["user"] == user]
    return log.sort_values("at", ascending=False)


def undo_batch(path: str, batch_id: str, *, role: str | None, user: str | None) -> Any:
    """Undo one batch (all its rows leave the store; audited); clears the data caches."""
    auth.require(role, "undo_batch")
    with _open(path) as store:
        record_ = store.undo_batch(batch_id, user=user)
    st.cache_data.clear()
    return record_


def rollback(path: str, batch_id: str, *, role: str | None, user: str | None) -> Any:
    """Take back a batch this very import just made (all-or-nothing across files)."""
    auth.require(role, "upload")
    with _open(path) as store:
        return store.undo_batch(batch_id, user=user)


# --- data quality ----------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def released_overlaps(path: str, version: int, role: str | None) -> pd.DataFrame:
    """Pairs of released polygons that overlap (:func:`minemap.quality.released_overlaps`)."""
    return _released_overlaps(layer(path, version, "cleared", role))


# --- reports -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def report_file(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    start: date | None,
    end: date | None,
    area: str | None,
    lang: str,
    fmt: str,
) -> bytes:
    """The funder report (``minemap.reports``) as PDF/XLSX/CSV bytes (``download_reports``).

    Built from :func:`minemap.auth.report_inputs_for` (exact, non-personal frames) inside
    this one function: only the rendered bytes leave it, never the frames.
    """
    auth.require(role, "download_reports")
    if not _exists(path):
        raise ValueError("the data store is empty: nothing to report yet")
    with _open(path) as store:
        layers = auth.report_inputs_for(store, role=role)
        history = store.list_batches()
    present = {name: frame for name, frame in layers.items() if not frame.empty}
    result = prioritise(present, weights=_weights(weights), as_of=end) if present else None
    report = reports.build_report(
        layers,
        start=start,
        end=end,
        area=area,
        boundaries=admin_boundaries() if area else None,
        tasks=None if result is None else pd.DataFrame(result.tasks.drop(columns="geometry")),
        batches=history,
        weights_version=None
        if result is None
        else f"{result.weights.name} {result.weights.version}",
    )
    return reports.render(report, fmt, lang=lang)


@st.cache_data(show_spinner=False, max_entries=16)
def report_period(path: str, version: int, role: str | None) -> tuple[date, date] | None:
    """First and last record date of the report's inputs (``view_reports``); only dates
    leave this function, never the frames."""
    del version
    auth.require(role, "view_reports")
    if not _exists(path):
        return None
    with _open(path) as store:
        layers = auth.report_inputs_for(store, role=role)
    dates = [
        d
        for name in ("cleared", "hazards", "casualties")
        for d in pd.to_datetime(layers[name]["date"], errors="coerce").dropna()
    ]
    if not dates:
        return None
    return min(dates).date(), max(dates).date()


# --- back-testing ------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def backtest(
    path: str,
    version: int,
    role: str | None,
    *,
    as_of: date,
    until: date | None,
    weights: tuple[tuple[str, str | None], ...],
    n_boot: int,
    n_folds: int | None = None,
    block_size_m: float = 10_000.0,
) -> dict[str, Any]:
    """``minemap.backtest.evaluate.backtest`` on the layers ``role`` may read.

    ``weights`` holds ``(label, TOML text)`` pairs; ``None`` text is the shipped default.
    ``n_folds``/``block_size_m``: the spatial block hold-out. Returns plain values only
    (``BacktestResult.to_dict()``: scores, curves, verdict and warning statements, run
    records, block figures — no frames).
    """
    from minemap.backtest.evaluate import backtest as run
    from minemap.risk.weights import parse_weights

    auth.require(role, "change_weights")
    sets = [None if text is None else parse_weights(text, source=label) for label, text in weights]
    layers = {name: layer(path, version, name, role) for name in LAYER_NAMES}
    layers = {name: frame for name, frame in layers.items() if not frame.empty}
    result = run(
        layers,
        as_of=as_of,
        until=until,
        weights=sets or [None],
        n_boot=n_boot,
        n_folds=n_folds,
        block_size_m=block_size_m,
    )
    return result.to_dict()


# --- admin -------------------------------------------------------------------------------------


def accounts(path: str, role: str | None) -> list[auth.Account]:
    """Every account (``manage_users``). Not cached: small and must be current."""
    auth.require(role, "manage_users")
    with _open(path) as store:
        return auth.list_accounts(store)


def add_account(
    path: str, name: str, *, new_role: str, password: str, role: str | None, by: str | None
) -> auth.Account:
    """Add a local account (``manage_users``; audited by the core)."""
    auth.require(role, "manage_users")
    with _open(path) as store:
        return auth.add_user(store, name, role=new_role, password=password, by=by)


def change_account(
    path: str, name: str, change: str, *, value: str | None = None, role: str | None, by: str | None
) -> auth.Account:
    """Disable, enable, change the role of, or set a new password for an account."""
    auth.require(role, "manage_users")
    with _open(path) as store:
        if change == "disable":
            return auth.disable_user(store, name, by=by)
        if change == "enable":
            return auth.enable_user(store, name, by=by)
        if change == "role":
            return auth.set_role(store, name, str(value), by=by)
        if change == "password":
            return auth.set_password(store, name, str(value), by=by)
    raise ValueError(f"unknown account change {change!r}")


@st.cache_data(show_spinner=False, max_entries=8)
def audit_log(path: str, version: int, role: str | None) -> pd.DataFrame:
    """The audit log, newest first (``view_audit``); ``version`` is :func:`audit_version`."""
    del version
    auth.require(role, "view_audit")
    with _open(path) as store:
        log = auth.audit_log_for(store, role=role)
    return log.sort_values("id", ascending=False) if "id" in log else log


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    # File names come from uploads: a cell starting with "=" must not run in a spreadsheet.
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    elif value is None or pd.isna(value):
        text = ""
    else:
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def audit_csv(path: str, version: int, role: str | None) -> bytes:
    """The audit log as CSV bytes (``export_audit``), formula-safe cells.

    ``version`` is :func:`audit_version`.
    """
    auth.require(role, "export_audit")
    log = audit_log(path, version, role)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at", "user", "action", "detail"])
    for row in log.sort_values("id").itertuples(index=False):
        writer.writerow(
            [_csv_cell(getattr(row, c, None)) for c in ("id", "at", "user", "action", "detail")]
        )
    return buffer.getvalue().encode("utf-8")


# --- detail in view (issue 4): only the features in the map's view ---------------------


@st.cache_resource(show_spinner=False, max_entries=32)
def _view_index(
    path: str,
    version: int,
    name: str,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    date_from: date | None,
    date_to: date | None,
    oblast: str | None,
) -> Any:
    """A layer's spatial index (``minemap.mapview.ViewIndex``), built once per filter set.

    ``st.cache_resource``: one shared, read-only object (no copy of the frame per pan).
    Tasks are ordered by rank, so a cap keeps the highest priorities.
    """
    from minemap import mapview

    if name == "tasks":
        tasks = prioritised_tasks(path, version, role, weights, date_to=date_to, oblast=oblast)
        return mapview.ViewIndex(tasks, order=tasks["priority_rank"], name="tasks")
    frame = filtered_layer(
        path, version, name, role, date_from=date_from, date_to=date_to, oblast=oblast
    )
    return mapview.ViewIndex(frame, name=name)


@st.cache_data(show_spinner=False, max_entries=256)
def layer_in_view(
    path: str,
    version: int,
    name: str,
    role: str | None,
    *,
    bounds: tuple[float, float, float, float],
    zoom: int,
    cap: int,
    weights: tuple[tuple[str, float], ...] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    oblast: str | None = None,
) -> Any:
    """The features of one layer in ``bounds`` (snapped view), simplified for ``zoom``.

    Returns a ``minemap.mapview.ViewSlice`` (at most ``cap`` features and how many there
    were). Only for layers ``role`` may read feature by feature: roles that get H3
    aggregates (funders, admins) are refused here whatever the zoom, as the page refuses
    them too. ``tasks`` needs ``view_tasks``.
    """
    from minemap import mapview
    from minemap._errors import AccessDenied

    if name == "tasks":
        auth.require(role, "view_tasks")
    elif auth.layer_access(role, name) not in ("full", "exact"):
        raise AccessDenied(
            f"the {name} layer is shown to this role only as H3 aggregates, never as features"
        )
    if name == "tasks":  # tasks are ranked as of date_to; the period's start does not apply
        date_from = None
    else:
        weights = None
    index = _view_index(path, version, name, role, weights, date_from, date_to, oblast)
    return index.query(bounds, cap=cap, simplify_m=mapview.simplify_tolerance_m(zoom))


def task_focus(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    task_id: str,
) -> gpd.GeoDataFrame:
    """The one ranked task ``task_id`` (geometry and rank) to centre the map on; empty if gone."""
    tasks = prioritisation(path, version, role, weights).tasks
    match = tasks[tasks["task_id"].astype(str) == str(task_id)]
    return match[["task_id", "priority_rank", "geometry"]]


def task_score_extremes(
    path: str,
    version: int,
    role: str | None,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> gpd.GeoDataFrame:
    """The top- and bottom-ranked task (at most two rows) of the map's ranking.

    Sent with every view of tasks so the colour classes span all tasks' scores, not only
    those in view (the map classes scores between the lowest and highest it is given).
    """
    auth.require(role, "view_tasks")
    index = _view_index(path, version, "tasks", role, weights, None, date_to, oblast)
    frame = index.frame
    return frame.iloc[[0, len(frame) - 1]].drop_duplicates("task_id") if len(frame) else frame
