"""Benchmark: the local engine against the Dask engine with 1 and 2 workers, same data, same run.

Usage::

    python benchmarks/bench_dask.py --size S
    python benchmarks/bench_dask.py --size M --workers 1 2 --sweep 8

Data come from ``benchmarks/synth.py`` (fixed seed; generation not timed). Each variant runs
the whole ``prioritise`` (footprints → surface → tasks → score/rank, ``as_of`` fixed):

* ``local``: the single-process pipeline (two shapely threads), as ``minemap prioritise``;
* ``local/partitioned``: the Dask engine's split run one partition after another in this
  process — the cost of partitioning alone, without a cluster;
* ``dask/N``: a fresh ``LocalCluster`` of N worker processes × 1 thread (cluster start-up
  is timed separately; a warm-up call imports minemap on the workers first, as a long-lived
  cluster would have).

Wall time is the call; peak memory is the client process's peak RSS during the call
(sampled every 20 ms, includes the input layers held here) and, for Dask, each worker
process's peak RSS (sampled in the worker; its idle RSS is printed beside it). Every variant's
``ranking_sha256`` is printed and must be equal. ``--sweep K`` also times ranking one task frame
with K weight sets, each with its sensitivity analysis (``rank_many``: the fan-out part of
``prioritise_many``) locally and on each cluster. CPU seconds (client + workers) are printed
too: unlike wall time they hardly depend on what else the machine is doing.

Data per partition: the pickled size of each partition's payload (what ``scatter`` sends)
and of its task frame (what comes back).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import psutil
import synth
from _measure import measure

from minemap.risk.engines import (
    LocalEngine,
    get_engine,
    plan_partitions,
    rank_many,
    run_partition,
    subset_layers,
)
from minemap.risk.footprints import strike_footprints
from minemap.risk.pipeline import prioritise
from minemap.risk.weights import default_weights, weights_from_mapping

AS_OF = "2025-07-01"


def _sweep_sets(k: int) -> list:
    base = default_weights()
    rng = np.random.default_rng(7)
    sets = [base]
    for i in range(1, k):
        w = {c: float(v) * float(rng.uniform(0.5, 1.5)) for c, v in base.weights.items()}
        sets.append(weights_from_mapping({"name": f"scenario {i}", "version": "1", "weights": w}))
    return sets


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def partition_sizes(layers, n_partitions: int) -> None:
    """Print records and pickled bytes per partition (sent) and per task frame (returned)."""
    fp = strike_footprints(layers["strikes"])
    frames = {
        "hazards": layers["hazards"],
        "footprints": fp,
        "casualties": layers["casualties"],
        "released": layers["cleared"],
        "farmland": layers["farmland"],
    }
    t0 = time.perf_counter()
    plan = plan_partitions(**frames, n_partitions=n_partitions)
    plan_s = time.perf_counter() - t0
    whole = len(pickle.dumps(frames, protocol=5))
    sent, back, records = [], [], []
    for part in plan.partitions:
        payload = subset_layers(frames, part)
        sent.append(len(pickle.dumps(payload, protocol=5)))
        records.append(sum(part.n_records().values()))
        tasks = run_partition(payload, as_of=AS_OF, n_threads=1)
        back.append(len(pickle.dumps(tasks, protocol=5)))
    sent_a, back_a = np.array(sent), np.array(back)
    print(
        f"plan: {plan.n_groups:,} independent groups → {len(plan.partitions)} partitions "
        f"in {plan_s:.2f} s; records/partition mean {np.mean(records):,.0f} max "
        f"{max(records):,}"
    )
    print(
        f"  sent per partition mean {_mb(sent_a.mean())} max {_mb(sent_a.max())}; total "
        f"{_mb(sent_a.sum())} vs all inputs pickled {_mb(whole)} "
        f"({sent_a.sum() / whole:.2f}×: farmland far from evidence is never sent, "
        "a parcel near two partitions goes to both)"
    )
    print(
        f"  returned per partition mean {_mb(back_a.mean())} max {_mb(back_a.max())}; "
        f"total {_mb(back_a.sum())}"
    )


def _cpu_s() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def _worker_start(dask_worker) -> float:
    """Start sampling this worker's RSS every 20 ms; return its RSS now (MB)."""
    proc = psutil.Process()
    state = {"peak": proc.memory_info().rss, "stop": threading.Event()}

    def loop() -> None:
        while not state["stop"].wait(0.02):
            state["peak"] = max(state["peak"], proc.memory_info().rss)

    threading.Thread(target=loop, daemon=True).start()
    dask_worker._bench_state = state
    return proc.memory_info().rss / 1e6


def _worker_stop(dask_worker) -> tuple[float, float]:
    """(peak RSS MB since start, CPU seconds of this worker process so far)."""
    state = dask_worker._bench_state
    state["stop"].set()
    return state["peak"] / 1e6, _cpu_s()


def _worker_cpu(dask_worker) -> float:
    return _cpu_s()


def main() -> None:
    parser = argparse.ArgumentParser(description="minemap local vs Dask engine benchmark")
    parser.add_argument("--size", default="S", choices=list(synth.SIZES))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions-per-thread", type=int, default=4)
    parser.add_argument("--sweep", type=int, default=0, help="also rank K weight sets")
    parser.add_argument("--skip-sizes", action="store_true", help="skip the per-partition sizes")
    parser.add_argument(
        "--skip-partitioned", action="store_true", help="skip the local partitioned run"
    )
    args = parser.parse_args()

    from distributed import LocalCluster

    t0 = time.perf_counter()
    layers = synth.generate(args.size)
    counts = ", ".join(f"{k} {len(v):,}" for k, v in layers.items())
    print(f"size {args.size}: {counts} (generated in {time.perf_counter() - t0:.1f} s)")
    print(f"cpus {os.cpu_count()}; load average before {os.getloadavg()[0]:.1f}")

    cpu0 = _cpu_s()
    local = measure("local (1 process, 2 threads)", lambda: prioritise(layers, as_of=AS_OF))
    local_cpu = _cpu_s() - cpu0
    print(local.line(), f"  CPU {local_cpu:.1f} s; {len(local.result.tasks):,} tasks")
    ref = local.result.run_record["ranking_sha256"]
    n_part = args.partitions_per_thread * max(args.workers)
    if not args.skip_partitioned:
        part = measure(
            f"local/partitioned ({n_part} partitions)",
            lambda: prioritise(layers, as_of=AS_OF, engine=LocalEngine(partitions=n_part)),
        )
        same = part.result.run_record["ranking_sha256"] == ref
        print(part.line(), f"  same ranking: {same}")
        del part
    if not args.skip_sizes:
        partition_sizes(layers, n_part)

    sweep_sets = _sweep_sets(args.sweep) if args.sweep else []
    tasks = None
    sweep_local = None
    if sweep_sets:
        capture = LocalEngine()
        tasks = capture.build_tasks(
            hazards=layers["hazards"],
            footprints=strike_footprints(layers["strikes"]),
            casualties=layers["casualties"],
            released=layers["cleared"],
            farmland=layers["farmland"],
            as_of=pd.Timestamp(AS_OF),
        )
        options = {"as_of": AS_OF, "sensitivity": True}
        sweep_local = measure(
            f"rank {len(sweep_sets)} weight sets (+sensitivity), local",
            lambda: rank_many(tasks, sweep_sets, **options),
        )
        print(sweep_local.line())

    for n in args.workers:
        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        engine = get_engine(
            "dask",
            scheduler=cluster.scheduler_address,
            partitions_per_thread=args.partitions_per_thread,
        )
        client = engine.client
        client.run(lambda: __import__("minemap.risk.engines"))  # warm imports
        start_s = time.perf_counter() - t0
        idle = client.run(_worker_start)
        wcpu0 = sum(client.run(_worker_cpu).values())
        cpu0 = _cpu_s()
        run = measure(
            f"dask/{n} worker(s) × 1 thread",
            lambda e=engine: prioritise(layers, as_of=AS_OF, engine=e),
        )
        client_cpu = _cpu_s() - cpu0
        stops = client.run(_worker_stop)
        worker_cpu = sum(c for _, c in stops.values()) - wcpu0
        same = run.result.run_record["ranking_sha256"] == ref
        steps = ", ".join(f"{k} {v:.2f}" for k, v in engine.last_timings.items())
        peaks = ", ".join(f"{p:,.0f}" for p, _ in stops.values())
        idles = ", ".join(f"{v:,.0f}" for v in idle.values())
        print(f"{run.line()}  same ranking: {same}; cluster start {start_s:.1f} s")
        print(
            f"    workers peak RSS {peaks} MB (idle {idles} MB); CPU client {client_cpu:.1f} s "
            f"+ workers {worker_cpu:.1f} s = {client_cpu + worker_cpu:.1f} s "
            f"(local {local_cpu:.1f} s)"
        )
        print(
            f"    build_tasks: {steps}; ratio dask/local wall {run.seconds / local.seconds:.2f}× "
            f"(>1: local faster)"
        )
        if sweep_sets:
            sw = measure(
                f"rank {len(sweep_sets)} weight sets (+sensitivity), dask/{n}",
                lambda e=engine: rank_many(tasks, sweep_sets, engine=e, **options),
            )
            print(f"{sw.line()}  ratio dask/local {sw.seconds / sweep_local.seconds:.2f}×")
        engine.close()
        cluster.close()
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
