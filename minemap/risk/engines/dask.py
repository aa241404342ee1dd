"""The prioritisation geometry on ``dask.distributed``: a local cluster or an existing one.

How a run is split (the same code the single-process pipeline runs, on less data):

1. **Plan, here.** :func:`~minemap.risk.engines._partition.plan_partitions` links evidence
   that could touch (an STRtree ``dwithin`` pass in lon/lat with a conservative distance),
   takes the connected groups — each a union of whole hazard-surface components — and packs
   them into about ``partitions_per_thread × worker threads`` partitions of equal weight.
   Released land and farmland within reach of a partition go with it.
2. **Ship each partition once.** Its rows are cut from the layers here and ``scatter``-ed to
   a worker (round-robin), so every record crosses the network about once — never the whole
   country to every worker, and no data inside the task graph.
3. **Work, there.** Each worker runs ``hazard_surface`` → ``make_tasks`` on its partition
   (:func:`~minemap.risk.engines.run_partition`).
4. **Gather, here.** The task frames are concatenated and sorted by ``task_id``
   (:func:`~minemap.risk.engines.assemble_tasks`); the pipeline then scores and ranks here,
   because normalisation is relative to the whole task list.

Scenario sweeps (:func:`~minemap.risk.engines.prioritise_many`) send the task frame to every
worker once (``scatter(broadcast=True)``) and run one ``rank_tasks`` job per weight set.

Workers must be able to import the same minemap version as the client (on an existing
cluster: install minemap in the workers' environment).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import geopandas as gpd
import pandas as pd

from minemap.risk.engines import (
    GEOMETRY_LAYERS,
    _plan_record,
    assemble_tasks,
    plan_partitions,
    run_partition,
    subset_layers,
)
from minemap.risk.engines._partition import PartitionPlan

__all__ = ["DaskEngine"]

_INSTALL_HINT = (
    "the dask engine needs dask[distributed]: pip install 'minemap[dask]' "
    "(or pip install 'dask[distributed]')"
)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - dask is in the test extra
        raise ImportError(_INSTALL_HINT) from exc
    return distributed


class DaskEngine:
    """Run the hazard surface and tasks on a Dask cluster (see module docstring).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). None: start a
        ``LocalCluster`` on first use (closed again by :meth:`close`).
    client : distributed.Client, optional
        Use this client instead (not closed by :meth:`close`).
    n_workers : int, optional
        LocalCluster only: worker processes (default: CPU count).
    threads_per_worker : int
        LocalCluster only (default 1: the geometry is CPU-bound and partitions are many).
    processes : bool
        LocalCluster only: workers in separate processes (default True; no shared GIL).
    partitions : int, optional
        Number of partitions (default ``partitions_per_thread`` × worker threads).
    partitions_per_thread : int
        Default 4: enough to even out unequal partitions, few enough to keep overhead low.
    n_threads : int, optional
        Threads for the shapely work inside one partition (default: the worker's thread
        count, so a 1-thread worker uses one core).
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        client: Any = None,
        n_workers: int | None = None,
        threads_per_worker: int = 1,
        processes: bool = True,
        partitions: int | None = None,
        partitions_per_thread: int = 4,
        n_threads: int | None = None,
    ) -> None:
        if partitions is not None and partitions < 1:
            raise ValueError("partitions must be at least 1")
        if partitions_per_thread < 1:
            raise ValueError("partitions_per_thread must be at least 1")
        _distributed()  # fail early, with the install hint
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = int(threads_per_worker)
        self.processes = processes
        self.partitions = partitions
        self.partitions_per_thread = int(partitions_per_thread)
        self.n_threads = n_threads
        self._client = client
        self._own_client = client is None
        self._cluster: Any = None
        self.last_plan: PartitionPlan | None = None
        self.last_timings: dict[str, float] = {}
        """Seconds of the last build: ``plan_s``, ``scatter_s``, ``compute_s``, ``gather_s``."""

    # -- cluster ----------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connects or starts a LocalCluster on first use)."""
        if self._client is None:
            distributed = _distributed()
            if self.scheduler is not None:
                self._client = distributed.Client(self.scheduler, set_as_default=False)
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=self.n_workers or os.cpu_count() or 1,
                    threads_per_worker=self.threads_per_worker,
                    processes=self.processes,
                    dashboard_address=":0",
                )
                self._client = distributed.Client(self._cluster, set_as_default=False)
        return self._client

    def worker_threads(self) -> dict[str, int]:
        """Threads of each connected worker (address → threads)."""
        return dict(self.client.nthreads())

    def close(self) -> None:
        """Close the client and the LocalCluster this engine started (not a given client)."""
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            # Workers first (their nannies stop them, heartbeats included), then the
            # scheduler: a scheduler closed under a worker whose heartbeat is in flight
            # makes that worker log a traceback on the user's terminal.
            # (`_correct_state` is SpecCluster's own step that closes the workers scaled
            # away; should it change, the suppress leaves the old order: scheduler first.)
            with contextlib.suppress(Exception):  # closing must not fail a finished run
                self._cluster.scale(0)
                self._cluster.sync(self._cluster._correct_state)
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- work -------------------------------------------------------------------------------
    def _partition_count(self) -> int:
        if self.partitions is not None:
            return self.partitions
        return max(1, self.partitions_per_thread * sum(self.worker_threads().values()))

    def _inner_threads(self) -> int:
        if self.n_threads is not None:
            return int(self.n_threads)
        threads = self.worker_threads().values()
        return max(1, min(threads)) if threads else 1

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
        """Hazard surface and tasks, built partition by partition on the cluster.

        Returns
        -------
        GeoDataFrame
            Equal to ``make_tasks(hazard_surface(...), ...)`` on the whole input.
        """
        distributed = _distributed()
        client = self.client
        t0 = time.perf_counter()
        layers = dict(
            zip(GEOMETRY_LAYERS, (hazards, footprints, casualties, released, farmland), strict=True)
        )
        plan = plan_partitions(**layers, n_partitions=self._partition_count())
        self.last_plan = plan
        t1 = time.perf_counter()
        payloads = [subset_layers(layers, part) for part in plan.partitions]
        data = client.scatter(payloads, hash=False)
        del payloads
        t2 = time.perf_counter()
        futures = client.map(
            run_partition, data, as_of=as_of, n_threads=self._inner_threads(), pure=False
        )
        for k, _ in enumerate(distributed.as_completed(futures, loop=client.loop), start=1):
            if progress is not None:
                progress(k / len(futures))
        t3 = time.perf_counter()
        parts = client.gather(futures)
        del data, futures
        out = assemble_tasks(parts, casualties=casualties, plan=plan)
        self.last_timings = {
            "plan_s": t1 - t0,
            "scatter_s": t2 - t1,
            "compute_s": t3 - t2,
            "gather_s": time.perf_counter() - t3,
        }
        return out

    def map(self, func: Callable[..., Any], items: Iterable[Any], **shared: Any) -> list[Any]:
        """``[func(item, **shared) for item in items]`` on the cluster, results in order.

        Each ``shared`` value is sent to every worker once (not once per item).
        """
        client = self.client
        sent = {
            key: value if value is None else client.scatter([value], broadcast=True, hash=False)[0]
            for key, value in shared.items()
        }
        futures = client.map(func, list(items), pure=False, **sent)
        out = client.gather(futures)
        del futures, sent
        return out

    def describe(self) -> dict[str, Any]:
        """Engine, scheduler, workers and the last partition plan (for the run record)."""
        out: dict[str, Any] = {"engine": "dask"}
        if self._client is not None:
            threads = self.worker_threads()
            out.update(
                {
                    "scheduler": "LocalCluster" if self._cluster is not None else self.scheduler,
                    "n_workers": len(threads),
                    "worker_threads": sum(threads.values()),
                }
            )
        if self.last_plan is not None:
            out["plan"] = _plan_record(self.last_plan)
        return out
