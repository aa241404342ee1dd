"""Back-test minemap's ranking: rebuild it as of a date, score it against what came later.

:func:`backtest` cuts the layers at ``as_of`` (:func:`~minemap.backtest.split.split_as_of`:
history strictly before, outcomes from ``as_of`` up to ``until``), rebuilds the ranking from
the history alone with :func:`minemap.risk.pipeline.prioritise` for each weight set, and
scores each ranking (:func:`~minemap.backtest.scoring.score_ranking`) against

* **findings** — released polygons of the outcome period with ``devices_found > 0`` versus
  ``= 0``, by their overlap area with the ranked tasks (:func:`task_outcomes`): the gain is
  the share of *found area* within the top of the ranked area; the AUC compares m² where
  devices were found with m² released clean;
* **harm** — casualty incidents of the outcome period inside the tasks: the gain is the
  share of incidents within the top of the ranked area; the AUC compares tasks with a later
  incident with tasks without.

Outcomes that fall outside every ranked task are counted (``coverage``): a ranking cannot
take credit for what it did not map. Tasks are scored by ``priority_score`` so that tied
scores stay tied (``priority_rank`` breaks ties by task id, which would be arbitrary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.backtest.metrics import DEFAULT_FRACTIONS
from minemap.backtest.scoring import RankingScore, score_ranking
from minemap.backtest.split import Split, block_folds, grid_blocks, split_as_of
from minemap.backtest.verdict import (
    outside_facts,
    overfitting_facts,
    render,
    unknown_devices_facts,
    verdict_facts,
)
from minemap.geometry import area_m2, assert_same_crs, to_area_crs

__all__ = ["BacktestResult", "backtest", "overfitting_warning", "task_outcomes"]

_EVIDENCE_LAYERS = ("hazards", "strikes", "casualties")


def _geoms_3035(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(to_area_crs(frame.geometry).array, dtype=object)


def _overlap_area(tasks: np.ndarray, target: shapely.Geometry | None) -> np.ndarray:
    """Area (m²) of each task geometry inside ``target`` (non-overlapping parts)."""
    out = np.zeros(len(tasks))
    if target is None or target.is_empty or not len(tasks):
        return out
    parts = shapely.get_parts(target)
    tree = shapely.STRtree(parts)
    ti, pi = tree.query(tasks, predicate="intersects")
    if len(ti):
        inter = shapely.area(shapely.intersection(tasks[ti], parts[pi]))
        out += np.bincount(ti, weights=inter, minlength=len(tasks))
    return out


def task_outcomes(
    tasks: gpd.GeoDataFrame,
    outcomes: Mapping[str, gpd.GeoDataFrame],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """What happened later inside each task.

    Parameters
    ----------
    tasks : GeoDataFrame
        Ranked tasks, EPSG:4326 (non-overlapping, as the risk core makes them).
    outcomes : mapping
        Outcome-period frames: ``cleared`` (with ``devices_found``) and ``casualties``
        (with ``killed``/``injured``); either may be missing.

    Returns
    -------
    per_task : DataFrame
        Aligned to ``tasks.index``: ``found_area_m2`` (released later with devices found),
        ``clean_area_m2`` (released later, none found, not also in found land),
        ``casualty_incidents`` and ``casualty_victims`` (killed + injured).
    summary : dict
        Totals, inside tasks and overall, and records whose ``devices_found`` is unknown
        (left out of both classes): ``found_area_m2``, ``found_area_in_tasks_m2``,
        ``clean_area_m2``, ``clean_area_in_tasks_m2``, ``released_unknown_devices``,
        ``casualty_incidents``, ``casualty_incidents_in_tasks``, ``casualty_victims``.
    """
    geoms = _geoms_3035(tasks)
    per = pd.DataFrame(
        {
            "found_area_m2": 0.0,
            "clean_area_m2": 0.0,
            "casualty_incidents": 0,
            "casualty_victims": 0,
        },
        index=tasks.index,
    )
    summary: dict[str, float] = {
        "found_area_m2": 0.0,
        "found_area_in_tasks_m2": 0.0,
        "clean_area_m2": 0.0,
        "clean_area_in_tasks_m2": 0.0,
        "released_unknown_devices": 0,
        "casualty_incidents": 0,
        "casualty_incidents_in_tasks": 0,
        "casualty_victims": 0,
    }
    released = outcomes.get("cleared")
    if released is not None and len(released):
        assert_same_crs(tasks, released, names=("tasks", "cleared"))
        devices = pd.to_numeric(released.get("devices_found"), errors="coerce")
        if devices is None:
            devices = pd.Series(np.nan, index=released.index)
        known = devices.notna().to_numpy()
        rel_geoms = _geoms_3035(released)
        found_mask = known & (devices.fillna(0).to_numpy() > 0)
        clean_mask = known & ~found_mask
        found = shapely.union_all(rel_geoms[found_mask]) if found_mask.any() else None
        clean = shapely.union_all(rel_geoms[clean_mask]) if clean_mask.any() else None
        if clean is not None and found is not None:
            clean = shapely.difference(clean, found)
        per["found_area_m2"] = _overlap_area(geoms, found)
        per["clean_area_m2"] = _overlap_area(geoms, clean)
        summary["found_area_m2"] = float(shapely.area(found)) if found is not None else 0.0
        summary["clean_area_m2"] = float(shapely.area(clean)) if clean is not None else 0.0
        summary["found_area_in_tasks_m2"] = float(per["found_area_m2"].sum())
        summary["clean_area_in_tasks_m2"] = float(per["clean_area_m2"].sum())
        summary["released_unknown_devices"] = int((~known).sum())
    casualties = outcomes.get("casualties")
    if casualties is not None and len(casualties):
        assert_same_crs(tasks, casualties, names=("tasks", "casualties"))
        victims = (
            pd.to_numeric(casualties.get("killed"), errors="coerce").fillna(0).to_numpy()
            + pd.to_numeric(casualties.get("injured"), errors="coerce").fillna(0).to_numpy()
        )
        pts = _geoms_3035(casualties)
        tree = shapely.STRtree(geoms)
        pi, ti = tree.query(pts, predicate="intersects")
        first = ~pd.Series(pi).duplicated().to_numpy()  # a point on a shared edge counts once
        pi, ti = pi[first], ti[first]
        per["casualty_incidents"] = np.bincount(ti, minlength=len(geoms)).astype(int)
        per["casualty_victims"] = np.bincount(ti, weights=victims[pi], minlength=len(geoms))
        summary["casualty_incidents"] = len(casualties)
        summary["casualty_incidents_in_tasks"] = len(pi)
        summary["casualty_victims"] = float(victims.sum())
    return per, summary


def overfitting_warning(names: Sequence[str], *, cross_validated: bool) -> str | None:
    """The warning shown when several weight sets are compared on one period (English)."""
    facts = overfitting_facts(names, cross_validated=cross_validated)
    return None if facts is None else render(facts, "en")


@dataclass
class BacktestResult:
    """What :func:`backtest` returns.

    Attributes
    ----------
    split : Split
        The as-of split (history and outcome frames, counts).
    rankings : dict of str to GeoDataFrame
        The rebuilt ranking of each weight set (as ``prioritise`` returned it).
    run_records : dict of str to dict
        The pipeline's run record of each ranking.
    outcomes : DataFrame
        Per task (``task_id`` + :func:`task_outcomes` columns, plus ``block``/``fold`` if
        spatial blocks were asked for).
    coverage : dict
        Outcome totals inside tasks and overall (see :func:`task_outcomes`).
    scores : list of RankingScore
        Findings and harm per weight set (and the block-CV choice if computed).
    notes : list of dict
        Warnings as statements (:mod:`minemap.backtest.verdict`: ``overfitting``,
        ``outside``, ``unknown_devices``); :attr:`warnings` renders them in English.
    blocks : dict or None
        With spatial blocks: ``n_folds``, ``block_size_m``, ``n_blocks``, and per fold the
        tasks, blocks and, per ranking and outcome, the fold's own AUC and top-25 % gain.
    """

    split: Split
    rankings: dict[str, gpd.GeoDataFrame]
    run_records: dict[str, dict[str, Any]]
    outcomes: pd.DataFrame
    coverage: dict[str, float]
    scores: list[RankingScore] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    blocks: dict[str, Any] | None = None

    @property
    def warnings(self) -> list[str]:
        """The warnings in English."""
        return self.warnings_in("en")

    def warnings_in(self, lang: str = "en") -> list[str]:
        """The warnings in ``lang`` (``en`` or ``uk``)."""
        return [render(n, lang) for n in self.notes]

    def verdict_facts(self) -> list[dict[str, Any]]:
        """One verdict statement per score (language-free, JSON-able)."""
        return [verdict_facts(s) for s in self.scores]

    def verdicts(self, lang: str = "en") -> list[str]:
        """One plain-words verdict per score."""
        return [render(f, lang, subject="ranked hazard area") for f in self.verdict_facts()]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (no geometries).

        ``verdicts``/``warnings`` are the English sentences; ``verdict_facts`` and
        ``warning_facts`` the statements they are rendered from (any language).
        """
        return {
            "split": self.split.summary(),
            "coverage": dict(self.coverage),
            "run_records": self.run_records,
            "scores": [s.to_dict() for s in self.scores],
            "blocks": self.blocks,
            "verdict_facts": self.verdict_facts(),
            "warning_facts": [dict(n) for n in self.notes],
            "verdicts": self.verdicts(),
            "warnings": list(self.warnings),
        }

    def to_frame(self) -> pd.DataFrame:
        """Flat comparison table: one row per ranking, outcome and measure."""
        rows = [row for s in self.scores for row in s.rows()]
        return pd.DataFrame(rows)


def _weights_label(w: Any, i: int) -> str:
    if w is None:
        return "default weights"
    name = getattr(w, "name", None) or f"weights {i + 1}"
    version = getattr(w, "version", "")
    return f"{name} v{version}" if version else str(name)


def _choose_by_cv(
    scores: Mapping[str, np.ndarray],
    areas: np.ndarray,
    target: np.ndarray,
    folds: np.ndarray,
    *,
    top: float,
) -> np.ndarray:
    """Out-of-fold score vector: each fold gets the weight set best on the other folds."""
    from minemap.backtest.metrics import gain_at

    pooled = np.full(len(areas), np.nan)
    for k in np.unique(folds):
        train = folds != k
        best, best_gain = None, -np.inf
        for name, s in scores.items():
            if target[train].sum() <= 0:
                g = 0.0
            else:
                g = float(gain_at(s[train], areas[train], target[train], [top])[0])
            if g > best_gain:
                best, best_gain = name, g
        pooled[~train] = scores[best][~train]
    return pooled


def backtest(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    as_of: Any,
    until: Any = None,
    weights: Sequence[Any] = (None,),
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    n_folds: int | None = None,
    block_size_m: float = 10_000.0,
    n_boot: int = 1000,
    seed: int = 0,
    ranker: Callable[..., Any] | None = None,
) -> BacktestResult:
    """Rebuild the ranking as of ``as_of`` and score it against later findings and harm.

    Parameters
    ----------
    layers : mapping of layer name to GeoDataFrame
        Canonical frames (``store.read_layer``), EPSG:4326.
    as_of : date-like
        Only records dated strictly before it build the ranking.
    until : date-like, optional
        End (exclusive) of the outcome period; open-ended if None.
    weights : sequence of Weights or None
        Weight sets to compare (None = the shipped default). Several → an over-fitting
        warning, and with ``n_folds`` a block cross-validated choice.
    fractions : sequence of float
        Shares of ranked area to report.
    n_folds : int, optional
        Spatial hold-out: tasks go into ``block_size_m`` grid blocks dealt into
        ``n_folds`` folds; intervals then resample blocks, and weight choice is
        cross-validated over folds.
    block_size_m : float
    n_boot, seed : int
        Bootstrap resamples and seed (same seed → same intervals).
    ranker : callable, optional
        ``ranker(layers, *, weights, as_of)`` → object with ``.tasks`` and
        ``.run_record``; default :func:`minemap.risk.pipeline.prioritise`.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValueError
        Nothing dated before ``as_of`` to rank from, or no task could be built.
    """
    if ranker is None:
        from minemap.risk.pipeline import prioritise as ranker
    split = split_as_of(layers, as_of, until=until)
    if not any(len(split.history.get(n, ())) for n in _EVIDENCE_LAYERS):
        raise ValueError(
            f"nothing to rank: no hazards, strikes or casualties dated before {split.as_of.date()}"
        )
    if not weights:
        weights = (None,)
    rankings: dict[str, gpd.GeoDataFrame] = {}
    records: dict[str, dict[str, Any]] = {}
    for i, w in enumerate(weights):
        label = _weights_label(w, i)
        if label in rankings:
            label = f"{label} ({i + 1})"
        res = ranker(split.history, weights=w, as_of=split.as_of)
        rankings[label] = res.tasks
        records[label] = res.run_record
    first = next(iter(rankings.values()))
    if not len(first):
        raise ValueError("the history before as_of produced no task to rank")
    base = first.sort_values("task_id", kind="mergesort").reset_index(drop=True)
    for label, tasks in rankings.items():
        if set(tasks["task_id"].astype(str)) != set(base["task_id"].astype(str)):
            raise ValueError(f"{label}: the task set differs between weight sets")
    per, coverage = task_outcomes(base, split.outcomes)
    per.insert(0, "task_id", base["task_id"].astype(str).to_numpy())
    areas = area_m2(base).to_numpy()
    groups = None
    folds = None
    if n_folds is not None:
        blocks = grid_blocks(base, block_size_m=block_size_m)
        folds = block_folds(blocks, n_folds=n_folds, seed=seed).to_numpy()
        groups = blocks.to_numpy()
        per["block"] = groups
        per["fold"] = folds
    found = per["found_area_m2"].to_numpy()
    clean = per["clean_area_m2"].to_numpy()
    harm = per["casualty_incidents"].to_numpy(dtype=float)

    aligned: dict[str, np.ndarray] = {}
    for label, tasks in rankings.items():
        s = tasks.set_index(tasks["task_id"].astype(str))["priority_score"]
        aligned[label] = s.loc[per["task_id"]].to_numpy(dtype=float)
    if folds is not None and len(aligned) > 1:
        target = found if found.sum() > 0 else harm
        aligned["weights chosen by block CV"] = _choose_by_cv(
            aligned, areas, target, folds, top=0.25
        )
    common = {"fractions": fractions, "groups": groups, "n_boot": n_boot, "seed": seed}
    scores: list[RankingScore] = []
    for label, s in aligned.items():
        scores.append(
            score_ranking(
                s,
                areas,
                found,
                auc_positive=found,
                auc_negative=clean,
                name=label,
                outcome_name="findings",
                **common,
            )
        )
        scores.append(score_ranking(s, areas, harm, name=label, outcome_name="harm", **common))
    notes: list[dict[str, Any]] = []
    over = overfitting_facts(list(rankings), cross_validated=folds is not None)
    if over:
        notes.append(over)
    for outcome, inside, total in (
        ("findings", coverage["found_area_in_tasks_m2"], coverage["found_area_m2"]),
        ("harm", coverage["casualty_incidents_in_tasks"], coverage["casualty_incidents"]),
    ):
        if total > 0 and inside < total:
            notes.append(outside_facts(outcome, 1 - inside / total))
    if coverage["released_unknown_devices"]:
        notes.append(unknown_devices_facts(coverage["released_unknown_devices"]))
    block_figures = None
    if folds is not None:
        block_figures = _fold_figures(
            aligned, areas, {"findings": found, "harm": harm}, clean, folds, groups
        )
        block_figures.update(n_folds=int(n_folds), block_size_m=float(block_size_m))
    return BacktestResult(
        split, rankings, records, per, coverage, scores, notes, blocks=block_figures
    )


def _fold_figures(
    aligned: Mapping[str, np.ndarray],
    areas: np.ndarray,
    targets: Mapping[str, np.ndarray],
    clean: np.ndarray,
    folds: np.ndarray,
    groups: np.ndarray,
) -> dict[str, Any]:
    """Per fold: tasks, blocks and each ranking's own AUC and top-25 % gain on the fold."""
    from minemap.backtest.metrics import gain_at, weighted_roc_auc

    out: dict[str, Any] = {"n_blocks": len(np.unique(groups)), "folds": []}
    for k in np.unique(folds):
        mask = folds == k
        fold: dict[str, Any] = {
            "fold": int(k),
            "tasks": int(mask.sum()),
            "blocks": len(np.unique(groups[mask])),
            "figures": [],
        }
        for outcome, target in targets.items():
            t = target[mask]
            if outcome == "findings":
                pos, neg = t, clean[mask]
            else:
                pos = (t > 0).astype(float)
                neg = 1.0 - pos
            fold[f"{outcome}_total"] = float(t.sum())
            for name, s in aligned.items():
                if t.sum() > 0:
                    gain = float(gain_at(s[mask], areas[mask], t, [0.25])[0])
                else:
                    gain = float("nan")
                if pos.sum() > 0 and neg.sum() > 0:
                    auc = float(weighted_roc_auc(s[mask], pos, neg))
                else:
                    auc = float("nan")
                fold["figures"].append(
                    {"name": name, "outcome": outcome, "auc": auc, "gain25": gain}
                )
        out["folds"].append(fold)
    return out
