"""Where the prioritisation geometry runs: here (``local``) or on a Dask cluster (``dask``).

An engine builds the task frame (hazard surface → tasks) from the prepared layers and maps
a function over many inputs (scenario sweeps). Scoring, normalisation and ranking always run
in the calling process: normalisation is relative to the whole task list, so it must see all
of it.

>>> from minemap.risk.engines import get_engine
>>> get_engine("local").describe()["engine"]
'local'

Every engine gives the same result as the single-process pipeline: same task ids, the same
geometries and numbers, the same ranks (tested on real and synthetic data). See
``docs/scaling.md`` for when each engine wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from minemap.risk.effort import DEFAULT_EFFORT, EffortParams
from minemap.risk.engines._partition import Partition, PartitionPlan, plan_partitions
from minemap.risk.farmland import LandValues
from minemap.risk.pipeline import PrioritisationResult, Progress, prioritise, rank_tasks
from minemap.risk.weights import Weights

__all__ = [
    "ENGINES",
    "Engine",
    "LocalEngine",
    "Partition",
    "PartitionPlan",
    "assemble_tasks",
    "get_engine",
    "plan_partitions",
    "prioritise_many",
    "rank_many",
    "run_partition",
    "subset_layers",
]

ENGINES = ("local", "dask")

GEOMETRY_LAYERS = ("hazards", "footprints", "casualties", "released", "farmland")


class Engine(Protocol):
    """What :func:`minemap.risk.pipeline.prioritise` needs from an engine."""

    name: str

    def build_tasks(
        self,
        *,
        hazards: gpd.GeoDataFrame | None,
        footprints: gpd.GeoDataFrame | None,
        casualties: gpd.GeoDataFrame | None,
        released: gpd.GeoDataFrame | None,
        farmland: gpd.GeoDataFrame | None,
        as_of: pd.Timestamp,
        progress: Callable[[float], None] | None = None,
    ) -> gpd.GeoDataFrame:
        """Hazard surface and tasks, as ``make_tasks(hazard_surface(...), ...)`` returns."""
        ...

    def map(self, func: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """``[func(item, **shared) for item in items]``, possibly elsewhere; in order."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able description for the run record."""
        ...

    def close(self) -> None:
        """Release what the engine started (cluster, client)."""
        ...


def subset_layers(
    layers: Mapping[str, gpd.GeoDataFrame | None], partition: Partition
) -> dict[str, gpd.GeoDataFrame | None]:
    """The rows of one partition of each layer (index and row order kept; None stays None)."""
    return {
        name: None if layers.get(name) is None else layers[name].iloc[partition.rows[name]]
        for name in GEOMETRY_LAYERS
    }


def run_partition(
    frames: Mapping[str, gpd.GeoDataFrame | None], *, as_of: pd.Timestamp, n_threads: int
) -> gpd.GeoDataFrame:
    """Hazard surface and tasks of one partition — the single-process code, unchanged.

    Parameters
    ----------
    frames : mapping
        ``hazards``, ``footprints``, ``casualties``, ``released``, ``farmland`` (see
        :func:`subset_layers`).
    as_of : Timestamp
        Reference date for casualty recency (as the pipeline passes it).
    n_threads : int
        Threads for the vectorised shapely work.

    Returns
    -------
    GeoDataFrame
        The task frame of ``make_tasks`` with its ``attrs``.
    """
    from minemap.risk.surface import hazard_surface
    from minemap.risk.tasks import make_tasks

    surface = hazard_surface(
        hazards=frames["hazards"],
        footprints=frames["footprints"],
        casualties=frames["casualties"],
        released=frames["released"],
        n_threads=n_threads,
    )
    return make_tasks(
        surface,
        farmland=frames["farmland"],
        hazards=frames["hazards"],
        footprints=frames["footprints"],
        casualties=frames["casualties"],
        as_of=as_of,
        n_threads=n_threads,
    )


def _outside_ids(casualties: gpd.GeoDataFrame | None, positions: np.ndarray) -> list[str]:
    if casualties is None or len(positions) == 0:
        return []
    if "incident_id" in casualties:
        ids = casualties["incident_id"].astype(str).to_numpy()
    else:
        ids = np.array([f"#{i}" for i in casualties.index])
    return ids[positions].tolist()


def assemble_tasks(
    parts: Sequence[gpd.GeoDataFrame],
    *,
    casualties: gpd.GeoDataFrame | None = None,
    plan: PartitionPlan | None = None,
) -> gpd.GeoDataFrame:
    """One task frame from the partitions' frames, as a single run would have built it.

    Rows sorted by ``task_id`` (component ids are content hashes, so partitions never
    clash); ``attrs``: ``casualties_outside`` is the sorted union (plus the casualty rows no
    partition received, which have no usable geometry), ``dropped_sliver_area_m2`` the sum.
    """
    if not parts:
        raise ValueError("no partition results to assemble")
    frames = [p for p in parts if len(p)] or [parts[0]]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    order = np.argsort(out["task_id"].to_numpy(dtype=str), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    outside = [rid for p in parts for rid in p.attrs.get("casualties_outside", [])]
    if plan is not None:
        outside += _outside_ids(casualties, plan.unshipped_casualties)
    out.attrs = {
        "area_crs": parts[0].attrs.get("area_crs"),
        "as_of": parts[0].attrs.get("as_of"),
        "casualties_outside": sorted(outside),
        "dropped_sliver_area_m2": float(
            sum(p.attrs.get("dropped_sliver_area_m2", 0.0) for p in parts)
        ),
    }
    return out


class LocalEngine:
    """Run in this process: the single-process pipeline, or partition by partition.

    Parameters
    ----------
    partitions : int, optional
        None (default): one call over everything, exactly as ``prioritise`` without an engine.
        A number: split as the Dask engine does and run the partitions one after another
        (same result; bounds the working memory of the geometry steps).
    n_threads : int, optional
        Threads for the shapely work (default: the risk core's, 2).
    """

    name = "local"

    def __init__(self, *, partitions: int | None = None, n_threads: int | None = None) -> None:
        from minemap.risk._spatial import N_THREADS

        if partitions is not None and partitions < 1:
            raise ValueError("partitions must be at least 1")
        self.partitions = partitions
        self.n_threads = N_THREADS if n_threads is None else int(n_threads)
        self.last_plan: PartitionPlan | None = None

    def build_tasks(
        self,
        *,
        hazards: gpd.GeoDataFrame | None,
        footprints: gpd.GeoDataFrame | None,
        casualties: gpd.GeoDataFrame | None,
        released: gpd.GeoDataFrame | None,
        farmland: gpd.GeoDataFrame | None,
        as_of: pd.Timestamp,
        progress: Callable[[float], None] | None = None,
    ) -> gpd.GeoDataFrame:
        """See :meth:`Engine.build_tasks`."""
        layers = {
            "hazards": hazards,
            "footprints": footprints,
            "casualties": casualties,
            "released": released,
            "farmland": farmland,
        }
        if self.partitions is None:
            return run_partition(layers, as_of=as_of, n_threads=self.n_threads)
        plan = plan_partitions(**layers, n_partitions=self.partitions)
        self.last_plan = plan
        parts = []
        for k, part in enumerate(plan.partitions):
            parts.append(
                run_partition(subset_layers(layers, part), as_of=as_of, n_threads=self.n_threads)
            )
            if progress is not None:
                progress((k + 1) / len(plan.partitions))
        return assemble_tasks(parts, casualties=casualties, plan=plan)

    def map(self, func: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """``[func(item, **shared) for item in items]``."""
        return [func(item, **shared) for item in items]

    def describe(self) -> dict[str, Any]:
        """``{"engine": "local", "partitions": ..., "n_threads": ...}``."""
        out: dict[str, Any] = {"engine": "local", "n_threads": self.n_threads}
        if self.partitions is not None:
            out["partitions"] = self.partitions
        if self.last_plan is not None:
            out["plan"] = _plan_record(self.last_plan)
        return out

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _plan_record(plan: PartitionPlan) -> dict[str, Any]:
    return {
        "n_partitions": len(plan.partitions),
        "n_groups": plan.n_groups,
        "note": plan.reason,
    }


def get_engine(name: str = "local", *, scheduler: str | None = None, **options: Any) -> Any:
    """An engine by name.

    Parameters
    ----------
    name : {"local", "dask"}
    scheduler : str, optional
        Dask only: address of a running scheduler (``tcp://host:8786``). Without it a
        ``LocalCluster`` is started on first use and closed by ``close()``.
    **options
        Passed to :class:`LocalEngine` or :class:`~minemap.risk.engines.dask.DaskEngine`.

    Returns
    -------
    LocalEngine or DaskEngine

    Raises
    ------
    ValueError
        Unknown engine name, or ``scheduler`` given for the local engine.
    ImportError
        ``dask`` asked for but ``dask[distributed]`` is not installed (message says how).
    """
    if name == "local":
        if scheduler is not None:
            raise ValueError("a scheduler address only applies to the dask engine")
        return LocalEngine(**options)
    if name == "dask":
        from minemap.risk.engines.dask import DaskEngine

        return DaskEngine(scheduler=scheduler, **options)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


class _Capture:
    """Wraps an engine and keeps the task frame it built (for the sweep)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.tasks: gpd.GeoDataFrame | None = None

    def build_tasks(self, **kwargs: Any) -> gpd.GeoDataFrame:
        self.tasks = self.inner.build_tasks(**kwargs)
        return self.tasks

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def _rank_one(weights: Weights, *, tasks: gpd.GeoDataFrame, options: dict) -> PrioritisationResult:
    """``rank_tasks`` without the geometry in the result: the geometries are the input's,
    so the caller re-attaches them by ``task_id`` instead of receiving every polygon back."""
    res = rank_tasks(tasks, weights=weights, **options)
    res.tasks = pd.DataFrame(res.tasks.drop(columns=res.tasks.geometry.name))
    return res


def _with_geometry(res: PrioritisationResult, tasks: gpd.GeoDataFrame) -> PrioritisationResult:
    ids = pd.Index(tasks["task_id"].astype(str))
    where = ids.get_indexer(res.tasks["task_id"].astype(str))
    geoms = np.asarray(tasks.geometry.array, dtype=object)[where]
    res.tasks = gpd.GeoDataFrame(res.tasks, geometry=geoms, crs=tasks.crs)
    return res


def rank_many(
    tasks: gpd.GeoDataFrame,
    weight_sets: Sequence[Weights],
    *,
    engine: Any = None,
    **options: Any,
) -> list[PrioritisationResult]:
    """:func:`~minemap.risk.pipeline.rank_tasks` once per weight set, fanned out on ``engine``.

    Parameters
    ----------
    tasks : GeoDataFrame
        A task frame (``make_tasks`` output); sent to each worker once.
    weight_sets : sequence of Weights
    engine : Engine, optional
        Default :class:`LocalEngine` (one after another, here).
    **options
        Keyword options of ``rank_tasks`` (``as_of``, ``frontline``, ``land_values``,
        ``effort``, ``top``, ``sensitivity``, ``season_floor``); not ``progress``.

    Returns
    -------
    list of PrioritisationResult
        In the order of ``weight_sets``.
    """
    eng = engine if engine is not None else LocalEngine()
    results = eng.map(_rank_one, list(weight_sets), tasks=tasks, options=options)
    return [_with_geometry(res, tasks) for res in results]


def prioritise_many(
    layers: Mapping[str, gpd.GeoDataFrame],
    weight_sets: Sequence[Weights],
    *,
    engine: Any = None,
    as_of: Any = None,
    frontline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    top: int | None = None,
    sensitivity: bool = False,
    land_values: LandValues | None = None,
    effort: EffortParams = DEFAULT_EFFORT,
    progress: Progress | None = None,
) -> list[PrioritisationResult]:
    """One prioritisation per weight set, sharing one geometry run: a scenario sweep.

    The hazard surface and tasks do not depend on the weights, so they are built once (on
    ``engine``); scoring, ranking and — with ``sensitivity`` — each set's ±20 % /
    leave-one-out analysis then fan out over the same engine, one job per weight set, with
    the task frame sent to each worker once.

    Parameters
    ----------
    layers : mapping of layer name to GeoDataFrame
        As for :func:`~minemap.risk.pipeline.prioritise`.
    weight_sets : sequence of Weights
        At least one.
    engine : Engine, optional
        Default :class:`LocalEngine`.
    as_of, frontline, top, sensitivity, land_values, effort, progress
        As for :func:`~minemap.risk.pipeline.prioritise` (``as_of`` default: today, UTC,
        the same date for every set).

    Returns
    -------
    list of PrioritisationResult
        In the order of ``weight_sets``; each equal to ``prioritise(layers, weights=w, ...)``.
    """
    sets = list(weight_sets)
    if not sets:
        raise ValueError("give at least one weight set")
    eng = engine if engine is not None else LocalEngine()
    if as_of is None:
        as_of_ts = pd.Timestamp(dt.datetime.now(dt.UTC).date())
    else:
        as_of_ts = pd.Timestamp(as_of)
        as_of_ts = as_of_ts.tz_localize(None) if as_of_ts.tzinfo else as_of_ts
    step = progress or (lambda stage, fraction: None)
    capture = _Capture(eng)
    share = 1.0 / len(sets)
    first = prioritise(
        layers,
        weights=sets[0],
        as_of=as_of_ts,
        frontline=frontline,
        top=top,
        sensitivity=sensitivity,
        land_values=land_values,
        effort=effort,
        engine=capture,
        progress=lambda stage, f: step(stage, f * share),
    )
    if len(sets) == 1:
        return [first]
    step("weight sets", share)
    options = {
        "as_of": as_of_ts,
        "frontline": frontline,
        "land_values": land_values,
        "effort": effort,
        "top": top,
        "sensitivity": sensitivity,
        "settlements": layers.get("settlements"),  # people exposed, as prioritise does
    }
    rest = rank_many(capture.tasks, sets[1:], engine=eng, **options)
    for res in rest:
        res.run_record["inputs"] = {k: dict(v) for k, v in first.run_record["inputs"].items()}
        res.run_record["n_unattributed"] = first.run_record["n_unattributed"]
        res.run_record["engine"] = first.run_record["engine"]
        res.unattributed = first.unattributed.copy()
    step("done", 1.0)
    return [first, *rest]
