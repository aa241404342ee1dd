"""Benchmark: minemap's risk core vs a naive geopandas pipeline, on the same synthetic data.

Usage::

    python benchmarks/bench_risk.py --size M            # both pipelines
    python benchmarks/bench_risk.py --size L --skip-naive

Data are generated in memory by ``benchmarks/synth.py`` (fixed seed) — generation is not timed.
Each pipeline then runs in its own forked child process, so its wall time and peak memory are
measured alone (peak = the child's maximum resident set size, which includes the input layers
inherited from the parent; the parent's size after generation is printed for reference).

* **minemap**: ``strike_footprints`` → ``hazard_surface`` (STRtree pairs, connected components,
  per-component union, released land subtracted per component) → ``make_tasks`` (per-parcel
  split, ≤ 2 km grid pieces, evidence summary, casualty attribution), two threads.
* **naive**: what a geopandas user would write — buffer the strike and casualty points in
  EPSG:3035, ``union_all`` of all evidence (one national blob, exploded into polygons),
  ``overlay(how="difference")`` with the released land, ``overlay(how="intersection")`` with
  the farmland. It computes *less* than minemap (no grid cut, no evidence summary).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import synth

from minemap.risk import (
    casualty_buffers,
    hazard_surface,
    make_tasks,
    strike_footprints,
)
from minemap.risk.catalogue import load_catalogue, match_munitions


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_minemap(layers: dict[str, gpd.GeoDataFrame], n_threads: int) -> dict[str, object]:
    c0, t0 = time.process_time(), time.perf_counter()
    fp = strike_footprints(layers["strikes"])
    c1, t1 = time.process_time(), time.perf_counter()
    surface = hazard_surface(
        hazards=layers["hazards"],
        footprints=fp,
        casualties=layers["casualties"],
        released=layers["cleared"],
        n_threads=n_threads,
    )
    c2, t2 = time.process_time(), time.perf_counter()
    tasks = make_tasks(
        surface,
        farmland=layers["farmland"],
        hazards=layers["hazards"],
        footprints=fp,
        casualties=layers["casualties"],
        n_threads=n_threads,
    )
    c3, t3 = time.process_time(), time.perf_counter()
    return {
        "footprints_s": t1 - t0,
        "surface_s": t2 - t1,
        "tasks_s": t3 - t2,
        "total_s": t3 - t0,
        # CPU seconds of the process (all threads) per stage: comparable under load
        "footprints_cpu_s": c1 - c0,
        "surface_cpu_s": c2 - c1,
        "tasks_cpu_s": c3 - c2,
        "components": len(surface),
        "tasks": len(tasks),
        "parcel_tasks": int((tasks["kind"] == "parcel").sum()),
        "hazard_area_km2": float(tasks["area_m2"].sum()) / 1e6,
        "farmland_area_km2": float(tasks["farmland_area_m2"].sum()) / 1e6,
    }


def run_naive(layers: dict[str, gpd.GeoDataFrame], n_threads: int) -> dict[str, object]:
    del n_threads  # geopandas overlay is single-threaded
    c0, t0 = time.process_time(), time.perf_counter()
    cat = load_catalogue()
    strikes = layers["strikes"]
    m = match_munitions(strikes["munition_type"], catalogue=cat)
    default = np.where(strikes["cluster_munition"].fillna(False), 150.0, 50.0)
    radius = m["footprint_radius_m"].fillna(pd.Series(default, index=strikes.index))
    fp = strikes.to_crs("EPSG:3035").buffer(radius.to_numpy(), quad_segs=8)
    cas = layers["casualties"]
    cas_r = casualty_buffers(cas)["buffer_radius_m"].to_numpy()
    cb = cas.to_crs("EPSG:3035").buffer(cas_r, quad_segs=8)
    evidence = pd.concat(
        [layers["hazards"].to_crs("EPSG:3035").geometry, fp, cb], ignore_index=True
    )
    union = gpd.GeoDataFrame(geometry=[evidence.union_all()], crs="EPSG:3035").explode(
        ignore_index=True
    )
    c1, t1 = time.process_time(), time.perf_counter()
    released = layers["cleared"].to_crs("EPSG:3035")[["geometry"]]
    surface = gpd.overlay(union, released, how="difference")
    c2, t2 = time.process_time(), time.perf_counter()
    farmland = layers["farmland"].to_crs("EPSG:3035")[["parcel_id", "geometry"]]
    tasks = gpd.overlay(surface, farmland, how="intersection", keep_geom_type=True)
    c3, t3 = time.process_time(), time.perf_counter()
    return {
        "union_s": t1 - t0,
        "difference_s": t2 - t1,
        "intersection_s": t3 - t2,
        "total_s": t3 - t0,
        "union_cpu_s": c1 - c0,
        "difference_cpu_s": c2 - c1,
        "intersection_cpu_s": c3 - c2,
        "hazard_area_km2": float(surface.area.sum()) / 1e6,
        "farmland_area_km2": float(tasks.area.sum()) / 1e6,
    }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(name: str, layers, n_threads: int, conn) -> None:
    fn = run_minemap if name == "minemap" else run_naive
    cpu0 = _cpu_s()
    result = fn(layers, n_threads)
    result["cpu_s"] = _cpu_s() - cpu0  # all threads; compare with total_s on a busy machine
    result["peak_rss_mb"] = _rss_mb()
    result["load_avg_1min_at_end"] = os.getloadavg()[0]  # machine load: wall times depend on it
    conn.send(result)
    conn.close()


def _run(name: str, layers, n_threads: int, timeout_s: float) -> dict[str, object] | None:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, layers, n_threads, child))
    start = time.perf_counter()
    proc.start()
    child.close()
    result = parent.recv() if parent.poll(timeout_s) else None
    proc.join(5 if result is not None else 0.1)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if result is None:
        print(f"{name}: no result after {time.perf_counter() - start:.0f} s (timeout or crash)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="minemap risk benchmark")
    parser.add_argument("--size", default="S", choices=list(synth.SIZES))
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-minemap", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--naive-timeout", type=float, default=3600.0, help="seconds")
    args = parser.parse_args()

    t0 = time.perf_counter()
    layers = synth.generate(args.size)
    gen_s = time.perf_counter() - t0
    counts = ", ".join(f"{k} {len(v):,}" for k, v in layers.items())
    print(f"size {args.size}: {counts} (generated in {gen_s:.1f} s, not timed)")
    print(f"cpus {os.cpu_count()}, threads {args.threads}, load average "
          f"{os.getloadavg()[0]:.1f}; parent RSS after generation {_rss_mb():,.0f} MB")  # fmt: skip

    results = {}
    if not args.skip_minemap:
        results["minemap"] = _run("minemap", layers, args.threads, 3600.0)
    if not args.skip_naive:
        results["naive"] = _run("naive", layers, args.threads, args.naive_timeout)
    for name, res in results.items():
        if res is None:
            continue
        parts = ", ".join(
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()
        )
        print(f"{name}: {parts}")
    mine, naive = results.get("minemap"), results.get("naive")
    if mine and naive:
        print(f"speed-up (naive / minemap wall time): {naive['total_s'] / mine['total_s']:.1f}x; "
              f"CPU time: {naive['cpu_s'] / mine['cpu_s']:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
