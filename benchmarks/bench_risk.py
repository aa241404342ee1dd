"""Benchmark: minemap's risk core vs a naive geopandas pipeline, on the same synthetic data.

Usage::

    python benchmarks/bench_risk.py --size M            # both pipelines
    python benchmarks/bench_risk.py --size L --skip-naive
    python benchmarks/bench_risk.py --size L --skip-naive --parts 2 --threads 1 \
        --parts-mode processes     # proposal: two spatially independent parts
    python benchmarks/bench_risk.py --size L --skip-naive --gil-profile   # one thread

Each pipeline runs in its own forked child process, so its wall time and peak memory are
measured alone, and each child generates its layers itself with ``benchmarks/synth.py`` (fixed
seed: the same data in every child; generation is not timed) — as a real run holds the data
it loaded. (Until the sixth session the parent generated them and the children inherited
them: every first write to an inherited object — a reference count — then copies its memory
page, which cost the timed pipeline ~2–3 s wall and 3–5 CPU-s at L, more than any one pass of
the eighth; see docs/performance.md.) Peak = the child's maximum resident set size, including
its layers.

* **minemap**: ``strike_footprints`` → ``hazard_surface`` (STRtree pairs, connected components,
  per-component union, released land subtracted per component) → ``make_tasks`` (per-parcel
  split, ≤ 2 km grid pieces, evidence summary, casualty attribution), two threads.
* **naive**: what a geopandas user would write — buffer the strike and casualty points in
  EPSG:3035, ``union_all`` of all evidence (one national blob, exploded into polygons),
  ``overlay(how="difference")`` with the released land, ``overlay(how="intersection")`` with
  the farmland. It computes *less* than minemap (no grid cut, no evidence summary).

minemap's compiled (numba) kernels are loaded from numba's on-disk cache in the child before
its clock starts (``minemap.risk.load_kernels``, like the imports of shapely and geopandas,
which happen before the fork): a process pays it once, an app server at start-up. Its time is
reported beside the results as ``kernel_load_s`` (~1–1.5 s; ~25 s on a machine's first run,
which compiles them).

Each stage is reported in wall seconds and in CPU seconds of the process (``process_time``,
all threads), which stay comparable when the machine is shared. ``--parts N`` measures a
proposal for the pipeline: after the footprints, the evidence is split into N spatially
independent parts (``minemap.risk.surface._independent_parts``, no component spans two), each
part's surface and tasks are computed on their own (in threads or forked processes, with one
``as_of`` for all) and concatenated; the result equals the whole run. ``--gil-profile``
runs minemap on one thread and counts the CPU time inside GIL-releasing calls (shapely's
GEOS operations, STRtree queries, pyproj transforms; numpy is not counted, so the remainder
is an upper bound of the GIL-held time), runs the two parts of ``--parts 2`` the same way, and
estimates the idle 2-core wall time of op-by-op threading, of two parts in two threads
(simulated with one GIL) and of two parts in two processes.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
    load_kernels,
    make_tasks,
    strike_footprints,
)
from minemap.risk.catalogue import load_catalogue, match_munitions
from minemap.risk.tasks import prepare_tasks


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_minemap(
    layers: dict[str, gpd.GeoDataFrame], n_threads: int, *, overlap: bool = True
) -> dict[str, object]:
    """The minemap pipeline, timed end to end. With ``overlap`` (default) make_tasks' inputs
    are prepared (``prepare_tasks``: parcel ids and order, lon/lat tree, metric parcels near
    the evidence, metric evidence) in a thread while the surface is computed; its time counts in
    the total, and any wait for it at the start of the task stage in ``tasks_s``."""
    c0, t0 = time.process_time(), time.perf_counter()
    fp = strike_footprints(layers["strikes"])
    c1, t1 = time.process_time(), time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1) if overlap and n_threads > 1 else None
    prep = None
    if pool is not None:
        prep = pool.submit(
            prepare_tasks,
            farmland=layers["farmland"],
            hazards=layers["hazards"],
            footprints=fp,
            casualties=layers["casualties"],
        )
    surface = hazard_surface(
        hazards=layers["hazards"],
        footprints=fp,
        casualties=layers["casualties"],
        released=layers["cleared"],
        n_threads=n_threads,
    )
    c2, t2 = time.process_time(), time.perf_counter()
    prepared = prep.result() if prep is not None else None
    t2w = time.perf_counter()
    if pool is not None:
        pool.shutdown()
    tasks = make_tasks(
        surface,
        farmland=layers["farmland"],
        hazards=layers["hazards"],
        footprints=fp,
        casualties=layers["casualties"],
        n_threads=n_threads,
        prepared=prepared,
    )
    c3, t3 = time.process_time(), time.perf_counter()
    return {
        "footprints_s": t1 - t0,
        "surface_s": t2 - t1,
        "prepare_wait_s": t2w - t2,
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


def _as_of(layers: dict[str, gpd.GeoDataFrame], fp: gpd.GeoDataFrame) -> pd.Timestamp:
    """make_tasks' default as_of (latest evidence date) computed once for all parts."""
    from minemap.risk.tasks import _dates

    dates = np.concatenate([_dates(f) for f in (layers["hazards"], fp, layers["casualties"])])
    dates = dates[~np.isnat(dates)]
    return pd.Timestamp(dates.max()) if len(dates) else pd.Timestamp("1970-01-01")


def _run_part(layers, fp, part, as_of, n_threads: int):
    from minemap.risk.surface import _rows_in_box

    hz, cas = layers["hazards"][part["hazards"]], layers["casualties"][part["casualties"]]
    fpp = fp[part["footprints"]]
    rel = layers["cleared"][_rows_in_box(layers["cleared"], part["bounds"])]
    farm = layers["farmland"][_rows_in_box(layers["farmland"], part["bounds"])]
    c0 = time.process_time()
    surface = hazard_surface(
        hazards=hz, footprints=fpp, casualties=cas, released=rel, n_threads=n_threads
    )
    tasks = make_tasks(
        surface,
        farmland=farm,
        hazards=hz,
        footprints=fpp,
        casualties=cas,
        as_of=as_of,
        n_threads=n_threads,
    )
    return surface, tasks, time.process_time() - c0


def _part_child(layers, fp, part, as_of, n_threads, conn) -> None:
    surface, tasks, _ = _run_part(layers, fp, part, as_of, n_threads)
    conn.send((surface, tasks, _cpu_s()))
    conn.close()


def run_minemap_parts(
    layers: dict[str, gpd.GeoDataFrame], n_threads: int, n_parts: int, mode: str
) -> dict[str, object]:
    """Proposal under test: footprints, then the evidence split into spatially independent
    parts (``surface._independent_parts``), each part's surface and tasks computed on its
    own — in threads or in forked processes — and the results concatenated."""
    from minemap.risk.surface import _independent_parts

    c0, t0 = time.process_time(), time.perf_counter()
    fp = strike_footprints(layers["strikes"])
    c1, t1 = time.process_time(), time.perf_counter()
    as_of = _as_of(layers, fp)
    parts = _independent_parts(
        hazards=layers["hazards"], footprints=fp, casualties=layers["casualties"], n_parts=n_parts
    )
    c2, t2 = time.process_time(), time.perf_counter()
    part_cpu: list[float] = []
    if mode == "threads":
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_parts) as pool:
            results = list(pool.map(lambda p: _run_part(layers, fp, p, as_of, n_threads), parts))
    else:  # processes: fork one child per part, results come back pickled
        ctx = mp.get_context("fork")
        pipes = []
        for p in parts:
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_part_child, args=(layers, fp, p, as_of, n_threads, send))
            proc.start()
            send.close()
            pipes.append((recv, proc))
        results = [recv.recv() for recv, _ in pipes]
        for _, proc in pipes:
            proc.join()
    # CPU per part: only meaningful for processes (threads share the process clock)
    part_cpu = [r[2] for r in results] if mode == "processes" else []
    surface = pd.concat([r[0] for r in results], ignore_index=True)
    surface = surface.sort_values("component_id", kind="stable").reset_index(drop=True)
    tasks = pd.concat([r[1] for r in results], ignore_index=True)
    tasks = tasks.sort_values("task_id", kind="stable").reset_index(drop=True)
    t3 = time.perf_counter()
    return {
        "footprints_s": t1 - t0,
        "split_s": t2 - t1,
        "parts_s": t3 - t2,
        "total_s": t3 - t0,
        "footprints_cpu_s": c1 - c0,
        "split_cpu_s": c2 - c1,
        "part_cpu_s": "/".join(f"{c:.2f}" for c in part_cpu),
        "components": len(surface),
        "tasks": len(tasks),
        "parcel_tasks": int((tasks["kind"] == "parcel").sum()),
        "hazard_area_km2": float(tasks["area_m2"].sum()) / 1e6,
        "farmland_area_km2": float(tasks["farmland_area_m2"].sum()) / 1e6,
    }


_GIL_FREE = (  # shapely functions whose GEOS work runs without the GIL (plus STRtree/pyproj)
    "union_all", "difference", "intersection", "union", "intersects", "covers", "covered_by",
    "is_valid", "area", "buffer", "make_valid", "clip_by_rect", "touches", "relate_pattern",
    "contains", "contains_xy", "within", "equals", "symmetric_difference",
)  # fmt: skip


def _simulate_two_threads(a: list[list], b: list[list]) -> float:
    """Wall time of two threads on two idle cores sharing one GIL, each running its list of
    ``[kind, cpu_s]`` segments in order: ``"H"`` segments need the GIL (one at a time), ``"F"``
    segments run freely."""
    queues = [[list(x) for x in a if x[1] > 0], [list(x) for x in b if x[1] > 0]]
    t, holder = 0.0, None
    while queues[0] or queues[1]:
        active = [i for i in (0, 1) if queues[i]]
        wants = [i for i in active if queues[i][0][0] == "H"]
        if holder not in wants:
            holder = wants[0] if wants else None
        running = [i for i in active if queues[i][0][0] == "F" or i == holder]
        dt = min(queues[i][0][1] for i in running)
        for i in running:
            queues[i][0][1] -= dt
            if queues[i][0][1] <= 1e-12:
                queues[i].pop(0)
        t += dt
    return t


def run_gil_profile(layers: dict[str, gpd.GeoDataFrame], n_threads: int) -> dict[str, object]:
    """minemap on one thread, with the CPU time inside GIL-releasing calls (shapely's GEOS
    operations in ``_GIL_FREE``, ``STRtree.query``, pyproj transforms) recorded as "free"
    segments and everything between them as "held" (an upper bound: numpy also releases the
    GIL). Reports per stage CPU and free CPU, then idle 2-core estimates (no slowdown from
    two busy cores assumed): today's op-by-op threading ≥ held + free / 2; the pipeline in
    two spatially independent parts (``--parts 2``) in two threads (simulated with one
    GIL) or in two processes (≥ the larger part; transfer not counted)."""
    import functools

    import pyproj
    import shapely

    from minemap.risk import _spatial
    from minemap.risk.surface import _independent_parts

    del n_threads
    _spatial.parallel_chunks.__kwdefaults__["n_threads"] = 1  # really one thread (forked child)
    segments: list[list] = []
    mark = [0.0]
    depth = [0]

    def wrap(func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            if depth[0]:
                return func(*args, **kwargs)
            depth[0] += 1
            c0 = time.process_time()
            segments.append(["H", c0 - mark[0]])
            try:
                return func(*args, **kwargs)
            finally:
                mark[0] = time.process_time()
                segments.append(["F", mark[0] - c0])
                depth[0] -= 1

        return timed

    for name in _GIL_FREE:
        if hasattr(shapely, name):
            setattr(shapely, name, wrap(getattr(shapely, name)))
    shapely.STRtree.query = wrap(shapely.STRtree.query)
    pyproj.Transformer.transform = wrap(pyproj.Transformer.transform)
    out: dict[str, object] = {}

    def record(name, func):
        segments.clear()
        mark[0] = time.process_time()
        result = func()
        segments.append(["H", time.process_time() - mark[0]])
        segs = [list(x) for x in segments]
        if name:
            out[f"{name}_cpu_s"] = sum(x[1] for x in segs)
            out[f"{name}_gil_free_cpu_s"] = sum(x[1] for x in segs if x[0] == "F")
        return result, segs

    def pipeline(hz, fp, cas, rel, farm, as_of=None):
        def surface():
            return hazard_surface(
                hazards=hz, footprints=fp, casualties=cas, released=rel, n_threads=1
            )

        def tasks(s):
            return make_tasks(
                s, farmland=farm, hazards=hz, footprints=fp, casualties=cas, as_of=as_of,
                n_threads=1,
            )  # fmt: skip

        return surface, tasks

    hz, cas = layers["hazards"], layers["casualties"]
    rel, farm = layers["cleared"], layers["farmland"]
    fp, fp_segs = record("footprints", lambda: strike_footprints(layers["strikes"]))
    surface_fn, tasks_fn = pipeline(hz, fp, cas, rel, farm)
    surface, s_segs = record("surface", surface_fn)
    _, t_segs = record("tasks", lambda: tasks_fn(surface))
    as_of = _as_of(layers, fp)
    parts, split_segs = record(
        "split", lambda: _independent_parts(hazards=hz, footprints=fp, casualties=cas)
    )
    part_segs = []
    for k, part in enumerate(parts):

        def run_part(part=part):
            from minemap.risk.surface import _rows_in_box

            surface_fn, tasks_fn = pipeline(
                hz[part["hazards"]],
                fp[part["footprints"]],
                cas[part["casualties"]],
                rel[_rows_in_box(rel, part["bounds"])],
                farm[_rows_in_box(farm, part["bounds"])],
                as_of,
            )
            return tasks_fn(surface_fn())

        part_segs.append(record(f"part{k}", run_part)[1])

    def total(segs, kind=None):
        return sum(x[1] for x in segs if kind is None or x[0] == kind)

    whole = s_segs + t_segs
    pre = total(fp_segs) + total(split_segs)
    out["idle_est_op_by_op_s"] = total(fp_segs) + total(whole, "H") + total(whole, "F") / 2
    out["idle_est_parts_threads_s"] = pre + _simulate_two_threads(*part_segs)
    out["idle_est_parts_processes_s"] = pre + max(total(x) for x in part_segs)
    out["total_s"] = total(fp_segs) + total(whole)
    return out


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
    """CPU seconds (user + system) of this process and of its waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _child(name: str, size: str, n_threads: int, conn, parts: tuple[int, str] = (1, "")) -> None:
    t0 = time.perf_counter()
    layers = synth.generate(size)
    gen_s = time.perf_counter() - t0
    if name == "minemap" and parts[1] == "gil-profile":
        fn = run_gil_profile
    elif name == "minemap" and parts[0] > 1:

        def fn(layers, n_threads):
            return run_minemap_parts(layers, n_threads, *parts)
    elif name == "minemap" and parts[1] == "no-overlap":

        def fn(layers, n_threads):
            return run_minemap(layers, n_threads, overlap=False)
    else:
        fn = run_minemap if name == "minemap" else run_naive
    kernel_load_s = None
    if name == "minemap":  # once per process, before the clock (see the module docstring)
        t0 = time.perf_counter()
        load_kernels()
        kernel_load_s = time.perf_counter() - t0
    cpu0 = _cpu_s()
    result = fn(layers, n_threads)
    if kernel_load_s is not None:
        result["kernel_load_s"] = kernel_load_s
    result["cpu_s"] = _cpu_s() - cpu0  # all threads; compare with total_s on a busy machine
    result["peak_rss_mb"] = _rss_mb()
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if children_mb > 0:  # --parts-mode processes: the largest part's process
        result["peak_rss_part_process_mb"] = children_mb
    result["load_avg_1min_at_end"] = os.getloadavg()[0]  # machine load: wall times depend on it
    result["generated_s"] = gen_s  # not timed
    result["layers"] = ", ".join(f"{k} {len(v):,}" for k, v in layers.items())
    conn.send(result)
    conn.close()


def _run(
    name: str, size: str, n_threads: int, timeout_s: float, parts: tuple[int, str] = (1, "")
) -> dict[str, object] | None:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, size, n_threads, child, parts))
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
    parser.add_argument(
        "--parts",
        type=int,
        default=1,
        help="proposal under test: split the evidence into this many spatially independent "
        "parts after the footprints and compute each part's surface and tasks on its own "
        "(--threads then counts threads per part)",
    )
    parser.add_argument("--parts-mode", default="threads", choices=["threads", "processes"])
    parser.add_argument(
        "--gil-profile",
        action="store_true",
        help="run minemap on one thread (whole, then as two parts) and report, per stage, the "
        "CPU seconds inside GIL-releasing calls and idle 2-core wall estimates per scheme",
    )
    parser.add_argument(
        "--no-overlap",
        action="store_true",
        help="minemap: prepare make_tasks' inputs inside make_tasks, after the surface (the "
        "schedule before the sixth pass), instead of in a thread beside the surface",
    )
    args = parser.parse_args()

    counts = ", ".join(f"{k} {v:,}" for k, v in synth.SIZES[args.size].items())
    print(f"size {args.size}: {counts} (each child generates them, not timed)")
    print(f"cpus {os.cpu_count()}, threads {args.threads}, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip

    results = {}
    if not args.skip_minemap:
        mode = "gil-profile" if args.gil_profile else args.parts_mode
        if args.no_overlap and args.parts == 1 and not args.gil_profile:
            mode = "no-overlap"
        parts = (args.parts, mode)
        results["minemap"] = _run("minemap", args.size, args.threads, 3600.0, parts)
    if not args.skip_naive:
        results["naive"] = _run("naive", args.size, args.threads, args.naive_timeout)
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
