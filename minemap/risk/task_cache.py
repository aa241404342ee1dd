"""The tasks kept with the store: only the components whose surface changed are cut again.

:func:`~minemap.risk.tasks.make_tasks` is the biggest stage of a run. Its tasks of one
component depend only on that component (its metric geometry, its evidence records) and
on the farmland layer: component ids are content hashes, the cutting grid is the
component's own, and evidence only reaches the tasks of the component it belongs to
(evidence that meets another component's evidence is in the same component, and a task
is part of its component's evidence; the Dask engine relies on the same fact). So the
tasks of the last run are kept in the store (``Store.put_derived``, key
:data:`TASKS_KEY`) with, per component, a **signature** of what they were cut from, and
a run reuses the tasks of every component whose signature is unchanged and runs
``make_tasks`` only on the others, with their own evidence records and in the whole
run's equal-area CRS (``make_tasks(crs=...)``), so task ids and geometries are those of
a run over the whole surface.

A component's signature (SHA-256) covers its id, its exact metric geometry (as handed
over by the surface cache; its lon/lat geometry otherwise) and its lon/lat geometry, and
its evidence records — layer, store batch and position (from the surface cache's
membership) — with the checksum of each record's batch (so a record's rows are the same).
Besides, the kept tasks are used only if:

- ``params_sha256`` matches: everything the surface cache's key covers, plus the source of
  :mod:`minemap.risk.tasks` and of this module and the ``make_tasks`` parameters;
- the equal-area CRS of the tasks is the same (it follows the surface's extent outside
  EPSG:3035);
- the farmland layer is the same: a checksum per store batch, in order. **Any farmland
  change means every task is cut again** (simplest safe rule: a parcel decides the
  tasks of every component it meets, and the parcels' ranks for overlaps are global).

Only ``casualty_recency`` depends on the plan date: it is recomputed for every task from
the kept attribution of each casualty record (batch and position → task), in the
casualties' row order, by the formula of ``make_tasks`` (checked against the tasks cut in
the same run: a mismatch means a full cut). Because reuse is decided per component, the
tasks of a run as of a past date are kept too: moving the plan date back and forth cuts
only the components whose records the date sets aside or brings back. Settlements do not
enter the tasks (people exposed is scored afterwards, every run).

Anything unsure — a surface run without membership, other parameters, farmland changed,
a damaged row, a failed consistency check — means ``make_tasks`` on the whole surface: a
stale hazard map would be a safety failure. The result equals ``make_tasks(surface,
...)`` (tested, byte for byte on the ranked CSV), except
``attrs["dropped_sliver_area_m2"]``, which is NaN when tasks were reused (it is only
known for whole runs).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from minemap.risk import _spatial
from minemap.risk.surface_cache import (
    DerivedCache,
    SurfaceRun,
    _member,
    _module_source,
    _zip_parts,
    batch_digests,
    surface_params_sha256,
)
from minemap.settings import STORAGE_CRS

__all__ = ["TASKS_KEY", "TasksRun", "cached_make_tasks", "tasks_params_sha256"]

log = logging.getLogger("minemap.risk")
log.addHandler(logging.NullHandler())

TASKS_KEY = "tasks"
"""Key of the kept tasks in the store's derived table."""

_FORMAT = 1
HALF_LIFE_DAYS = 365.0  # make_tasks' default, used by the pipeline
_EVIDENCE = ("hazards", "strikes", "casualties")
_DECODED: OrderedDict[str, _Kept] = OrderedDict()  # payload checksum → decoded, newest last
_DECODED_LOCK = threading.Lock()


@dataclass
class TasksRun:
    """Tasks and how they were obtained.

    Attributes
    ----------
    tasks : GeoDataFrame
        What ``make_tasks(surface, ...)`` returns.
    mode : {"full", "incremental"}
    reason : str
    n_components_reused, n_components_cut : int
    saved : bool
        Whether these tasks were kept for the next run.
    warnings : list of str
    """

    tasks: gpd.GeoDataFrame
    mode: Literal["full", "incremental"]
    reason: str
    n_components_reused: int = 0
    n_components_cut: int = 0
    saved: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        """JSON-able summary for the run record."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "n_tasks": len(self.tasks),
            "n_components_reused": self.n_components_reused,
            "n_components_cut": self.n_components_cut,
            "saved": self.saved,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """One line for people."""
        if self.mode == "incremental":
            return (
                f"tasks: incremental, {self.n_components_cut:,} component(s) cut, "
                f"{self.n_components_reused:,} reused ({len(self.tasks):,} tasks)"
            )
        return f"tasks: full, {len(self.tasks):,} tasks ({self.reason})"


class _NoReuseError(Exception):
    """The kept tasks cannot be used (the message says why)."""


def tasks_params_sha256() -> str:
    """SHA-256 of what, besides the layers, the tasks depend on (see the module docstring)."""
    h = hashlib.sha256(surface_params_sha256().encode())
    h.update(json.dumps({"format": _FORMAT, "half_life_days": HALF_LIFE_DAYS}).encode())
    for name in ("minemap.risk.tasks", "minemap.risk.task_cache", "minemap.risk.exposure"):
        h.update(name.encode() + b"\0" + hashlib.sha256(_module_source(name)).digest())
    return h.hexdigest()


def _farmland_digests(farmland: gpd.GeoDataFrame | None) -> list[list[str]]:
    """[[batch id, checksum], …] in row order; raises _NoReuseError without batch ids."""
    if farmland is None or not len(farmland):
        return []
    if "parcel_id" not in farmland.columns or farmland["parcel_id"].isna().any():
        raise _NoReuseError("farmland parcels without parcel ids")
    try:
        digests = batch_digests(farmland, "farmland")  # in the order of their first rows
    except ValueError as exc:
        raise _NoReuseError(str(exc)) from None
    return [[b, d] for b, d in digests.items()]


# -- the payload ---------------------------------------------------------------------------


@dataclass
class _Kept:
    tasks: gpd.GeoDataFrame  # without casualty_recency
    wkb: np.ndarray  # the tasks' geometries as WKB
    task_sig: np.ndarray  # the signature of each task's component
    attribution: pd.Series  # "<signature>|<casualty record key>" → task id
    signatures: pd.Series  # signature → component id, every component kept (with or
    # without tasks); a component id may appear under several signatures (e.g. as of two
    # dates, with and without some released land)


def _tables(kept: _Kept) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(meta, tasks table, attribution table, signatures table): what is encoded."""
    tasks, wkb, attribution, signatures = kept.tasks, kept.wkb, kept.attribution, kept.signatures
    table = pd.DataFrame(tasks.drop(columns=[tasks.geometry.name]))
    meta: dict[str, Any] = {"columns": list(table.columns), "dtypes": {}, "none": []}
    for col in table.columns:
        meta["dtypes"][col] = str(table[col].dtype)
        if table[col].dtype == object:
            missing = table[col][table[col].isna()]
            if all(v is None for v in missing):
                meta["none"].append(col)
            elif not all(isinstance(v, float) for v in missing):
                raise ValueError(f"column {col} mixes kinds of missing values")
    table["geometry_wkb"] = pd.Series(list(wkb), dtype=object, index=table.index)
    table["signature_"] = pd.array(np.asarray(kept.task_sig).astype(str), dtype="str")
    att = pd.DataFrame(
        {
            "key": pd.array(attribution.index.astype(str), dtype="str"),
            "task_id": pd.array(attribution.to_numpy().astype(str), dtype="str"),
        }
    )
    sig = pd.DataFrame(
        {
            "signature": pd.array(signatures.index.astype(str), dtype="str"),
            "component_id": pd.array(signatures.to_numpy().astype(str), dtype="str"),
        }
    )
    return meta, table, att, sig


def _zip(meta: dict[str, Any], table: pd.DataFrame, att: pd.DataFrame, sig: pd.DataFrame) -> bytes:
    meta_json = json.dumps(meta).encode()
    return _zip_parts(
        {"meta.json": meta_json, "tasks": table, "attribution": att, "signatures": sig}
    )


def _encode(kept: _Kept) -> bytes:
    return _zip(*_tables(kept))


def _decode(payload: bytes) -> _Kept:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        meta = json.loads(zf.read("meta.json"))
        table = pd.read_parquet(io.BytesIO(zf.read("tasks.parquet")))
        att = pd.read_parquet(io.BytesIO(zf.read("attribution.parquet")))
        sig = pd.read_parquet(io.BytesIO(zf.read("signatures.parquet")))
    return _from_tables(meta, table, att, sig)


def _from_tables(
    meta: dict[str, Any],
    table: pd.DataFrame,
    att: pd.DataFrame,
    sig: pd.DataFrame,
    geoms: np.ndarray | None = None,
) -> _Kept:
    """The kept entries from their tables (``table`` is consumed); ``geoms``: the
    geometries when at hand (else decoded from the WKB column)."""
    wkb = table.pop("geometry_wkb").to_numpy(dtype=object)
    task_sig = table.pop("signature_").astype(str).to_numpy(dtype=object)
    if list(table.columns) != meta["columns"]:
        raise ValueError("the kept tasks have other columns than recorded")
    for col in table.columns:
        dtype = meta["dtypes"][col]
        values = table[col]
        if dtype == "object":
            values = values.astype(object)
            missing = values.isna().to_numpy()
            arr = values.to_numpy(dtype=object, copy=True)
            arr[missing] = None if col in meta["none"] else np.nan
            values = pd.Series(arr, index=table.index, dtype=object)
        else:
            values = values.astype(dtype)
        table[col] = values
    if geoms is None:
        geoms = shapely.from_wkb(wkb)
    table = table.reset_index(drop=True)
    tasks = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS))
    attribution = pd.Series(
        att["task_id"].astype(str).to_numpy(dtype=object), index=pd.Index(att["key"].astype(str))
    )
    if attribution.index.has_duplicates:
        raise ValueError("a casualty is attributed twice")
    signatures = pd.Series(
        sig["component_id"].astype(str).to_numpy(dtype=object),
        index=pd.Index(sig["signature"].astype(str)),
    )
    if signatures.index.has_duplicates:
        raise ValueError("a signature is listed twice")
    comp_of_sig = signatures.reindex(task_sig).to_numpy(dtype=object)
    if (comp_of_sig != tasks["component_id"].astype(str).to_numpy(dtype=object)).any():
        raise ValueError("tasks listed under another component's signature")
    return _Kept(tasks, wkb, task_sig, attribution, signatures)


def _load(cache: DerivedCache, params: str, expect: dict[str, Any]) -> _Kept:
    try:
        record = cache.get_derived(TASKS_KEY)
    except Exception as exc:
        raise _NoReuseError(f"the kept tasks could not be read ({exc})") from None
    if record is None:
        raise _NoReuseError("no kept tasks yet")
    if record.params_sha256 != params:
        raise _NoReuseError("parameters, code or library versions changed since the kept tasks")
    try:
        inputs = json.loads(record.inputs_json)
    except ValueError:
        raise _NoReuseError("the kept tasks' inputs record is damaged") from None
    if not isinstance(inputs, dict) or inputs.get("format") != _FORMAT:
        raise _NoReuseError("the kept tasks' inputs record is not in the expected format")
    if inputs.get("area_crs") != expect["area_crs"]:
        raise _NoReuseError("the data's extent moved the equal-area CRS")
    if inputs.get("farmland") != expect["farmland"]:
        raise _NoReuseError("the farmland changed since the kept tasks")
    # checked on every run (a few ms), decoded once per payload
    if hashlib.sha256(record.payload).hexdigest() != record.payload_sha256:
        raise _NoReuseError("the kept tasks do not match their checksum (damaged)")
    with _DECODED_LOCK:
        kept = _DECODED.get(record.payload_sha256)
    if kept is None:
        try:
            kept = _decode(record.payload)
        except Exception as exc:
            raise _NoReuseError(f"the kept tasks are damaged ({exc})") from None
        if len(kept.tasks) != inputs.get("n_tasks"):
            raise _NoReuseError("the kept tasks are damaged (wrong number of tasks)")
        _remember(record.payload_sha256, kept)
    return kept


def _remember(sha: str, kept: _Kept) -> None:
    with _DECODED_LOCK:
        _DECODED[sha] = kept
        _DECODED.move_to_end(sha)
        while len(_DECODED) > 1:  # one decoded payload (≈ the tasks in memory once more)
            _DECODED.popitem(last=False)


# -- recency, attribution ------------------------------------------------------------------


def _recency(
    casualties: gpd.GeoDataFrame | None, task_row: np.ndarray, n_tasks: int, as_of: pd.Timestamp
) -> np.ndarray:
    """``casualty_recency`` per task from kept attributions (``task_row``: each casualty's
    task, -1 none), summed as :func:`~minemap.risk.tasks.make_tasks` sums it (same weights,
    casualties in row order)."""
    from minemap.risk.tasks import casualty_weights

    recency = np.zeros(n_tasks)
    if casualties is None or not len(casualties):
        return recency
    _, _, weighted = casualty_weights(casualties, as_of, half_life_days=HALF_LIFE_DAYS)
    hit = task_row >= 0
    np.add.at(recency, task_row[hit], weighted[hit])
    return recency


def _incident_ids(casualties: gpd.GeoDataFrame) -> np.ndarray:
    if "incident_id" in casualties:
        return casualties["incident_id"].astype(str).to_numpy()
    return np.array([f"#{i}" for i in casualties.index])


# -- the cache-aware tasks -----------------------------------------------------------------


def _signatures(surface: gpd.GeoDataFrame, surface_run: SurfaceRun, crs: pyproj.CRS) -> pd.Series:
    """Per component (id → SHA-256): what its tasks are cut from besides the farmland.

    The component id, its exact metric geometry (or, without one, its lon/lat geometry,
    which ``make_tasks`` then reprojects), its lon/lat geometry, and its evidence records
    (layer, store batch and position) with their batches' checksums.
    """
    comps = surface_run.record_components
    keys = surface_run.record_keys
    digests = surface_run.batch_digests
    if comps is None or keys is None or digests is None:
        raise _NoReuseError("the records' components are not known")
    ids = surface["component_id"].astype(str).to_numpy(dtype=object)
    geoms = np.asarray(surface.geometry.array, dtype=object)
    metric = _spatial.recall_metric(surface.geometry.array, crs)
    # the WKB the surface cache already has (same bytes as encoding the rows again)
    lonlat_wkb = surface_run.wkb
    if lonlat_wkb is None or len(lonlat_wkb) != len(geoms):
        lonlat_wkb = shapely.to_wkb(geoms) if len(geoms) else np.empty(0, dtype=object)
    metric_wkb = None
    if metric is not None and len(metric):
        metric_wkb = surface_run.metric_wkb
        # (a metric form recalled in ``crs`` is the one handed over, whose WKB this is)
        if metric_wkb is None or len(metric_wkb) != len(metric):
            metric_wkb = shapely.to_wkb(metric)
    lines = []
    for layer in _EVIDENCE:
        key = np.asarray(keys[layer], dtype=object)
        comp = np.asarray(comps[layer], dtype=object)
        has = np.array([c is not None for c in comp], dtype=bool)
        if not has.any():
            continue
        batch = [k.rsplit(":", 1)[0] for k in key[has]]
        text = [f"{layer}|{k}|{digests[b]}" for k, b in zip(key[has], batch, strict=True)]
        lines.append(pd.DataFrame({"comp": comp[has], "text": text}))
    members: dict[str, str] = {}
    if lines:
        table = pd.concat(lines, ignore_index=True).sort_values(["comp", "text"], kind="stable")
        comp_sorted = table["comp"].to_numpy(dtype=object)
        text_sorted = table["text"].to_numpy(dtype=object).tolist()
        starts = np.flatnonzero(np.r_[True, comp_sorted[1:] != comp_sorted[:-1]])
        ends = np.r_[starts[1:], len(comp_sorted)]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            members[comp_sorted[a]] = "\n".join(text_sorted[a:b])
    out = []
    for i, cid in enumerate(ids):
        h = hashlib.sha256(str(cid).encode() + b"\0")
        if metric_wkb is None:
            h.update(b"lonlat-only\0")
        else:
            h.update(metric_wkb[i])
        h.update(b"\0" + lonlat_wkb[i] + b"\0")
        h.update(members.get(cid, "").encode())
        out.append(h.hexdigest())
    return pd.Series(out, index=pd.Index(ids), dtype=object)


def cached_make_tasks(
    cache: DerivedCache,
    surface_run: SurfaceRun,
    *,
    farmland: gpd.GeoDataFrame | None = None,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    as_of: Any,
    reuse: bool = True,
    n_threads: int = _spatial.N_THREADS,
) -> TasksRun:
    """``make_tasks(surface_run.surface, ...)``, reusing the kept tasks where safe.

    Parameters
    ----------
    cache : Store
        Where the tasks are kept (``get_derived``/``put_derived``).
    surface_run : SurfaceRun
        From :func:`~minemap.risk.surface_cache.cached_hazard_surface` on the same store
        and layers (it says which record is in which component).
    farmland, hazards, footprints, casualties : GeoDataFrame, optional
        The rows used (as given to ``make_tasks``; aligned to the rows the surface run
        used).
    as_of : date-like
        The plan date (casualty recency).
    reuse : bool
        False: cut every component (the kept tasks are not read), then keep them.
    n_threads : int

    Returns
    -------
    TasksRun
        Its tasks equal ``make_tasks`` on the whole surface (see the module docstring).
    """
    from minemap.risk.tasks import make_tasks

    surface = surface_run.surface
    as_of_ts = pd.Timestamp(as_of)
    crs = _spatial.equal_area_crs_for(surface.total_bounds if len(surface) else [np.nan] * 4)
    evidence = {"hazards": hazards, "strikes": footprints, "casualties": casualties}
    warnings: list[str] = []

    def cut(part: gpd.GeoDataFrame, frames: dict[str, Any]) -> gpd.GeoDataFrame:
        return make_tasks(
            part,
            farmland=farmland,
            hazards=frames["hazards"],
            footprints=frames["strikes"],
            casualties=frames["casualties"],
            as_of=as_of_ts,
            half_life_days=HALF_LIFE_DAYS,
            n_threads=n_threads,
            crs=crs,
            attribution=True,
        )

    def finish(run: TasksRun) -> TasksRun:
        run.tasks.attrs.pop("casualty_task", None)
        return run

    params = tasks_params_sha256()
    try:
        farm = _farmland_digests(farmland)
        _aligned(surface_run, evidence)
        signatures = _signatures(surface, surface_run, crs)
    except _NoReuseError as exc:
        return finish(TasksRun(cut(surface, evidence), "full", str(exc), 0, len(surface)))

    # 1. the kept tasks of every component whose signature is unchanged
    reason = "tasks not reused (--no-cache)"
    result = None
    kept = None
    if reuse:
        try:
            expect = {"area_crs": crs.to_wkt(), "farmland": farm}
            kept = _load(cache, params, expect)
            result = _reuse(kept, surface_run, signatures, crs, evidence, as_of_ts, cut, warnings)
        except _NoReuseError as exc:
            reason = str(exc)
    wkb = None
    if result is None:
        run = TasksRun(cut(surface, evidence), "full", reason, 0, len(surface), warnings=warnings)
    else:
        tasks, wkb, n_reused, n_cut = result
        run = TasksRun(tasks, "incremental", "the kept tasks were reused", n_reused, n_cut,
                       warnings=warnings)  # fmt: skip

    # 2. keep them for the next run (any plan date: reuse is decided per component), with
    # the kept entries of other components (e.g. of the last other plan date), at most as
    # many as this run has
    if result is not None and run.n_components_cut == 0:
        run.saved = True  # every component was kept already
        return finish(run)
    try:
        current = _current_entries(run.tasks, surface_run, casualties, signatures, wkb)
        merged = _merge(current, kept if result is not None else None)
        tables = _tables(merged)
        payload = _zip(*tables)
        inputs = {
            "format": _FORMAT,
            "area_crs": crs.to_wkt(),
            "farmland": farm,
            "n_tasks": len(merged.tasks),
        }
        cache.put_derived(
            TASKS_KEY,
            params_sha256=params,
            inputs_json=json.dumps(inputs, sort_keys=True),
            payload=payload,
        )
        run.saved = True
        # the next run (the app's next period end) finds them decoded already: what was
        # encoded, in the form decoding gives (tested equal to decoding the payload)
        geoms = np.asarray(merged.tasks.geometry.array, dtype=object)
        _remember(hashlib.sha256(payload).hexdigest(), _from_tables(*tables, geoms=geoms))
    except Exception as exc:  # a cache that cannot be written must not fail the plan
        message = f"the tasks could not be kept for the next run: {exc}"
        log.warning(message)
        run.warnings.append(message)
    return finish(run)


def _aligned(surface_run: SurfaceRun, evidence: dict[str, gpd.GeoDataFrame | None]) -> None:
    comps = surface_run.record_components
    keys = surface_run.record_keys
    if comps is None or keys is None:
        raise _NoReuseError("the records' components are not known")
    for layer in _EVIDENCE:
        frame = evidence[layer]
        n = 0 if frame is None else len(frame)
        if len(comps.get(layer, ())) != n or len(keys.get(layer, ())) != n:
            raise _NoReuseError(f"the {layer} rows are not those the surface was built from")


def _current_entries(
    tasks: gpd.GeoDataFrame,
    surface_run: SurfaceRun,
    casualties: gpd.GeoDataFrame | None,
    signatures: pd.Series,
    wkb: np.ndarray | None = None,
) -> _Kept:
    """This run's tasks as kept entries (``tasks.attrs["casualty_task"]``: attributions;
    ``signatures``: component id → signature, every component of the surface)."""
    comp_ids = tasks["component_id"].astype(str).to_numpy(dtype=object)
    task_sig = signatures.reindex(comp_ids).to_numpy(dtype=object)
    if pd.isna(task_sig).any():
        raise ValueError("a task's component has no signature")
    attribution = pd.Series([], index=pd.Index([], dtype=object), dtype=object)
    if casualties is not None and len(casualties):
        rows = tasks.attrs.get("casualty_task")
        keys = (surface_run.record_keys or {}).get("casualties")
        if rows is None or keys is None or len(rows) != len(casualties) or len(keys) != len(rows):
            raise ValueError("the casualties' tasks are not known")
        hit = rows >= 0
        ids = tasks["task_id"].astype(str).to_numpy(dtype=object)
        labels = (
            pd.Index(task_sig[rows[hit]].astype(str))
            + "|"
            + pd.Index(np.asarray(keys)[hit].astype(str))
        )
        attribution = pd.Series(ids[rows[hit]], index=labels)
    kept_tasks = tasks.drop(columns=["casualty_recency"])
    kept_tasks.attrs = {}
    if wkb is None or len(wkb) != len(tasks):
        wkb = shapely.to_wkb(np.asarray(tasks.geometry.array, dtype=object))
    by_sig = pd.Series(signatures.index.to_numpy(dtype=object), index=signatures.to_numpy())
    return _Kept(kept_tasks, wkb, task_sig, attribution, by_sig)


def _merge(current: _Kept, previous: _Kept | None) -> _Kept:
    """``current`` plus the entries of ``previous`` it does not have, at most as many
    components as ``current`` holds (the most recent first, as they were kept)."""
    if previous is None:
        return current
    have = set(current.signatures.index.tolist())  # a set: Index membership per item is slow
    extra_sigs = [sig for sig in previous.signatures.index.tolist() if sig not in have]
    extra_sigs = extra_sigs[: len(current.signatures)]
    if not extra_sigs:
        return current
    extra = pd.Index(extra_sigs)
    rows = np.flatnonzero(_member(previous.task_sig, extra))
    old_att = previous.attribution
    att_sig = old_att.index.str.split("|", n=1).str[0]
    tasks = pd.concat([current.tasks, previous.tasks.iloc[rows]], ignore_index=True)
    return _Kept(
        gpd.GeoDataFrame(tasks, geometry=current.tasks.geometry.name, crs=STORAGE_CRS),
        np.concatenate([current.wkb, previous.wkb[rows]]),
        np.concatenate([current.task_sig, previous.task_sig[rows]]),
        pd.concat([current.attribution, old_att[_member(np.asarray(att_sig), extra)]]),
        pd.concat([current.signatures, previous.signatures.reindex(extra)]),
    )


def _reuse(
    kept: _Kept,
    surface_run: SurfaceRun,
    signatures: pd.Series,
    crs: pyproj.CRS,
    evidence: dict[str, gpd.GeoDataFrame | None],
    as_of: pd.Timestamp,
    cut: Any,
    warnings: list[str],
) -> tuple[gpd.GeoDataFrame, np.ndarray, int, int]:
    """(tasks, their WKB, components reused, components cut); raises _NoReuseError."""
    surface = surface_run.surface
    comps = surface_run.record_components
    keys = surface_run.record_keys
    if comps is None or keys is None:
        raise _NoReuseError("the records' components are not known")

    ids = signatures.index.to_numpy(dtype=object)
    sigs = signatures.to_numpy(dtype=object)
    same = _member(sigs, kept.signatures.index)
    reused_ids = ids[same]
    fresh = ~same
    fresh_ids = ids[fresh]
    # the kept tasks of the reused signatures (hash-based membership: numpy's isin sorts
    # object arrays, seconds for 10^4 ids); a signature names its component id
    take = _member(kept.task_sig, sigs[same])
    old = kept.tasks.iloc[np.flatnonzero(take)]

    parts = [old] if len(old) else []
    wkb_parts = [kept.wkb[np.flatnonzero(take)]] if len(old) else []
    fresh_tasks = None
    if len(fresh_ids):
        rows = np.flatnonzero(fresh)
        part = surface.iloc[rows]
        metric = _spatial.recall_metric(surface.geometry.array, crs)
        if metric is not None:
            _spatial.remember_metric(part.geometry.array, metric[rows], crs)
        frames = {}
        for layer in _EVIDENCE:
            frame = evidence[layer]
            if frame is None or not len(frame):
                frames[layer] = frame
                continue
            mine = _member(comps[layer], fresh_ids)
            frames[layer] = frame.iloc[np.flatnonzero(mine)]
        fresh_tasks = cut(part, frames)
        if len(fresh_tasks):
            parts.append(fresh_tasks.drop(columns=["casualty_recency"]))
            fresh_geoms = np.asarray(fresh_tasks.geometry.array, dtype=object)
            wkb_parts.append(shapely.to_wkb(fresh_geoms))
    if not parts:
        raise _NoReuseError("no tasks to reuse")  # nothing to gain: cut the whole (empty)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
    order = np.argsort(table["task_id"].to_numpy(dtype=str), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    wkb = np.concatenate(wkb_parts)[order]
    task_ids = table["task_id"].astype(str).to_numpy(dtype=object)
    if pd.Index(task_ids).has_duplicates:
        raise _NoReuseError("task ids clash between reused and new tasks")

    # each casualty's task: the kept attribution for reused components, the new cut's for
    # the others, none for records in no component
    casualties = evidence["casualties"]
    n_cas = 0 if casualties is None else len(casualties)
    task_row = np.full(n_cas, -1, dtype=np.intp)
    row_of = pd.Series(np.arange(len(table)), index=pd.Index(task_ids))
    if n_cas:
        comp = pd.Series(comps["casualties"], dtype=object)
        in_old = _member(comp.to_numpy(dtype=object), reused_ids)
        if in_old.any():
            sig_of_comp = pd.Series(sigs, index=pd.Index(ids))
            labels = (
                pd.Index(
                    sig_of_comp.reindex(comp[in_old].to_numpy()).to_numpy(dtype=object).astype(str)
                )
                + "|"
                + pd.Index(np.asarray(keys["casualties"])[in_old].astype(str))
            )
            tid = kept.attribution.reindex(labels)
            known = tid.notna().to_numpy()
            found = row_of.reindex(tid[known].to_numpy()).to_numpy(dtype="float64")
            if np.isnan(found).any():
                raise _NoReuseError("a kept attribution names a task that is not there")
            pos = np.full(int(in_old.sum()), -1, dtype=np.intp)
            pos[known] = found.astype(np.intp)
            task_row[in_old] = pos
        if fresh_tasks is not None:
            in_new = _member(comp.to_numpy(dtype=object), fresh_ids)
            sub_rows = fresh_tasks.attrs["casualty_task"]
            if len(sub_rows) != int(in_new.sum()):
                raise _NoReuseError("the new tasks' attributions do not match")
            new_ids = fresh_tasks["task_id"].astype(str).to_numpy(dtype=object)
            hit = sub_rows >= 0
            pos = np.full(len(sub_rows), -1, dtype=np.intp)
            pos[hit] = row_of.reindex(new_ids[sub_rows[hit]]).to_numpy(dtype=np.intp)
            task_row[np.flatnonzero(in_new)] = pos
    counts = np.bincount(task_row[task_row >= 0], minlength=len(table))
    if (counts != table["n_casualty_incidents"].to_numpy()).any():
        raise _NoReuseError("the casualty attributions do not match the tasks' counts")

    recency = _recency(casualties, task_row, len(table), as_of)
    if fresh_tasks is not None and len(fresh_tasks):  # the formula is make_tasks' own
        mine = row_of.reindex(fresh_tasks["task_id"].astype(str).to_numpy(dtype=object))
        want = fresh_tasks["casualty_recency"].to_numpy(dtype="float64")
        if not np.array_equal(recency[mine.to_numpy(dtype=np.intp)], want):
            message = "casualty recency of reused tasks could not be recomputed exactly"
            log.warning(message)
            warnings.append(message)
            raise _NoReuseError(message)
    table.insert(list(table.columns).index("latest_evidence_date"), "casualty_recency", recency)
    out = gpd.GeoDataFrame(table, geometry=table.geometry.name, crs=STORAGE_CRS)
    outside = []
    if n_cas:
        outside = sorted(_incident_ids(casualties)[task_row < 0].tolist())
    out.attrs = {
        "area_crs": crs.to_wkt(),
        "as_of": as_of.isoformat(),
        "casualties_outside": outside,
        "dropped_sliver_area_m2": float("nan"),
        "casualty_task": task_row,  # rows of ``out``: kept for the next run, then dropped
    }
    return out, wkb, len(reused_ids), len(fresh_ids)
