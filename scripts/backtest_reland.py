"""Back-test simple evidence rankings on the RELand eastern-Antioquia grid (Colombia).

Reproduces the Colombia figures in ``docs/backtest.md``::

    python scripts/backtest_reland.py [--data PATH] [--n-boot 1000] [--json OUT.json]

Cells labelled ``mines_outcome`` 1 (mines found) versus 0 (demined/surveyed, none found)
are ranked by (a) an a-priori evidence score declared before looking at any label,
(b) each of its indicators alone, (c) directions chosen from the labels on all cells
(in-sample: optimistic), (d) the same choice made by block cross-validation (10 km grid
blocks, 5 folds) and (e) by leave-municipalities-out folds, and (f) area alone (every cell
is ~1 km², so it is one tied block: the random baseline). Intervals are bootstrap
percentile intervals over 10 km blocks (cells in a block are resampled together).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minemap.backtest import block_folds, grid_blocks, score_ranking, verdict  # noqa: E402
from minemap.backtest.evidence import (  # noqa: E402
    choose_directions,
    out_of_fold_scores,
    rank_average,
)

DEFAULT_DATA = REPO.parent / "shared/data/real/col_reland_antioquia/reland_antioquia_grid.csv"

VICTIMS = "No. Víctimas por Declaración"
COMBATS = "Acto terrorista, Atentados, Combates, Enfrentamientos, Hostigamientos"

PRIOR: dict[str, int] = {
    VICTIMS: 1,  # more conflict victims declared in the municipality → more suspicion
    COMBATS: 1,  # more combats/attacks recorded in the municipality
    "settlement_dist": -1,  # nearer a settlement → more people exposed
    "roads_dist": -1,  # nearer a road → where people travel and work
}
"""The a-priori score: what a programme would rank by, directions declared in advance."""

CANDIDATES: tuple[str, ...] = (
    VICTIMS,
    COMBATS,
    "roads_dist",
    "settlement_dist",
    "buildings_dist",
    "edu_dist",
    "coca_dist",
    "elevation",
    "population_2020",
    "waterways_dist",
)
"""Indicators the data-driven choice may use (directions chosen from labels)."""

BLOCK_SIZE_M = 10_000
N_FOLDS = 5


def load_cells(path: Path) -> gpd.GeoDataFrame:
    """Labelled cells only (``mines_outcome`` 0/1; unlabelled −1 dropped)."""
    frame = pd.read_csv(path)
    frame = frame[frame["mines_outcome"] >= 0].reset_index(drop=True)
    geometry = gpd.points_from_xy(frame["LONGITUD_X"], frame["LATITUD_Y"])
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geometry, crs="EPSG:4326")


def evaluate(cells: gpd.GeoDataFrame, *, n_boot: int, seed: int = 0) -> dict:
    """Every ranking's :class:`RankingScore` and the folds' chosen directions."""
    y = cells["mines_outcome"].to_numpy(dtype=float)
    area = np.ones(len(cells))  # ~1 km² grid cells: equal areas
    blocks = grid_blocks(cells, block_size_m=BLOCK_SIZE_M)
    grid_fold = block_folds(blocks, n_folds=N_FOLDS, seed=seed)
    muni_fold = block_folds(cells["Municipio"], n_folds=N_FOLDS, seed=seed)

    rankings: dict[str, pd.Series] = {
        "a-priori evidence (4 indicators)": rank_average(cells, PRIOR)
    }
    for col, sign in PRIOR.items():
        rankings[f"{col} alone ({'+' if sign > 0 else '−'})"] = sign * cells[col]
    in_sample = choose_directions(cells, y, CANDIDATES)
    rankings["directions chosen on all labels (in-sample)"] = rank_average(cells, in_sample)
    oof_grid, chosen_grid = out_of_fold_scores(cells, y, grid_fold, CANDIDATES)
    rankings["directions chosen by 10 km block CV"] = oof_grid
    oof_muni, chosen_muni = out_of_fold_scores(cells, y, muni_fold, CANDIDATES)
    rankings["directions chosen by municipality CV"] = oof_muni
    rankings["area alone (= random: equal cells)"] = pd.Series(area)

    scores = {
        name: score_ranking(
            s.to_numpy(dtype=float),
            area,
            y,
            name=name,
            outcome_name="cells where mines were found",
            groups=blocks.to_numpy(),
            n_boot=n_boot,
            seed=seed,
        )
        for name, s in rankings.items()
    }
    return {
        "n_cells": len(cells),
        "n_mines": int(y.sum()),
        "n_blocks": int(blocks.nunique()),
        "scores": scores,
        "in_sample_directions": in_sample,
        "block_cv_directions": chosen_grid,
        "municipality_cv_directions": chosen_muni,
    }


def _fmt(iv) -> str:
    if not math.isfinite(iv.estimate):
        return "n/a"
    return f"{iv.estimate:.2f} ({iv.low:.2f}–{iv.high:.2f})"


def _pct(iv) -> str:
    return f"{iv.estimate * 100:.0f} % ({iv.low * 100:.0f}–{iv.high * 100:.0f} %)"


def markdown(result: dict) -> str:
    """The results table as Markdown."""
    lines = [
        f"{result['n_cells']} labelled cells, {result['n_mines']} with mines "
        f"({result['n_mines'] / result['n_cells']:.1%}), {result['n_blocks']} blocks of 10 km.",
        "",
        "| ranking | ROC AUC (95 % CI) | top 10 % | top 25 % | top 50 % | lift top 25 % |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in result["scores"].items():
        lines.append(
            f"| {name} | {_fmt(s.auc)} | {_pct(s.gain['10'])} | {_pct(s.gain['25'])} | "
            f"{_pct(s.gain['50'])} | {_fmt(s.lift_random['25'])}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the table (and verdicts)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    result = evaluate(load_cells(args.data), n_boot=args.n_boot, seed=args.seed)
    print(markdown(result))
    print()
    for s in result["scores"].values():
        print("-", verdict(s, subject="ranked cells"))
    print()
    print("in-sample directions:", result["in_sample_directions"])
    print("block-CV directions per fold:", result["block_cv_directions"])
    if args.json:
        doc = {k: v for k, v in result.items() if k != "scores"}
        doc["scores"] = {k: v.to_dict() for k, v in result["scores"].items()}
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
