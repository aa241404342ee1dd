"""From the five layers to a ranked, explained, costed task list with a run record.

:func:`prioritise` runs the whole chain on canonical layer frames (as returned by
``store.read_layer``): records dated after ``as_of`` are set aside (no look-ahead, so a
past ranking can be rebuilt), strike footprints → hazard surface → tasks (the geometry
engine in :mod:`minemap.risk.footprints`, :mod:`~minemap.risk.surface`,
:mod:`~minemap.risk.tasks`), then :func:`rank_tasks`: farmland impact, compensation
eligibility, survey-first effort and cost, normalised components, score, rank,
contributions and — on request — sensitivity.

The run record (a JSON-able dict) names everything needed to reproduce the ranking: the
input batch ids per layer, ``as_of``, the weights' name, version and hash, every parameter,
the package version, and a hash of the ranking itself. The same inputs and weights give a
byte-identical ranking, whatever the row order of the inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.geometry import require_storage_crs
from minemap.risk.effort import DEFAULT_EFFORT, EffortParams, estimate_effort
from minemap.risk.exposure import EXPOSURE_DISTANCE_M, people_exposed
from minemap.risk.farmland import (
    COMPENSATION_DISTANCE_M,
    SEASON_FLOOR,
    LandValues,
    _farmland_ha,
    compensation_eligible,
    default_land_values,
    farmland_impact,
    frontline_distance_m,
    is_surveyed,
    land_value_per_ha,
    season_factor,
)
from minemap.risk.priority import priority_components, priority_score
from minemap.risk.sensitivity import rank_sensitivity
from minemap.risk.weights import COMPONENTS, Weights, default_weights

__all__ = [
    "DATED_LAYERS",
    "RISK_LAYERS",
    "PrioritisationResult",
    "Progress",
    "filter_as_of",
    "prioritise",
    "rank_tasks",
    "ranking_sha256",
]

Progress = Callable[[str, float], None]
"""``progress(stage, fraction_done)``: called as the pipeline moves on (fraction 0..1)."""

DATED_LAYERS = ("casualties", "strikes", "hazards", "cleared")
RISK_LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland", "settlements")
"""The layers :func:`prioritise` reads (``settlements`` optional: people exposed)."""
DEFAULT_TOP = 10


@dataclass
class PrioritisationResult:
    """What :func:`prioritise` returns.

    Attributes
    ----------
    tasks : GeoDataFrame
        One row per task, EPSG:4326, sorted by ``priority_rank`` (index 0..n-1), with the
        score, rank, every ``contrib_*`` and ``norm_*`` component, the task evidence, farmland
        impact and eligibility, effort and cost columns (and sensitivity columns if asked).
    weights : Weights
        The weight set used.
    run_record : dict
        JSON-able record of inputs, parameters, weights and versions.
    sensitivity : DataFrame or None
        Per-scenario results (:class:`~minemap.risk.sensitivity.SensitivityResult.scenarios`).
    unattributed : DataFrame
        Casualty and strike records that lie in no task (``layer``, ``record_id``,
        ``reason``): outside the hazard surface, e.g. in released land. Never silently lost.
    """

    tasks: gpd.GeoDataFrame
    weights: Weights
    run_record: dict[str, Any]
    sensitivity: pd.DataFrame | None = None
    unattributed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["layer", "record_id", "reason"])
    )


def _as_timestamp(as_of: Any) -> pd.Timestamp | None:
    if as_of is None:
        return None
    ts = pd.Timestamp(as_of)
    if pd.isna(ts):
        raise ValueError(f"as_of {as_of!r} is not a date")
    return ts.tz_localize(None) if ts.tzinfo else ts


def filter_as_of(
    layers: Mapping[str, gpd.GeoDataFrame], as_of: Any
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, int]]:
    """Drop records dated after ``as_of`` (and undated ones) from the dated layers.

    Returns
    -------
    (layers, excluded)
        The filtered layers and, per layer, how many records were set aside.
    """
    masks = _as_of_masks(layers, as_of)
    out: dict[str, gpd.GeoDataFrame] = {}
    excluded: dict[str, int] = {}
    for name, frame in layers.items():
        keep = masks.get(name)
        if keep is None:
            out[name] = frame
            continue
        excluded[name] = int((~keep).sum())
        out[name] = frame[keep]
    return out, excluded


def _as_of_masks(layers: Mapping[str, gpd.GeoDataFrame], as_of: Any) -> dict[str, np.ndarray]:
    """Per dated layer with dates, which rows are dated on or before ``as_of``."""
    ts = _as_timestamp(as_of)
    masks: dict[str, np.ndarray] = {}
    for name, frame in layers.items():
        if ts is None or name not in DATED_LAYERS or "date" not in frame:
            continue
        dates = pd.to_datetime(frame["date"], errors="coerce")
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        masks[name] = (dates <= ts).fillna(False).to_numpy(dtype=bool)
    return masks


def _batch_ids(frame: pd.DataFrame) -> list[str]:
    if "batch_id" not in frame:
        return []
    return sorted({str(b) for b in frame["batch_id"].dropna().unique()})


def _package_version() -> str:
    from minemap import __version__

    return __version__


def ranking_sha256(tasks: pd.DataFrame) -> str:
    """SHA-256 of ``task_id,priority_rank,priority_score`` (score to 1e-9) lines."""
    lines = [  # over plain lists: iterating Arrow-backed columns item by item is slow
        f"{tid},{rank},{score:.9f}"
        for tid, rank, score in zip(
            tasks["task_id"].astype(str).tolist(),
            tasks["priority_rank"].astype(int).tolist(),
            tasks["priority_score"].astype(float).tolist(),
            strict=True,
        )
    ]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _frontline_record(frontline: gpd.GeoDataFrame | gpd.GeoSeries | None) -> dict | None:
    if frontline is None:
        return None
    series = frontline.geometry if isinstance(frontline, gpd.GeoDataFrame) else frontline
    digest = hashlib.sha256(b"".join(g.wkb for g in series.dropna())).hexdigest()
    return {"n_features": len(series), "sha256_wkb": digest}


def _lookup_groups(tasks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(first row, group of each row) of the distinct ``land_use``, ``crop``,
    ``value_per_ha`` triples — the only columns the land-value and season look-ups read —
    or None when a column is of a kind whose equal values might look up differently
    (only string columns and float64 values, compared bit for bit, are grouped)."""
    codes = []
    for col in ("land_use", "crop"):
        if col in tasks:
            if not isinstance(tasks[col].dtype, pd.StringDtype):
                return None
            codes.append(pd.factorize(tasks[col], use_na_sentinel=True)[0])
    if "value_per_ha" in tasks:
        values = tasks["value_per_ha"]
        if values.dtype != np.float64:
            return None
        codes.append(pd.factorize(values.to_numpy(dtype="float64").view("int64"))[0])
    if not codes or not len(tasks):
        return None
    _, first, group = np.unique(
        np.column_stack(codes), axis=0, return_index=True, return_inverse=True
    )
    return first, np.asarray(group).reshape(-1)


def _farmland_values(
    tasks: pd.DataFrame, *, land_values: LandValues, as_of: Any, season_floor: float
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """``land_value_per_ha(with_basis=True)``, ``season_factor`` and ``farmland_impact``
    of ``tasks``, the first two computed by those functions once per distinct look-up
    (a few land uses and crops for 10^4-10^5 tasks; their per-row look-up dominated
    ranking) and spread to every task, the impact by ``farmland_impact``'s formula from
    them (the same numbers: tested against ``farmland_impact``)."""
    groups = _lookup_groups(tasks)
    if groups is None:
        values = land_value_per_ha(tasks, land_values=land_values, with_basis=True)
        factor = season_factor(tasks, as_of=as_of, land_values=land_values, floor=season_floor)
        impact = farmland_impact(
            tasks, land_values=land_values, as_of=as_of, season_floor=season_floor
        )
        return values, factor, impact
    first, group = groups
    cols = [c for c in ("land_use", "crop", "value_per_ha") if c in tasks]
    distinct = pd.DataFrame(tasks[cols].iloc[first]).reset_index(drop=True)
    dvalues = land_value_per_ha(distinct, land_values=land_values, with_basis=True)
    dfactor = season_factor(distinct, as_of=as_of, land_values=land_values, floor=season_floor)
    value = dvalues["land_value_per_ha"].to_numpy(dtype="float64")[group]
    values = pd.DataFrame(
        {
            "land_value_per_ha": pd.Series(value, index=tasks.index, dtype="float64"),
            "land_value_basis": pd.Series(
                dvalues["land_value_basis"].to_numpy(dtype=object)[group],
                index=tasks.index,
                dtype=object,
            ),
        }
    )
    f = dfactor.to_numpy(dtype="float64")[group]
    factor = pd.Series(f, index=tasks.index, name="season_factor", dtype="float64")
    ha = _farmland_ha(tasks)
    impact = pd.Series(
        np.where(ha > 0, ha * value * f, 0.0),
        index=tasks.index,
        name="farmland_impact",
        dtype="float64",
    )
    return values, factor, impact


def rank_tasks(
    tasks: gpd.GeoDataFrame,
    *,
    weights: Weights | None = None,
    as_of: Any = None,
    frontline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    land_values: LandValues | None = None,
    effort: EffortParams = DEFAULT_EFFORT,
    season_floor: float = SEASON_FLOOR,
    top: int | None = None,
    sensitivity: bool = False,
    progress: Progress | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    exposure_distance_m: float = EXPOSURE_DISTANCE_M,
) -> PrioritisationResult:
    """Score, rank, explain and cost an existing task frame.

    Parameters
    ----------
    tasks : GeoDataFrame
        Task frame (EPSG:4326) with the columns of :func:`minemap.risk.tasks.make_tasks`.
    weights : Weights, optional
        Default set if None.
    as_of : date-like, optional
        Date of the plan (season factor); None → no season weighting.
    frontline : GeoDataFrame or GeoSeries, optional
        Front line (lines) or occupied area (polygons) for compensation eligibility.
    land_values : LandValues, optional
    effort : EffortParams
    season_floor : float
    top : int, optional
        N of the top-N for sensitivity (default 10).
    sensitivity : bool
        Run :func:`~minemap.risk.sensitivity.rank_sensitivity` and add its per-task columns.
    progress : callable(stage, fraction), optional
    settlements : GeoDataFrame, optional
        The ``settlements`` layer (EPSG:4326): tasks get ``people_exposed``
        (:func:`~minemap.risk.exposure.people_exposed`) and the ``people_exposed``
        component counts. Without it (or empty) ``people_exposed`` is 0 and the component
        is left out (weight 0): scores and ranks are those of the other components alone.
    exposure_distance_m : float
        Reach of a settlement (metres), default 2,000.

    Returns
    -------
    PrioritisationResult
        With a run record of the parameters (no ``inputs``: see :func:`prioritise`).
    """
    require_storage_crs(tasks, what="task frame")
    if "task_id" not in tasks:
        raise ValueError("the task frame needs a task_id column")
    if tasks["task_id"].astype(str).duplicated().any():
        raise ValueError("task_id values must be unique")
    w = weights or default_weights()
    lv = land_values or default_land_values()
    step = progress or (lambda stage, fraction: None)
    top_n = DEFAULT_TOP if top is None else int(top)

    # canonical row order: by task_id, so the input's row order cannot change anything
    order = np.argsort(tasks["task_id"].astype(str).to_numpy(), kind="stable")
    base = tasks.iloc[order].reset_index(drop=True)
    derived = [
        c
        for c in (
            "farmland_impact",
            "cost_per_ha_uah_mid",
            "priority_score",
            "priority_rank",
            "land_value_per_ha",
            "season_factor",
            "compensation_eligible",
            "people_exposed",
        )
        if c in base
    ]
    base = base.drop(columns=derived)

    step("farmland", 0.1)
    values, factor, impact = _farmland_values(
        base, land_values=lv, as_of=as_of, season_floor=season_floor
    )
    surveyed = is_surveyed(base)
    eligible = compensation_eligible(base, frontline=frontline, surveyed=surveyed)
    # people exposed (optional settlements layer): unknown without it, so the component
    # is then left out (weight 0) rather than scored 0 for every task
    has_people = settlements is not None and len(settlements) > 0
    exposed = people_exposed(
        base, settlements if has_people else None, exposure_distance_m=exposure_distance_m
    )
    w_rank = w if has_people else w.replace_weights({**w.weights, "people_exposed": 0}, suffix="")
    if w_rank.total <= 0:
        raise ValueError(f"weights {w.name!r}: only people_exposed counts, but no settlements")
    extra = pd.concat([values, factor, impact, surveyed, eligible, exposed], axis=1)
    if frontline is not None:
        extra["frontline_distance_m"] = frontline_distance_m(base, frontline)
    step("effort", 0.3)
    eff = estimate_effort(base, params=effort)
    enriched = pd.concat([base.drop(columns=base.geometry.name), extra, eff], axis=1)

    step("priority", 0.5)
    comps = priority_components(enriched, weights=w_rank)
    score = priority_score(comps, w_rank)

    sens_frame = None
    sens_cols = None
    if sensitivity:
        step("sensitivity", 0.6)
        sens = rank_sensitivity(
            comps,
            w_rank,
            top=top_n,
            progress=lambda d, t: step("sensitivity", 0.6 + 0.35 * d / max(t, 1)),
        )
        sens_frame = sens.scenarios
        sens_cols = sens.tasks.drop(columns=["task_id", "base_rank"])

    lead = ["task_id", "priority_rank", "priority_score"]
    contrib = [f"contrib_{c}" for c in COMPONENTS]
    norms = [f"norm_{c}" for c in COMPONENTS]
    parts = [
        score[["priority_rank", "priority_score", *contrib]],
        comps[norms],
    ]
    if sens_cols is not None:
        parts.append(sens_cols)
    parts.append(enriched.drop(columns=["task_id"]))
    table = pd.concat([base[["task_id"]], *parts], axis=1)
    table = table[lead + [c for c in table.columns if c not in lead]]
    out = gpd.GeoDataFrame(table, geometry=base.geometry.to_numpy(), crs=tasks.crs)
    out = out.sort_values("priority_rank", kind="mergesort").reset_index(drop=True)
    step("done", 1.0)

    record = {
        "minemap_version": _package_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "as_of": None if as_of is None else _as_timestamp(as_of).date().isoformat(),
        "weights": {**w.to_dict(), "sha256": w.sha256, "source": w.source},
        "parameters": {
            "top": top_n,
            "sensitivity": bool(sensitivity),
            "sensitivity_delta": 0.2 if sensitivity else None,
            "effort": effort.to_dict(),
            "land_values": {"version": lv.version, "source": lv.source},
            "season_floor": season_floor,
            "compensation_distance_m": COMPENSATION_DISTANCE_M,
            "frontline": _frontline_record(frontline),
            "people_exposed": {
                "counted": has_people,
                "n_settlements": len(settlements) if settlements is not None else 0,
                "exposure_distance_m": float(exposure_distance_m),
            },
        },
        "n_tasks": len(out),
        "ranking_sha256": ranking_sha256(out),
    }
    return PrioritisationResult(out, w, record, sens_frame)


def _id_column(frame: pd.DataFrame, candidates: tuple[str, ...]) -> pd.Series:
    for col in candidates:
        if col in frame:
            return frame[col].astype(str)
    return pd.Series([str(i) for i in frame.index], index=frame.index)


def _unattributed(
    tasks: gpd.GeoDataFrame,
    casualties: gpd.GeoDataFrame | None,
    footprints: gpd.GeoDataFrame | None,
    attribute_points: Callable,
) -> list[dict[str, str]]:
    """Casualty and strike records that no task accounts for.

    Casualties: the engine's own attribution (``tasks.attrs["casualties_outside"]``: the
    point is in no task and its buffer overlaps none), else point-in-task. Strikes: the
    footprint overlaps no task (e.g. wholly inside released land).
    """
    lost: list[dict[str, str]] = []
    if casualties is not None and len(casualties):
        outside = tasks.attrs.get("casualties_outside")
        if outside is None:
            where = attribute_points(tasks, casualties) if len(tasks) else None
            ids = _id_column(casualties, ("incident_id",))
            outside = ids.to_numpy() if where is None else ids[where.isna().to_numpy()]
        for rid in sorted(str(x) for x in outside):
            lost.append({"layer": "casualties", "record_id": rid, "reason": "outside every task"})
    if footprints is not None and len(footprints):
        geoms = np.asarray(footprints.geometry.array, dtype=object)
        hit = np.zeros(len(geoms), dtype=bool)
        if len(tasks):
            tree = shapely.STRtree(np.asarray(tasks.geometry.array, dtype=object))
            pairs = tree.query(geoms, predicate="intersects")
            hit[np.unique(pairs[0])] = True
        ids = _id_column(footprints, ("strike_id",))
        for rid in sorted(ids[~hit]):
            lost.append(
                {"layer": "strikes", "record_id": rid, "reason": "footprint outside every task"}
            )
    return lost


def prioritise(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    weights: Weights | None = None,
    as_of: Any = None,
    frontline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    top: int | None = None,
    sensitivity: bool = False,
    progress: Progress | None = None,
    land_values: LandValues | None = None,
    effort: EffortParams = DEFAULT_EFFORT,
    engine: Any = None,
    surface_cache: Any = None,
    reuse_surface: bool = True,
    exposure_distance_m: float = EXPOSURE_DISTANCE_M,
) -> PrioritisationResult:
    """Rank clearance tasks from the canonical layers.

    Parameters
    ----------
    layers : mapping of layer name to GeoDataFrame
        Any of :data:`RISK_LAYERS`: ``hazards``, ``strikes``, ``casualties``, ``cleared``,
        ``farmland``, ``settlements`` (canonical frames, EPSG:4326; a ``batch_id`` column,
        as the store adds, is recorded). ``settlements`` adds people exposed.
    weights : Weights, optional
        Default set if None.
    as_of : date-like, optional
        The plan's date: records dated after it are not used (no look-ahead), casualty
        recency and the season are measured from it. Default: today (UTC), recorded.
    frontline : GeoDataFrame or GeoSeries, optional
        For compensation eligibility (unknown without it).
    top : int, optional
        N for sensitivity's top-N (default 10).
    sensitivity : bool
        Also run the ±20 % / leave-one-out sensitivity analysis.
    progress : callable(stage, fraction), optional
    land_values : LandValues, optional
    effort : EffortParams
    engine : Engine, optional
        Runs the geometry (hazard surface and tasks) elsewhere, e.g. on a Dask cluster
        (:func:`minemap.risk.engines.get_engine`); the result is the same. Default: here,
        in this process. Scoring and ranking always run here (normalisation is global).
    surface_cache : Store, optional
        The store the layers were read from: the hazard surface computed last time is
        kept there and only the components touched by batches added or undone since are
        recomputed (:mod:`minemap.risk.surface_cache`; same result as a full run); the
        tasks of every component left unchanged are reused too, only the others are cut
        (:mod:`minemap.risk.task_cache`). A plan date that sets records aside updates
        the kept surface and tasks without overwriting them. Not used with ``engine``.
        The run record's ``surface`` and ``tasks`` say what happened.
    reuse_surface : bool
        False: ignore the kept surface and tasks and compute them whole (then keep them).
    exposure_distance_m : float
        Reach of a settlement for people exposed (metres, default 2,000).

    Returns
    -------
    PrioritisationResult
    """
    unknown = sorted(set(layers) - set(RISK_LAYERS))
    if unknown:
        expected = ", ".join(RISK_LAYERS)
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; expected {expected}")
    for name, frame in layers.items():
        require_storage_crs(frame, what=f"{name} layer")
    step = progress or (lambda stage, fraction: None)
    as_of_ts = _as_timestamp(as_of) or pd.Timestamp(dt.datetime.now(dt.UTC).date())
    masks = _as_of_masks(layers, as_of_ts)
    used, excluded = filter_as_of(layers, as_of_ts)

    from minemap.risk.footprints import strike_footprints
    from minemap.risk.surface import hazard_surface
    from minemap.risk.tasks import attribute_points, make_tasks

    step("footprints", 0.0)
    strikes = used.get("strikes")
    all_strikes = layers.get("strikes")
    all_footprints = None
    if engine is None and surface_cache is not None and all_strikes is not None:
        # the kept surface is checked against whole batches: footprints of every strike
        # (row by row, so the plan date's rows of them are the footprints of its strikes)
        all_footprints = strike_footprints(all_strikes) if len(all_strikes) else None
        footprints = all_footprints
        if all_footprints is not None and "strikes" in masks:
            footprints = all_footprints[masks["strikes"]] if masks["strikes"].any() else None
    else:
        footprints = strike_footprints(strikes) if strikes is not None and len(strikes) else None
    step("hazard surface", 0.05)
    # what every way of cutting the tasks gets (cached, plain, or by an engine)
    task_inputs: dict[str, Any] = {
        "farmland": used.get("farmland"),
        "hazards": used.get("hazards"),
        "footprints": footprints,
        "casualties": used.get("casualties"),
        "as_of": as_of_ts,
    }
    surface_record: dict[str, Any]
    surface_summary = None
    if engine is None:
        if surface_cache is not None:
            from minemap.risk.surface_cache import cached_hazard_surface

            # the whole batches and which records the plan date keeps: records set aside
            # are removed records relative to the kept surface of all records
            run = cached_hazard_surface(
                surface_cache,
                hazards=layers.get("hazards"),
                strikes=all_strikes,
                footprints=all_footprints,
                casualties=layers.get("casualties"),
                released=layers.get("cleared"),
                keep=masks,
                reuse=reuse_surface,
            )
            surface = run.surface
            surface_record = run.to_record()
            surface_summary = run.summary()
            step("tasks", 0.2)
            from minemap.risk.task_cache import cached_make_tasks

            # the tasks of every component the surface kept unchanged are reused
            tasks_run = cached_make_tasks(surface_cache, run, **task_inputs, reuse=reuse_surface)
            tasks = tasks_run.tasks
            tasks_record = {**tasks_run.to_record(), "summary": tasks_run.summary()}
        else:
            surface = hazard_surface(
                hazards=used.get("hazards"),
                footprints=footprints,
                casualties=used.get("casualties"),
                released=used.get("cleared"),
            )
            surface_record = {"mode": "full", "reason": "no store cache given"}
            step("tasks", 0.2)
            tasks = make_tasks(surface, **task_inputs)
            tasks_record = {"mode": "full", "reason": "no store cache given"}
    else:
        tasks = engine.build_tasks(
            **task_inputs,
            released=used.get("cleared"),
            progress=lambda f: step("hazard surface and tasks", 0.05 + 0.25 * f),
        )
        surface_record = {"mode": "full", "reason": "computed by the engine"}
        tasks_record = {"mode": "full", "reason": "computed by the engine"}

    lost = _unattributed(tasks, used.get("casualties"), footprints, attribute_points)
    unattributed = pd.DataFrame(lost, columns=["layer", "record_id", "reason"])

    result = rank_tasks(
        tasks,
        weights=weights,
        as_of=as_of_ts,
        frontline=frontline,
        land_values=land_values,
        effort=effort,
        top=top,
        sensitivity=sensitivity,
        progress=lambda stage, f: step(stage, 0.3 + 0.7 * f),
        settlements=used.get("settlements"),  # people exposed (optional layer)
        exposure_distance_m=exposure_distance_m,
    )
    result.run_record["inputs"] = {
        name: {
            "n_records": len(layers[name]),
            "n_used": len(used[name]),
            "n_after_as_of": excluded.get(name, 0),
            "batch_ids": _batch_ids(layers[name]),
        }
        for name in sorted(layers)
    }
    result.run_record["n_unattributed"] = len(unattributed)
    surface_record.setdefault(
        "summary", surface_summary or f"surface: full ({surface_record['reason']})"
    )
    result.run_record["surface"] = surface_record
    result.run_record["tasks"] = tasks_record
    if engine is not None:
        result.run_record["engine"] = engine.describe()
    result.unattributed = unattributed
    return result
