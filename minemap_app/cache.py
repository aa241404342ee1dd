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
    "data_version",
    "filtered_layer",
    "layer",
    "oblast_names",
    "prioritised_tasks",
    "store_path",
    "undo_batch",
]


@dataclass(frozen=True, slots=True)
class Backends:
    """Which core modules this build has."""

    store: bool
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


@st.cache_data(show_spinner=False, max_entries=64)
def prioritised_tasks(
    path: str,
    version: int,
    weights: tuple[tuple[str, float], ...] | None,
    *,
    date_to: date | None = None,
    oblast: str | None = None,
) -> gpd.GeoDataFrame:
    """Ranked tasks from the risk engine for the store's layers (and weights, if given)."""
    from minemap.risk.pipeline import prioritise

    layers = {
        name: filtered_layer(path, version, name, date_from=None, date_to=date_to, oblast=None)
        for name in LAYER_NAMES
    }
    result = prioritise(layers, weights=dict(weights) if weights else None)
    tasks = result.tasks
    area = _oblast_geometry(oblast)
    if area is not None and not tasks.empty:
        tasks = tasks[tasks.geometry.intersects(area)]
    return tasks


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
