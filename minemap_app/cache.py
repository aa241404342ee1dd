"""Every data access of the web app, cached on simple keys.

Pages never touch the store, the risk engine or the ingest pipeline directly: they call
these wrappers. Cache keys are plain values — the store path, its ``data_version()``, a
layer name, filter values, a tuple of weights — never GeoDataFrames (which hash slowly or
not at all). ``st.cache_data`` hands each caller its own copy, so pages may mutate results.

Backends that are not installed in this build (the modules land on ``main`` one by one)
are reported by :func:`backends` so that pages can *say* what is missing instead of
showing invented results.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from minemap import webmap
from minemap.layers import LAYER_NAMES
from minemap.settings import resolve_store_path

__all__ = [
    "Backends",
    "admin_boundaries",
    "backends",
    "batches",
    "check_upload",
    "commit_upload",
    "data_version",
    "default_weights",
    "filtered_layer",
    "layer",
    "oblast_names",
    "prioritisation",
    "prioritised_tasks",
    "store_path",
    "tasks_file",
    "undo_batch",
]


@dataclass(frozen=True, slots=True)
class Backends:
    """Which core modules this build has."""

    store: bool
    export: bool
    risk: bool
    ingest: bool
    reports: bool


@functools.cache
def _has(module: str) -> bool:
    # Import for real: a module can exist while a module it needs is not merged yet.
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def backends() -> Backends:
    """Which of store / risk / ingest / reports are importable."""
    return Backends(
        store=_has("minemap.store"),
        export=_has("minemap.io"),
        risk=_has("minemap.risk.pipeline"),
        ingest=_has("minemap.ingest"),
        reports=_has("minemap.reports"),
    )


def store_path() -> str:
    """The store this server shows: ``$MINEMAP_STORE`` (set by ``minemap serve``) or default."""
    return os.path.abspath(resolve_store_path())


def _open(path: str, *, create: bool = False) -> Any:
    from minemap.store import open_store

    return open_store(path, create=create)


def data_version(path: str) -> int:
    """The store's change counter (0 when no store file exists yet). Not cached: cheap."""
    if not backends().store or not Path(path).exists():
        return 0
    with _open(path) as store:
        return int(store.data_version())


@st.cache_data(show_spinner=False, max_entries=64)
def layer(path: str, version: int, name: str) -> gpd.GeoDataFrame:
    """One canonical layer (personal fields never included: no page needs them).

    ``version`` is only a cache key: a new ``data_version()`` reads afresh.
    """
    del version
    if not backends().store or not Path(path).exists():
        return _empty(name)
    with _open(path) as store:
        return store.read_layer(name, include_personal=False)


def _empty(name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"date": pd.Series([], dtype="datetime64[ns]")}, geometry=[], crs=4326)


@st.cache_resource(show_spinner=False)
def admin_boundaries() -> gpd.GeoDataFrame:
    """The bundled oblast outlines (shared, read once per server)."""
    return webmap.admin_boundaries()


def oblast_names(lang: str) -> list[str]:
    """Oblast names in ``lang`` for the filter, alphabetically."""
    column = "name_en" if lang == "en" else "name_uk"
    return sorted(admin_boundaries()[column].dropna().astype(str).tolist())


def _oblast_geometry(oblast: str | None) -> Any:
    if not oblast:
        return None
    admin = admin_boundaries()
    match = admin[(admin["name_en"] == oblast) | (admin["name_uk"] == oblast)]
    if match.empty:
        return None
    return match.geometry.union_all()


@st.cache_data(show_spinner=False, max_entries=128)
def filtered_layer(
    path: str,
    version: int,
    name: str,
    *,
    date_from: date | None,
    date_to: date | None,
    oblast: str | None,
) -> gpd.GeoDataFrame:
    """A layer filtered to a period and an oblast.

    Events (casualties, strikes) must fall inside the period; everything else must have
    been recorded by its end (the situation at ``date_to``). Features intersecting the
    oblast's outline are kept.
    """
    frame = layer(path, version, name)
    return _filter(frame, name, date_from=date_from, date_to=date_to, oblast=oblast)


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
        if date_from is not None and name in ("casualties", "strikes"):
            keep &= dates.ge(pd.Timestamp(date_from)).fillna(True).astype(bool)
        frame = frame[keep]
    area = _oblast_geometry(oblast)
    if area is not None and not frame.empty:
        frame = frame[frame.geometry.intersects(area)]
    return frame


def default_weights() -> dict[str, float]:
    """The risk engine's default weight per component, in display order."""
    from minemap.risk.weights import COMPONENTS, default_weights

    base = default_weights()
    return {name: float(base.weights[name]) for name in COMPONENTS}


def _weights(weights: tuple[tuple[str, float], ...] | None) -> Any:
    from minemap.risk.weights import default_weights

    base = default_weights()
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
    weights: tuple[tuple[str, float], ...] | None,
    *,
    as_of: date | None = None,
    sensitivity: bool = False,
) -> Any:
    """``minemap.risk.pipeline.prioritise`` on the store's layers (a ``PrioritisationResult``).

    ``as_of`` is the plan's date: the engine ignores records dated after it.
    """
    from minemap.risk.pipeline import prioritise

    layers = {name: layer(path, version, name) for name in LAYER_NAMES}
    layers = {name: frame for name, frame in layers.items() if not frame.empty}
    return prioritise(layers, weights=_weights(weights), as_of=as_of, sensitivity=sensitivity)


def prioritised_tasks(
    path: str,
    version: int,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> gpd.GeoDataFrame:
    """Ranked tasks for the map: as of ``date_to``, within ``oblast`` if given."""
    tasks = prioritisation(path, version, weights, as_of=date_to).tasks
    area = _oblast_geometry(oblast)
    if area is not None and not tasks.empty:
        tasks = tasks[tasks.geometry.intersects(area)]
    return tasks


@st.cache_data(show_spinner=False, max_entries=16)
def tasks_file(
    path: str, version: int, weights: tuple[tuple[str, float], ...] | None, fmt: str
) -> bytes:
    """The ranked tasks as a GeoPackage, GeoJSON or CSV file (via ``minemap.io.write_layer``)."""
    import tempfile

    from minemap.io import write_layer

    tasks = prioritisation(path, version, weights).tasks
    with tempfile.TemporaryDirectory(prefix="minemap-export-") as folder:
        target = Path(folder) / f"minemap_tasks.{fmt}"
        write_layer(tasks, target)
        return target.read_bytes()


_SAFE_SUFFIX = frozenset(
    {".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".csv", ".txt"}
)


def _upload_suffix(name: str) -> str:
    # The user's file name is a label only; at most a known suffix is kept as a hint.
    suffix = Path(name).suffix.lower()
    return suffix if suffix in _SAFE_SUFFIX else ".upload"


@st.cache_data(show_spinner=False, max_entries=16)
def check_upload(path: str, version: int, layer_name: str, file_name: str, data: bytes) -> Any:
    """Dry-run ``minemap.ingest.ingest_file`` on uploaded bytes: the full report, no write."""
    del version  # only a cache key: a duplicate check depends on the store's content
    return _ingest_bytes(path, layer_name, file_name, data, dry_run=True, user=None)


def commit_upload(
    path: str, layer_name: str, file_name: str, data: bytes, *, user: str | None
) -> Any:
    """Import one uploaded file for real (all of it or nothing), as ``user``."""
    return _ingest_bytes(path, layer_name, file_name, data, dry_run=False, user=user)


def _ingest_bytes(
    path: str, layer_name: str, file_name: str, data: bytes, *, dry_run: bool, user: str | None
) -> Any:
    import tempfile

    from minemap.ingest import ingest_file

    with tempfile.TemporaryDirectory(prefix="minemap-upload-") as folder:
        target = Path(folder) / f"upload{_upload_suffix(file_name)}"
        target.write_bytes(data)
        return ingest_file(
            target, layer_name, store=path, dry_run=dry_run, user=user, display_name=file_name
        )


def batches(path: str, version: int) -> list[Any]:
    """Every import batch, newest first (not cached: batch records are small)."""
    del version
    if not backends().store or not Path(path).exists():
        return []
    with _open(path) as store:
        return sorted(store.list_batches(), key=lambda b: b.created_at, reverse=True)


def undo_batch(path: str, batch_id: str, *, user: str | None) -> Any:
    """Undo one batch (all its rows leave the store); clears the data caches."""
    with _open(path) as store:
        record = store.undo_batch(batch_id, user=user)
    st.cache_data.clear()
    return record
