"""Spatial hold-out back-test of minemap's own ranking on the Bosnia (BiH east) mine-action data.

Reproduces the Bosnia figures in ``docs/backtest.md``::

    python scripts/backtest_bih.py [--data DIR] [--folds 5] [--block-km 10] [--n-boot 1000]
                                   [--bbox minlon,minlat,maxlon,maxlat] [--json OUT.json]
                                   [--no-lifted]

The incidents have no dates, so the hold-out is spatial. Every suspect area and incident
is put into a square grid block (``grid_blocks``, anchored on the Bosnia area of operations
so that every layer shares one grid) and whole blocks are dealt into folds
(``block_folds``). For each fold ``k``, minemap's real pipeline (``prioritise``) ranks tasks
built from **all** suspect areas (as SHA) minus **all** cleared areas, with casualty evidence
from the incidents of the **other** folds only. The tasks of that ranking lying in fold ``k``'s
blocks are then scored (``task_outcomes`` + ``score_ranking``) against fold ``k``'s incidents
— incidents the ranking never saw. Out-of-fold scores of all folds are pooled; intervals
resample whole blocks. Baselines (area alone, random) come from ``score_ranking``.

Lifted minefields (``--lifted``, on by default) are a second, independent outcome: each
point marks a recorded minefield whose mines were lifted, i.e. **devices were found there**.
They never reach the ranking (minemap has no layer for them), so they cannot leak; they are
put into the same grid blocks and folds as the incidents, and fold ``k``'s held-out tasks
are scored against fold ``k``'s lifted-minefield points exactly as against its incidents
(share of points in the top of the ranked area; AUC = tasks with a lifted minefield vs
without). This is *not* the CLI's area-based findings measure: the points carry no extent,
no device count and no "released clean" counterpart. See docs/backtest.md for the limits.

Assumptions forced by the source: every record is dated 2024-06-01 (mid-2024 extraction,
no per-feature dates) and ranked as of 2024-07-01; each incident counts as one injured
person (no victim counts); munition type unknown; suspect areas are SHA, contamination
unknown.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minemap.backtest import (  # noqa: E402
    block_folds,
    grid_blocks,
    score_ranking,
    verdict,
    weighted_roc_auc,
)
from minemap.backtest.evaluate import task_outcomes  # noqa: E402
from minemap.geometry import area_m2  # noqa: E402
from minemap.risk.pipeline import prioritise  # noqa: E402
from minemap.settings import AreaOfOperations  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared/data/real/bih_mine_action_east"
BIH_AOI = AreaOfOperations(15.7, 42.5, 19.7, 45.3, name="Bosnia and Herzegovina")
"""Bosnia and Herzegovina's bounding box with a small margin (15.72–19.62 E, 42.55–45.28 N)."""
RECORD_DATE = pd.Timestamp("2024-06-01")
AS_OF = pd.Timestamp("2024-07-01")


def _in_aoi(frame: gpd.GeoDataFrame, aoi: AreaOfOperations) -> np.ndarray:
    return frame.geometry.representative_point().within(shapely.box(*aoi.bounds)).to_numpy()


def load_layers(
    data: Path = DEFAULT_DATA, *, bbox: tuple[float, float, float, float] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Canonical-enough ``hazards``, ``cleared`` and ``casualties`` frames from the BiH files.

    Only features whose representative point lies in the Bosnia AOI (and in ``bbox`` if
    given) are kept; the source's fields are mapped as described in the module docstring.
    """
    window = shapely.box(*(bbox or BIH_AOI.bounds))
    out: dict[str, gpd.GeoDataFrame] = {}
    specs = {
        "hazards": ("suspect_areas.geojson", "S"),
        "cleared": ("cleared_areas.geojson", "C"),
        "casualties": ("incidents.geojson", "I"),
    }
    for layer, (name, prefix) in specs.items():
        raw = gpd.read_file(data / name)
        keep = _in_aoi(raw, BIH_AOI) & raw.geometry.representative_point().within(window)
        raw = raw[keep].reset_index(drop=True)
        ids = [f"BIH-{prefix}{i}" for i in range(len(raw))]
        if layer == "hazards":
            cols: dict[str, Any] = {
                "hazard_id": ids,
                "hazard_type": "SHA",
                "contamination": "unknown",
                "status": "active",
            }
        elif layer == "cleared":
            cols = {
                "survey_id": ids,
                "team": "-",
                "operator": "BHMAC",
                "status": "completed",
                "method": "cleared",
            }
        else:
            cols = {
                "incident_id": ids,
                "killed": 0,
                "injured": 1,
                "civilian": True,
                "munition_type": pd.Series([pd.NA] * len(raw), dtype=object),
            }
        frame = gpd.GeoDataFrame(cols, geometry=raw.geometry.to_numpy(), crs="EPSG:4326")
        frame.insert(1, "date", RECORD_DATE)
        out[layer] = frame
    return out


def load_lifted(
    data: Path = DEFAULT_DATA, *, bbox: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame:
    """The lifted-minefield points (``lifted_id``, geometry) in the Bosnia AOI (and ``bbox``).

    Not a minemap layer: an outcome only ("devices were found here"), never ranking input.
    """
    window = shapely.box(*(bbox or BIH_AOI.bounds))
    raw = gpd.read_file(data / "lifted_minefields.geojson")
    keep = _in_aoi(raw, BIH_AOI) & raw.geometry.within(window).to_numpy()
    raw = raw[keep].reset_index(drop=True)
    ids = [f"BIH-L{i}" for i in range(len(raw))]
    return gpd.GeoDataFrame({"lifted_id": ids}, geometry=raw.geometry.to_numpy(), crs="EPSG:4326")


def points_in_tasks(tasks: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> tuple[np.ndarray, int]:
    """Points inside each task (aligned to ``tasks``) and how many points lie in any task.

    The incident counting of :func:`task_outcomes` (a point on a shared edge counts once).
    """
    n = len(points)
    pts = gpd.GeoDataFrame(
        {"killed": np.zeros(n), "injured": np.zeros(n)},
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    per, cov = task_outcomes(tasks, {"casualties": pts})
    return per["casualty_incidents"].to_numpy(dtype=float), int(cov["casualty_incidents_in_tasks"])


def aoi_blocks(
    geoms: gpd.GeoSeries, *, block_size_m: float, aoi: AreaOfOperations = BIH_AOI
) -> pd.Series:
    """``grid_blocks`` on one grid shared by every layer and fold: the AOI's outline
    (densified) fixes the projection centre and the anchor, whatever the items."""
    ring = shapely.segmentize(shapely.box(*aoi.bounds).exterior, 0.01)
    anchor = gpd.GeoSeries(shapely.points(shapely.get_coordinates(ring)), crs="EPSG:4326")
    items = gpd.GeoSeries(geoms.representative_point().to_numpy(), crs="EPSG:4326")
    inside = items.within(shapely.box(*aoi.bounds)).to_numpy()
    if not inside.all():
        raise ValueError(f"{int((~inside).sum())} item(s) outside the {aoi.name} AOI")
    both = pd.concat([anchor, items], ignore_index=True)
    labels = grid_blocks(both, block_size_m=block_size_m).to_numpy()[len(anchor) :]
    return pd.Series(labels, index=geoms.index, name="block", dtype=object)


def assign_folds(
    layers: dict[str, gpd.GeoDataFrame], *, n_folds: int, block_size_m: float, seed: int = 0
) -> tuple[dict[str, pd.Series], dict[str, int]]:
    """Block of each suspect area and incident, and the fold of each block."""
    hz, cas = layers["hazards"], layers["casualties"]
    geoms = gpd.GeoSeries(
        np.concatenate([hz.geometry.to_numpy(), cas.geometry.to_numpy()]), crs="EPSG:4326"
    )
    blocks = aoi_blocks(geoms, block_size_m=block_size_m)
    folds = block_folds(blocks, n_folds=n_folds, seed=seed)
    fold_of = dict(zip(blocks.astype(str), folds.astype(int), strict=True))
    split = {
        "hazards": pd.Series(blocks.to_numpy()[: len(hz)], index=hz.index),
        "casualties": pd.Series(blocks.to_numpy()[len(hz) :], index=cas.index),
    }
    return split, fold_of


def fold_ranking(
    layers: dict[str, gpd.GeoDataFrame], train_incidents: np.ndarray
) -> gpd.GeoDataFrame:
    """minemap's ranking from all hazards and releases and the training incidents only."""
    used = dict(layers)
    used["casualties"] = layers["casualties"][train_incidents]
    return prioritise(used, as_of=AS_OF).tasks


def spatial_holdout(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    n_folds: int = 5,
    block_size_m: float = 10_000.0,
    seed: int = 0,
    lifted: gpd.GeoDataFrame | None = None,
) -> dict[str, Any]:
    """Rank per fold without its incidents; collect its held-out tasks and their outcomes.

    Returns a dict with ``tasks`` (one row per held-out task, pooled over folds: ``fold``,
    ``block``, ``task_id``, ``priority_score``, ``area_m2``, ``casualty_incidents`` and,
    with ``lifted``, ``lifted_minefields``), ``rankings`` (fold → full ranking),
    ``fold_of_incident``, ``fold_of_lifted`` (-1: a block with no suspect area or
    incident, never held out) and ``coverage`` (per fold: held-out incidents and lifted
    minefields, those inside held-out tasks).
    """
    blocks, fold_of = assign_folds(layers, n_folds=n_folds, block_size_m=block_size_m, seed=seed)
    inc_fold = blocks["casualties"].map(fold_of).to_numpy(dtype=int)
    lifted_fold = np.zeros(0, dtype=int)
    if lifted is not None:
        lb = aoi_blocks(lifted.geometry, block_size_m=block_size_m).astype(str)
        lifted_fold = lb.map(fold_of).fillna(-1).to_numpy(dtype=int)
    rows, rankings, coverage = [], {}, {}
    for k in range(n_folds):
        tasks = fold_ranking(layers, inc_fold != k)
        rankings[k] = tasks
        t_blocks = aoi_blocks(tasks.geometry, block_size_m=block_size_m)
        t_fold = t_blocks.map(fold_of)  # NA: a block with no suspect area or incident
        held = tasks[(t_fold == k).fillna(False).to_numpy(dtype=bool)]
        per, cov = task_outcomes(held, {"casualties": layers["casualties"][inc_fold == k]})
        part = pd.DataFrame(
            {
                "fold": k,
                "block": t_blocks.loc[held.index].to_numpy(),
                "task_id": held["task_id"].astype(str).to_numpy(),
                "priority_score": held["priority_score"].to_numpy(dtype=float),
                "area_m2": area_m2(held).to_numpy(),
                "casualty_incidents": per["casualty_incidents"].to_numpy(dtype=float),
            }
        )
        lifted_cov = {}
        if lifted is not None:
            counts, inside = points_in_tasks(held, lifted[lifted_fold == k])
            part["lifted_minefields"] = counts
            lifted_cov = {
                "held_out_lifted": int((lifted_fold == k).sum()),
                "held_out_lifted_in_held_out_tasks": inside,
            }
        rows.append(part)
        coverage[k] = {
            "tasks": len(tasks),
            "held_out_tasks": len(held),
            "tasks_in_blocks_without_fold": int(t_fold.isna().sum()),
            "held_out_incidents": int((inc_fold == k).sum()),
            "held_out_incidents_in_held_out_tasks": int(cov["casualty_incidents_in_tasks"]),
            **lifted_cov,
        }
    return {
        "tasks": pd.concat(rows, ignore_index=True),
        "rankings": rankings,
        "fold_of_incident": inc_fold,
        "fold_of_lifted": lifted_fold,
        "coverage": coverage,
    }


def score(
    pooled: pd.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    outcome: str = "casualty_incidents",
    ranking: str = "minemap default weights (out of fold)",
) -> dict[str, Any]:
    """Scores of the pooled out-of-fold ranking against ``outcome`` (a count per task:
    ``casualty_incidents`` → harm, ``lifted_minefields`` → devices found); intervals over
    grid blocks."""
    name = "harm" if outcome == "casualty_incidents" else "lifted minefields"
    s = score_ranking(
        pooled["priority_score"],
        pooled["area_m2"],
        pooled[outcome],
        name=ranking,
        outcome_name=name,
        groups=pooled["block"].astype(str).to_numpy(),
        n_boot=n_boot,
        seed=seed,
    )
    per_fold = {}
    for k, part in pooled.groupby("fold"):
        hit = (part[outcome] > 0).to_numpy(dtype=float)
        per_fold[int(k)] = weighted_roc_auc(part["priority_score"], hit, 1.0 - hit)
    return {"score": s, "auc_per_fold": per_fold}


def _fmt(iv: dict[str, float], pct: bool = False) -> str:
    if math.isnan(iv["estimate"]):
        return "n/a"
    if pct:
        return f"{iv['estimate']:.0%} ({iv['low']:.0%}–{iv['high']:.0%})"
    return f"{iv['estimate']:.2f} ({iv['low']:.2f}–{iv['high']:.2f})"


def _print_score(label: str, out: dict[str, Any]) -> dict[str, Any]:
    s = out["score"]
    d = s.to_dict()
    print(f"--- {label}: {d['n_items']} tasks scored, {d['n_items_with_outcome']} with the outcome")
    print(f"AUC {_fmt(d['auc'])}  (area alone {d['area_auc']:.2f})")
    print("AUC per fold:", {k: round(v, 3) for k, v in out["auc_per_fold"].items()})
    for k in ("10", "25", "50"):
        print(
            f"top {k}%: share {_fmt(d['gain'][k], pct=True)}; lift random "
            f"{_fmt(d['lift_random'][k])}; lift over area {_fmt(d['lift_area'][k])}; "
            f"area alone {d['area_gain'][k]:.0%}"
        )
    print(verdict(s, subject="ranked hazard area"))
    d.pop("curve")
    return {"score": d, "auc_per_fold": out["auc_per_fold"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--block-km", type=float, default=10.0)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bbox", type=AreaOfOperations.parse, default=None)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument(
        "--no-lifted",
        action="store_true",
        help="leave out the lifted-minefield points (devices-found outcome)",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    bbox = None if args.bbox is None else args.bbox.bounds
    layers = load_layers(args.data, bbox=bbox)
    lifted = None if args.no_lifted else load_lifted(args.data, bbox=bbox)
    res = spatial_holdout(
        layers,
        n_folds=args.folds,
        block_size_m=args.block_km * 1000,
        seed=args.seed,
        lifted=lifted,
    )
    cov = res["coverage"]
    n_inc = sum(c["held_out_incidents"] for c in cov.values())
    n_in = sum(c["held_out_incidents_in_held_out_tasks"] for c in cov.values())
    print({k: len(v) for k, v in layers.items()}, "lifted", 0 if lifted is None else len(lifted))
    print(f"folds: {args.folds}, blocks {args.block_km:g} km, {len(res['tasks'])} held-out tasks")
    print(f"held-out incidents: {n_inc}, inside held-out tasks: {n_in}")
    payload: dict[str, Any] = {"coverage": cov}
    payload["harm"] = _print_score(
        "harm (incidents)", score(res["tasks"], n_boot=args.n_boot, seed=args.seed)
    )
    if lifted is not None:
        n_lift = len(lifted)
        n_held = sum(c["held_out_lifted"] for c in cov.values())
        n_lin = sum(c["held_out_lifted_in_held_out_tasks"] for c in cov.values())
        print(
            f"lifted minefields: {n_lift}, in a held-out block: {n_held}, inside held-out "
            f"tasks: {n_lin}"
        )
        out = score(res["tasks"], n_boot=args.n_boot, seed=args.seed, outcome="lifted_minefields")
        payload["lifted"] = _print_score("devices found (lifted minefields)", out)
    # contrast, NOT a back-test: the same incidents used to rank and to score (leakage)
    leaky = prioritise(layers, as_of=AS_OF).tasks
    per, lcov = task_outcomes(leaky, {"casualties": layers["casualties"]})
    ls = score_ranking(leaky["priority_score"], area_m2(leaky), per["casualty_incidents"], n_boot=0)
    print(
        f"in-sample contrast (leaky): {lcov['casualty_incidents_in_tasks']} of "
        f"{lcov['casualty_incidents']} incidents inside tasks, AUC {ls.auc.estimate:.2f}, "
        f"top 25% share {ls.gain['25'].estimate:.0%}"
    )
    if lifted is not None:
        # the lifted minefields never reach any ranking, so the full ranking (all incidents)
        # may be scored against all of them: no outcome leaks, blocks carry the clustering
        counts, inside = points_in_tasks(leaky, lifted)
        full = pd.DataFrame(
            {
                "fold": 0,
                "block": aoi_blocks(leaky.geometry, block_size_m=args.block_km * 1000).to_numpy(),
                "priority_score": leaky["priority_score"].to_numpy(dtype=float),
                "area_m2": area_m2(leaky).to_numpy(),
                "lifted_minefields": counts,
            }
        )
        print(
            f"full ranking: {len(leaky)} tasks, {inside} of {len(lifted)} lifted minefields inside"
        )
        out = score(
            full,
            n_boot=args.n_boot,
            seed=args.seed,
            outcome="lifted_minefields",
            ranking="minemap default weights (all incidents)",
        )
        payload["lifted_full_ranking"] = _print_score(
            "devices found (lifted minefields), ranking from all incidents", out
        )
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
