"""A bounded load run: several processes uploading, reading and undoing concurrently.

Each worker process, until its deadline, imports small random batches of
``casualties`` (points) or ``hazards`` (polygons), undoes some of its own, and reads
whole layers back, checking that every batch it sees is complete (no partial import
is ever visible) and that ``data_version`` never goes back. It prints one JSON line:
every batch it left active with a checksum of the ids and coordinates it sent, and
timings. The parent (:func:`check_store`) then compares the store with what was sent.

Run by ``tests/store/test_load.py``; for figures against any store::

    python -m tests.store.load postgresql://user@host/db --procs 4 --seconds 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("casualties", "hazards")


def checksum(ids, geometries) -> str:
    """SHA-256 over ids and coordinates (a Polygon and its one-part MultiPolygon agree)."""
    order = np.argsort(np.asarray(ids, dtype=object).astype(str))
    digest = hashlib.sha256()
    for i in order:
        digest.update(str(ids[i]).encode())
        digest.update(shapely.get_coordinates(geometries[i]).tobytes())
    return digest.hexdigest()


def worker(location: str, seconds: float, seed: int, go: str | None = None) -> dict:
    """Import, undo and read until ``seconds`` have passed; return what was sent.

    With ``go``, print ``ready`` and wait until that file exists, so that every
    worker starts its clock at the same moment.
    """
    from minemap._report import Report
    from minemap.store import open_store
    from tests.store.frames import make_frame

    if go is not None:
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)

    rng = np.random.default_rng(seed)
    sent: dict[str, dict] = {}
    stats = {"imports": 0, "undos": 0, "reads": 0, "rows_sent": 0, "rows_read": 0}
    timing = {"import_s": 0.0, "read_s": 0.0}
    last_version = -1
    deadline = time.monotonic() + seconds
    with open_store(location) as store:
        i = 0
        while time.monotonic() < deadline:
            layer = LAYERS[int(rng.integers(len(LAYERS)))]
            n = int(rng.integers(20, 400))
            frame = make_frame(
                layer, n, seed=seed * 100_000 + i, start=seed * 10_000_000 + i * 1000
            )
            sha = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
            t0 = time.perf_counter()
            batch_id = store.ingest(
                frame,
                layer=layer,
                report=Report(file=f"w{seed}-{i}", layer=layer),
                file_name=f"w{seed}-{i}.geojson",
                sha256=sha,
                user=f"worker{seed}",
            )
            timing["import_s"] += time.perf_counter() - t0
            stats["imports"] += 1
            stats["rows_sent"] += n
            id_field = "incident_id" if layer == "casualties" else "hazard_id"
            geoms = np.asarray(frame.geometry.array, dtype=object)
            sent[batch_id] = {
                "layer": layer,
                "n": n,
                "sha256": sha,
                "checksum": checksum(list(frame[id_field]), geoms),
            }
            if rng.random() < 0.15:
                store.undo_batch(batch_id, user=f"worker{seed}")
                stats["undos"] += 1
                del sent[batch_id]
            # read a whole layer: every batch in it must be complete
            t0 = time.perf_counter()
            read_layer = LAYERS[int(rng.integers(len(LAYERS)))]
            got = store.read_layer(read_layer)
            timing["read_s"] += time.perf_counter() - t0
            stats["reads"] += 1
            stats["rows_read"] += len(got)
            sizes = got["batch_id"].value_counts().to_dict()
            # feature_count never changes (not even on undo, which another worker may
            # have done since the read), so it is what a complete batch must show
            wanted = {b.batch_id: b.feature_count for b in store.list_batches()}
            partial = {b: k for b, k in sizes.items() if wanted.get(b) != k}
            if partial:
                raise AssertionError(f"partial batches visible: {partial}")
            version = store.data_version()
            if version < last_version:
                raise AssertionError(f"data_version went back from {last_version} to {version}")
            last_version = version
            i += 1
    return {"seed": seed, "sent": sent, "stats": stats, "timing": timing}


def check_store(location: str, results: list[dict]) -> list[str]:
    """Problems found comparing the store with what the workers sent; ``[]`` if none."""
    from minemap.store import open_store

    problems: list[str] = []
    sent = {b: info for r in results for b, info in r["sent"].items()}
    with open_store(location, create=False) as store:
        problems += store.integrity_check()
        active = {b.batch_id: b for b in store.list_batches() if b.active}
        if set(active) != set(sent):
            problems.append(
                f"active batches differ: {len(set(active) - set(sent))} unexpected, "
                f"{len(set(sent) - set(active))} missing"
            )
        for layer in LAYERS:
            frame = store.read_layer(layer)
            id_field = "incident_id" if layer == "casualties" else "hazard_id"
            want = sum(info["n"] for info in sent.values() if info["layer"] == layer)
            if len(frame) != want or store.counts()[layer] != want:
                problems.append(f"{layer}: {len(frame)} rows stored, {want} sent")
            geoms = np.asarray(frame.geometry.array, dtype=object)
            for batch_id, rows in frame.groupby("batch_id").indices.items():
                info = sent.get(batch_id)
                got = checksum(list(frame[id_field].iloc[rows]), geoms[rows])
                if info is None or info["checksum"] != got:
                    problems.append(f"batch {batch_id} in {layer} differs from what was sent")
    return problems


def run(location: str, *, procs: int, seconds: float) -> tuple[list[dict], float]:
    """Start ``procs`` worker processes against ``location``; their results and wall time."""
    import tempfile

    from minemap.store import open_store

    open_store(location).close()  # create it once, before the workers race
    env = dict(os.environ, PYTHONPATH=str(REPO))
    go = Path(tempfile.mkdtemp(prefix="minemap-load-")) / "go"
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.store.load",
                location,
                "--worker",
                str(seed),
                "--seconds",
                str(seconds),
                "--go",
                str(go),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(1, procs + 1)
    ]
    for child in children:  # every worker imported and connected: start them together
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"load worker failed to start:\n{child.communicate()[1][-3000:]}")
    t0 = time.perf_counter()
    go.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=seconds + 180)
        if child.returncode != 0:
            raise RuntimeError(f"load worker failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    go.unlink()
    go.parent.rmdir()
    return results, wall


def main() -> None:
    """Command line: run a load against a store and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("location")
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--go", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.location, args.seconds, args.worker, args.go)), flush=True)
        return
    results, wall = run(args.location, procs=args.procs, seconds=args.seconds)
    problems = check_store(args.location, results)
    print(json.dumps({"summary": summarise(results, wall), "problems": problems}, indent=2))
    sys.exit(1 if problems else 0)


def summarise(results: list[dict], wall: float) -> dict:
    """Totals and rates over every worker."""
    total = {k: sum(r["stats"][k] for r in results) for k in results[0]["stats"]}
    import_s = sum(r["timing"]["import_s"] for r in results)
    read_s = sum(r["timing"]["read_s"] for r in results)
    return {
        **total,
        "procs": len(results),
        "wall_s": round(wall, 1),
        "mean_import_ms": round(1000 * import_s / max(total["imports"], 1), 1),
        "mean_read_ms": round(1000 * read_s / max(total["reads"], 1), 1),
        "rows_sent_per_s": round(total["rows_sent"] / wall),
    }


if __name__ == "__main__":
    main()
