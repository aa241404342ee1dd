"""Real data: simple evidence rankings against Colombia's RELand clearance outcomes.

The figures themselves are reported in docs/backtest.md (scripts/backtest_reland.py);
these tests check the evaluation against independent computations and the data's own
documented counts, not against numbers the code produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minemap.backtest import grid_blocks, roc_auc, score_ranking
from tests.conftest import REPO, real_data

pytestmark = pytest.mark.realdata

sys.path.insert(0, str(REPO / "scripts"))
import backtest_reland as reland  # noqa: E402


@pytest.fixture(scope="module")
def cells():
    return reland.load_cells(real_data("col_reland_antioquia/reland_antioquia_grid.csv"))


def test_only_labelled_cells_are_scored(cells):
    # SOURCE.md: 1132 cells with mines, 3357 demined with none, 2530 unlabelled (dropped)
    assert len(cells) == 1132 + 3357
    assert int(cells["mines_outcome"].sum()) == 1132


def test_indicator_auc_equals_pairwise_count(cells):
    y = cells["mines_outcome"].to_numpy(dtype=float)
    x = cells[reland.COMBATS].to_numpy(dtype=float)
    pos, neg = x[y == 1], x[y == 0]
    # independent Mann–Whitney: count wins and ties over every (mine, clean) pair
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert roc_auc(x, y) == pytest.approx(wins / (len(pos) * len(neg)))


def test_block_bootstrap_is_wider_than_cell_bootstrap(cells):
    # neighbouring cells are alike: resampling 10 km blocks must give a wider interval
    y = cells["mines_outcome"].to_numpy(dtype=float)
    score = reland.rank_average(cells, reland.PRIOR).to_numpy()
    area = np.ones(len(cells))
    blocks = grid_blocks(cells, block_size_m=reland.BLOCK_SIZE_M).to_numpy()
    by_cell = score_ranking(score, area, y, n_boot=200, seed=3)
    by_block = score_ranking(score, area, y, groups=blocks, n_boot=200, seed=3)
    assert by_cell.auc.estimate == by_block.auc.estimate
    width = lambda iv: iv.high - iv.low  # noqa: E731
    assert width(by_block.auc) > 1.5 * width(by_cell.auc)


@pytest.mark.slow
def test_script_reproduces_the_documented_comparison(cells, tmp_path: Path):
    out = tmp_path / "reland.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    data = real_data("col_reland_antioquia/reland_antioquia_grid.csv")
    cmd = [sys.executable, "scripts/backtest_reland.py", "--data", str(data)]
    proc = subprocess.run(
        [*cmd, "--n-boot", "50", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    scores = doc["scores"]
    assert doc["n_cells"] == 4489
    in_sample = scores["directions chosen on all labels (in-sample)"]["auc"]["estimate"]
    block_cv = scores["directions chosen by 10 km block CV"]["auc"]["estimate"]
    # choosing directions on the very cells that are scored is expected to flatter;
    # if block CV beat it here, the evaluation would be suspect
    assert block_cv <= in_sample
    # equal-area cells: the area-only ranking is one tied block, i.e. exactly random
    assert scores["area alone (= random: equal cells)"]["auc"]["estimate"] == 0.5
    assert "| a-priori evidence (4 indicators) |" in proc.stdout
