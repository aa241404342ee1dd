"""docs/security.md's role tables say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from minemap.auth import ACTIONS, POLICIES, ROLES
from minemap.layers import LAYER_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _rows(first_cell: str) -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(first_cell, cells[0]) if cells else None
        if match and len(cells) == 1 + len(ROLES):
            rows[match.group(1)] = cells[1:]
    return rows


def test_actions_table_matches_the_policies():
    rows = _rows(r"`(\w+)` — .*")
    assert set(rows) == set(ACTIONS)
    for action, marks in rows.items():
        assert marks == ["✓" if action in POLICIES[r].actions else "—" for r in ROLES], action


def test_layer_table_matches_the_policies():
    rows = _rows(r"(" + "|".join(LAYER_NAMES) + r")")
    assert set(rows) == set(LAYER_NAMES)
    for layer, levels in rows.items():
        assert levels == [POLICIES[r].layers[layer] for r in ROLES], layer
