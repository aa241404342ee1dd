"""Benchmark: a full prioritise vs one that updates the hazard surface kept in the store.

The synthetic layers (``benchmarks/synth.py``, fixed seed) are imported into a fresh
GeoPackage store with the last ``--new`` strikes held back; a first cached run computes
and keeps the whole surface; then the held-back strikes are imported as "today's upload"
and prioritise runs twice on the same layers: without the cache (full) and with it
(incremental). Both rankings must be identical (the script fails otherwise). CPU time
(user+sys of this process, all threads) is the fair measure on a shared machine; wall time
is printed alongside. Store import and layer reading are not timed.

Run: ``python benchmarks/bench_incremental.py --size M`` (≈1–2 min for M);
``--size L --without-farmland`` (farmland does not change the surface) ≈5–10 min.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

from minemap._report import Report
from minemap.risk.pipeline import prioritise
from minemap.store import open_store

LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _timed(label: str, func):
    cpu, wall = _cpu(), time.perf_counter()
    result = func()
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    print(f"{label:<44} {cpu:7.2f} CPU s  {wall:7.2f} wall s", flush=True)
    return result, cpu, wall


def _ingest(store, frame, layer: str, name: str) -> None:
    store.ingest(
        frame,
        layer=layer,
        report=Report(file=name, layer=layer),
        file_name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        user="bench",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=list(synth.SIZES))
    parser.add_argument("--new", type=int, default=100, help="strikes in today's upload")
    parser.add_argument("--as-of", default="2025-07-01")
    parser.add_argument(
        "--without-farmland",
        action="store_true",
        help="leave farmland out (it does not change the surface; saves importing 1M parcels at L)",
    )
    args = parser.parse_args()

    layers = synth.generate(args.size)
    if args.without_farmland:
        layers.pop("farmland")
    strikes = layers["strikes"]
    old, new = strikes.iloc[: -args.new], strikes.iloc[-args.new :]
    with tempfile.TemporaryDirectory(prefix="minemap-incr-") as folder:
        path = Path(folder) / "store.gpkg"
        with open_store(path) as store:
            for name in [n for n in LAYERS if n in layers]:
                frame = old if name == "strikes" else layers[name]
                _ingest(store, frame.reset_index(drop=True), name, f"{name}.parquet")
            read = {name: store.read_layer(name) for name in LAYERS if name in layers}
            first, _, _ = _timed(
                "first cached run (full, keeps the surface)",
                lambda: prioritise(read, as_of=args.as_of, surface_cache=store),
            )
            print("  ", first.run_record["surface"]["summary"])
            _ingest(store, new.reset_index(drop=True), "strikes", "today.parquet")
            read = {name: store.read_layer(name) for name in LAYERS if name in layers}
            full, cpu_full, wall_full = _timed(
                "prioritise, no cache (full surface)",
                lambda: prioritise(read, as_of=args.as_of),
            )
            inc, cpu_inc, wall_inc = _timed(
                f"prioritise, cache + {args.new} new strikes",
                lambda: prioritise(read, as_of=args.as_of, surface_cache=store),
            )
            print("  ", inc.run_record["surface"]["summary"])
    same = full.run_record["ranking_sha256"] == inc.run_record["ranking_sha256"]
    print(
        f"size {args.size}: full {cpu_full:.2f} CPU s ({wall_full:.1f} s wall), incremental "
        f"{cpu_inc:.2f} CPU s ({wall_inc:.1f} s wall), ratio {cpu_full / cpu_inc:.2f}x; "
        f"rankings identical: {same}"
    )
    if not same or inc.run_record["surface"]["mode"] != "incremental":
        sys.exit(1)


if __name__ == "__main__":
    main()
