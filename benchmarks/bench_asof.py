"""Benchmark: the priority engine as of earlier period ends, as the Map page runs it.

Run from the repository root::

    python benchmarks/bench_asof.py [N_PARCELS] [--store PATH] [--rounds K]

Builds (or reuses, ``--store``) the synthetic store of ``bench_app_map`` — N (default
100,000) farmland parcels, 2,000 hazards, 3,000 released polygons, 3,000 strikes and
2,000 casualties — reads its layers as a planner (``auth.read_layer_for``, as the app's
``cache._shared_layer`` does) and runs ``prioritise(..., surface_cache=store)`` as
``cache.prioritisation`` does, in one process (like the app's server):

1. ``reset``: as of the period's end with ``reuse_surface=False`` (the whole surface and
   tasks computed and kept, like the app's warm-up on a fresh store; not the target);
2. then, per round, as of the period's end moved a tenth of the range earlier (the
   bench_app_map "period end moved" case), two tenths, three tenths, back to the end, and
   a tenth earlier again.

Per run: wall seconds, CPU seconds of the process (user+sys, both threads), and per
step of the engine ``wall/CPU`` seconds, inclusive (functions wrapped by name; nested
steps are counted in their callers too). The load average is printed at the start and the end.
No browser, no server.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_app_map import build_store  # noqa: E402
from minemap.auth import read_layer_for  # noqa: E402
from minemap.layers import LAYER_NAMES  # noqa: E402
from minemap.risk import pipeline  # noqa: E402
from minemap.store import open_store  # noqa: E402

# (module, function): the steps timed (skipped where a tree does not have them)
STEPS = [
    ("minemap.risk.footprints", "strike_footprints"),
    ("minemap.risk.surface_cache", "cached_hazard_surface"),
    ("minemap.risk.surface_cache", "batch_digests"),
    ("minemap.risk.task_cache", "batch_digests"),
    ("minemap.risk.surface_cache", "_current_evidence"),
    ("minemap.risk.surface_cache", "_load"),
    ("minemap.risk.surface_cache", "_update"),
    ("minemap.risk.surface_cache", "_record_components"),
    ("minemap.risk.task_cache", "cached_make_tasks"),
    ("minemap.risk.task_cache", "_farmland_digests"),
    ("minemap.risk.task_cache", "_signatures"),
    ("minemap.risk.task_cache", "_load"),
    ("minemap.risk.task_cache", "_reuse"),
    ("minemap.risk.tasks", "make_tasks"),
    ("minemap.risk.task_cache", "_current_entries"),
    ("minemap.risk.task_cache", "_merge"),
    ("minemap.risk.task_cache", "_tables"),
    ("minemap.risk.task_cache", "_zip"),
    ("minemap.risk.task_cache", "_from_tables"),
    ("minemap.risk.surface_cache", "_tables"),
    ("minemap.risk.surface_cache", "_zip"),
    ("minemap.risk.surface_cache", "_from_tables"),
    ("minemap.risk.surface_cache", "_hand_over"),
    ("minemap.risk.pipeline", "_unattributed"),
    ("minemap.risk.pipeline", "rank_tasks"),
]

_TIMES: dict[str, float] = defaultdict(float)  # wall seconds per step
_CPU: dict[str, float] = defaultdict(float)  # CPU seconds of the process per step


def _wrap(module_name: str, name: str) -> None:
    import importlib

    module = importlib.import_module(module_name)
    func = getattr(module, name, None)
    if func is None or getattr(func, "_bench_wrapped", False):
        return
    label = f"{module_name.rsplit('.', 1)[-1]}.{name}"

    @functools.wraps(func)
    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            _TIMES[label] += time.perf_counter() - t0
            _CPU[label] += time.process_time() - c0

    timed._bench_wrapped = True  # type: ignore[attr-defined]
    setattr(module, name, timed)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_parcels", nargs="?", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="build the store here once and reuse it")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of as-of runs (default 2)")
    args = parser.parse_args()

    tmp = None
    path = args.store
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench.gpkg"
    if not path.exists():
        print(f"building the store ({args.n_parcels:,} parcels) at {path}")
        build_store(path, args.n_parcels)
    for module_name, name in STEPS:
        _wrap(module_name, name)

    print(f"load average at start: {_load_average()}")
    with open_store(path) as store:
        layers = {n: read_layer_for(store, n, role="planner") for n in LAYER_NAMES}
        layers = {n: f for n, f in layers.items() if not f.empty and n in pipeline.RISK_LAYERS}
        dates = pd.concat([pd.to_datetime(f["date"]) for f in layers.values() if "date" in f])
        first, last = dates.min().normalize(), dates.max().normalize()
        span = last - first
        tenth = span / 10
        print(
            "layers: "
            + ", ".join(f"{n} {len(f):,}" for n, f in layers.items())
            + f"; period {first.date()} .. {last.date()}"
        )

        def run(label: str, as_of: pd.Timestamp, **kwargs) -> None:
            _TIMES.clear()
            _CPU.clear()
            c0, t0 = _cpu(), time.perf_counter()
            result = pipeline.prioritise(layers, as_of=as_of.date(), surface_cache=store, **kwargs)
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            rec = result.run_record
            print(
                f"{label:<22} {as_of.date()}  wall {wall:5.2f} s  CPU {cpu:5.2f} s  "
                f"{rec['n_tasks']:,} tasks  {rec['surface'].get('summary', '')}; "
                f"{rec['tasks'].get('summary', '')}"
            )
            steps = sorted(_TIMES.items(), key=lambda kv: -kv[1])
            print("    " + ", ".join(f"{k} {v:.3f}/{_CPU[k]:.3f}" for k, v in steps))

        run("reset (full, kept)", last, reuse_surface=False)
        for r in range(args.rounds):
            run(f"[{r}] end - 1/10", last - tenth)
            run(f"[{r}] end - 2/10", last - 2 * tenth)
            run(f"[{r}] end - 3/10", last - 3 * tenth)
            run(f"[{r}] back to the end", last)
            run(f"[{r}] end - 1/10 again", last - tenth)
    print(f"load average at end: {_load_average()}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
