"""Assemble a :class:`ReportData` from layer frames: privacy first, then figures.

Renderers (:mod:`~minemap.reports.pdf`, :mod:`~minemap.reports.xlsx`,
:mod:`~minemap.reports.csv`) only format what is in a :class:`ReportData`; they never see
a layer frame, so nothing personal can reach them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

import minemap
from minemap._errors import ConfigError
from minemap.geometry import to_area_crs
from minemap.layers import get_schema
from minemap.reports import figures as fig
from minemap.reports.privacy import TOTAL, ProtectedTable, funder_view, protect_counts
from minemap.risk.weights import Weights, default_weights
from minemap.settings import STORAGE_CRS

__all__ = [
    "BacktestSummary",
    "BatchInfo",
    "MapData",
    "PlanSummary",
    "ReportData",
    "backtest_summary",
    "build_report",
    "select_area",
]

_NAME_COLUMNS = ("name", "name_uk", "name_en", "shapeName", "NAME", "katotth")
_LAYERS = ("cleared", "hazards", "farmland", "casualties")
_RISK_LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland", "settlements")
_EVIDENCE_LAYERS = ("hazards", "strikes", "casualties")


@dataclass(frozen=True)
class PlanSummary:
    """Tasks completed vs planned: the plan is the ranking as of the day before the period.

    ``tasks`` has anonymised ids only (see :func:`~minemap.reports.figures.plan_completion`);
    with a settlements layer it has a ``people_exposed`` column too.
    """

    as_of: pd.Timestamp
    top_n: int
    threshold: float
    n_ranked: int
    tasks: pd.DataFrame
    people_exposed: int | None = None
    """People living within ``exposure_distance_m`` of at least one planned task, each
    counted once (:func:`~minemap.reports.figures.people_exposed_total`); None without a
    settlements layer."""
    exposure_distance_m: float | None = None

    @property
    def n_planned(self) -> int:
        return len(self.tasks)

    @property
    def n_completed(self) -> int:
        return int(self.tasks["completed"].sum()) if len(self.tasks) else 0

    @property
    def planned_area_ha(self) -> float:
        return float(self.tasks["area_ha"].sum()) if len(self.tasks) else 0.0

    @property
    def released_share(self) -> float | None:
        """Share of the planned area released in the period (None if no planned area)."""
        area = self.planned_area_ha
        return float(self.tasks["released_ha"].sum()) / area if area > 0 else None


@dataclass(frozen=True)
class BacktestScore:
    """One ranking × outcome of a back-test, as figures (intervals: estimate, low, high)."""

    name: str
    outcome: str
    evaluable: bool
    auc: tuple[float, float, float] | None
    gain25: tuple[float, float, float] | None
    lift25: float | None


@dataclass(frozen=True)
class BacktestSummary:
    """What the methods section says about a back-test (``minemap backtest --out``)."""

    as_of: str
    until: str | None
    scores: list[BacktestScore]


def _interval(value: object) -> tuple[float, float, float] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        out = tuple(float(value[k]) for k in ("estimate", "low", "high"))
    except (KeyError, TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None  # type: ignore[return-value]


def backtest_summary(result: object) -> BacktestSummary:
    """Read a back-test result (``BacktestResult`` or its ``to_dict()`` / JSON form).

    Raises
    ------
    ConfigError
        The result lacks the split date or the scores.
    """
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if not isinstance(data, Mapping):
        raise ConfigError("the back-test result is not a JSON object")
    split = data.get("split")
    scores = data.get("scores")
    if not isinstance(split, Mapping) or not split.get("as_of") or not isinstance(scores, list):
        raise ConfigError(
            "the back-test result has no 'split.as_of' or 'scores' "
            "(write it with: minemap backtest --out FILE.json)"
        )
    out = []
    for i, sc in enumerate(scores):
        if not isinstance(sc, Mapping) or "outcome" not in sc:
            raise ConfigError(f"back-test score {i + 1} has no 'outcome'")
        gain = _interval((sc.get("gain") or {}).get("25"))
        lift = _interval((sc.get("lift_random") or {}).get("25"))
        out.append(
            BacktestScore(
                name=str(sc.get("name", "")),
                outcome=str(sc["outcome"]),
                evaluable=gain is not None,
                auc=_interval(sc.get("auc")),
                gain25=gain,
                lift25=lift[0] if lift else None,
            )
        )
    until = split.get("until")
    return BacktestSummary(str(split["as_of"]), str(until) if until else None, out)


def _plan(
    layers: Mapping[str, gpd.GeoDataFrame],
    released: gpd.GeoDataFrame,
    *,
    as_of: pd.Timestamp,
    area: BaseGeometry | None,
    top_n: int,
    threshold: float,
    weights: Weights,
) -> PlanSummary | None:
    """Rank tasks from records up to ``as_of``; None if there is no hazard evidence then."""
    from minemap.risk.exposure import EXPOSURE_DISTANCE_M
    from minemap.risk.pipeline import filter_as_of, prioritise

    risk = {n: layers[n] for n in _RISK_LAYERS if layers.get(n) is not None and len(layers[n])}
    history, _ = filter_as_of(risk, as_of)
    if not any(len(history.get(n, ())) for n in _EVIDENCE_LAYERS):
        return None
    ranked = prioritise(risk, as_of=as_of, weights=weights).tasks
    settlements = risk.get("settlements")
    if settlements is None and "people_exposed" in ranked.columns:
        ranked = ranked.drop(columns="people_exposed")  # 0 means "unknown" without the layer
    whole = ranked.geometry
    if area is not None and len(ranked):
        ranked = ranked[ranked.geometry.intersects(area)].copy()
        ranked["geometry"] = ranked.geometry.intersection(area)
    if not len(ranked):
        return None
    plan = ranked.assign(_r=pd.to_numeric(ranked["priority_rank"])).nsmallest(top_n, "_r")
    table = fig.plan_completion(plan, released, threshold=threshold)
    if settlements is None:
        return PlanSummary(as_of, top_n, threshold, len(ranked), table)
    # people exposed belongs to the whole task (as ranked), also when the area clips it
    total = fig.people_exposed_total(
        gpd.GeoDataFrame(geometry=whole.loc[plan.index], crs=whole.crs),
        settlements,
        exposure_distance_m=EXPOSURE_DISTANCE_M,
    )
    return PlanSummary(as_of, top_n, threshold, len(ranked), table, total, EXPOSURE_DISTANCE_M)


@dataclass(frozen=True)
class BatchInfo:
    """One import batch named in the methods section (no user names)."""

    batch_id: str
    layer: str
    file_name: str
    created_at: pd.Timestamp | None
    feature_count: int | None


@dataclass(frozen=True)
class MapData:
    """The coarse static map, in EPSG:3035 metres."""

    cell_km: float
    released_cells: list[BaseGeometry]
    hazard_cells: list[BaseGeometry]
    boundaries: list[tuple[str, BaseGeometry, BaseGeometry]]
    """(name, boundary lines, label point) of each admin area in view."""
    extent: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class ReportData:
    """Everything a funder report shows; nothing personal, casualty counts suppressed."""

    start: pd.Timestamp
    end: pd.Timestamp
    area_name: str | None
    months: pd.PeriodIndex
    released: pd.DataFrame
    released_monthly: pd.DataFrame
    farmland: dict[str, float]
    farmland_cumulative: pd.Series
    devices: pd.DataFrame
    hazard_start: pd.Series
    hazard_end: pd.Series
    casualties: dict[str, ProtectedTable]
    tasks: pd.DataFrame
    tasks_count: int
    tasks_area_ha: float
    cost_per_ha: float | None
    map: MapData
    batches: list[BatchInfo]
    generated_at: pd.Timestamp
    author: str | None = None
    weights_version: str | None = None
    version: str = minemap.__version__
    notes: list[str] = field(default_factory=list)
    plan: PlanSummary | None = None
    backtest: BacktestSummary | None = None

    @property
    def casualties_total(self) -> int | None:
        """Published total casualties (``None`` if withheld)."""
        return self.casualties["by_month"].published(TOTAL, TOTAL)

    @property
    def civilian_share(self) -> float | None:
        """Civilian share of casualties, only when both counts are published."""
        total = self.casualties_total
        civ = self.casualties["by_civilian"].published("civilian", TOTAL)
        if total is None or civ is None or total == 0:
            return None
        return civ / total


def select_area(boundaries: gpd.GeoDataFrame, name: str) -> tuple[str, BaseGeometry]:
    """Find an admin area by name (Ukrainian or English, case-insensitive) or KATOTTH.

    Raises
    ------
    ConfigError
        No area has that name, or several different areas do (their parents are listed so
        the user can tell them apart).
    """
    if boundaries.crs is None:
        raise ConfigError("the admin boundaries have no CRS")
    wanted = name.strip().casefold()
    columns = [c for c in _NAME_COLUMNS if c in boundaries.columns]
    if not columns:
        raise ConfigError(
            f"the admin boundaries have no name column (expected one of {', '.join(_NAME_COLUMNS)})"
        )
    mask = pd.Series(False, index=boundaries.index)
    for c in columns:
        mask |= boundaries[c].astype("string").str.strip().str.casefold().eq(wanted).fillna(False)
    hits = boundaries[mask].to_crs(STORAGE_CRS)
    if hits.empty:
        raise ConfigError(f"no admin area named {name!r} in the boundaries")
    if len(hits) > 1:
        parents = [
            c for c in ("raion_uk", "oblast_uk", "raion_en", "oblast_en") if c in hits.columns
        ]
        described = [
            " / ".join(str(row[c]) for c in [columns[0], *parents] if pd.notna(row[c]))
            for _, row in hits.iterrows()
        ]
        raise ConfigError(
            f"{len(hits)} admin areas are named {name!r}: {'; '.join(described)}; "
            "give its KATOTTH code instead"
        )
    row = hits.iloc[0]
    label = next(
        (
            str(row[c])
            for c in ("name_uk", "name", "name_en", "shapeName")
            if c in hits.columns and pd.notna(row[c])
        ),
        name,
    )
    return label, shapely.make_valid(row.geometry)


def _batches(batches: Iterable[object] | None) -> list[BatchInfo]:
    out = []
    for b in batches or ():
        get = b.get if isinstance(b, Mapping) else lambda k, d=None, b=b: getattr(b, k, d)
        if str(get("status", "active") or "active") != "active":
            continue
        created = get("created_at")
        count = get("feature_count")
        out.append(
            BatchInfo(
                batch_id=str(get("batch_id", "")),
                layer=str(get("layer", "")),
                file_name=str(get("file_name", "")),
                created_at=pd.Timestamp(created) if created is not None else None,
                feature_count=int(count) if count is not None else None,
            )
        )
    return out


def _empty(layer: str) -> gpd.GeoDataFrame:
    schema = get_schema(layer)
    frame = gpd.GeoDataFrame(
        {
            f.name: pd.Series([], dtype="datetime64[ns]" if f.kind == "date" else object)
            for f in schema.fields
        },
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )
    return frame


def _nice_cell_km(extent_m: float) -> float:
    raw = extent_m / 1000.0 / 40.0
    for step in (1, 2, 5, 10, 20, 50, 100):
        if raw <= step:
            return float(step)
    return 100.0


def _cells(geom: BaseGeometry, size_m: float) -> list[BaseGeometry]:
    if geom.is_empty:
        return []
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(math.floor(minx / size_m) * size_m, maxx, size_m)
    ys = np.arange(math.floor(miny / size_m) * size_m, maxy, size_m)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size_m, gy.ravel() + size_m)
    shapely.prepare(geom)
    return list(boxes[shapely.intersects(geom, boxes)])


def _map(
    released: BaseGeometry,
    hazard: BaseGeometry,
    boundaries: gpd.GeoDataFrame | None,
    area: BaseGeometry | None,
) -> MapData:
    parts = [g for g in (released, hazard) if not g.is_empty]
    if area is not None:
        parts.append(to_area_crs(gpd.GeoSeries([area], crs=STORAGE_CRS)).iloc[0])
    if not parts:
        return MapData(1.0, [], [], [], None)
    minx, miny, maxx, maxy = shapely.union_all(parts).bounds
    cell_km = _nice_cell_km(max(maxx - minx, maxy - miny))
    size = cell_km * 1000.0
    pad = size
    extent = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    hazard_cells = _cells(hazard, size)
    released_cells = _cells(released, size)
    lines: list[tuple[str, BaseGeometry, BaseGeometry]] = []
    if boundaries is not None and len(boundaries):
        b = to_area_crs(boundaries.to_crs(STORAGE_CRS))
        box = shapely.box(*extent)
        near = b[b.geometry.intersects(box)]
        label_col = next((c for c in ("name_uk", "name", "name_en") if c in near.columns), None)
        for _, row in near.head(400).iterrows():
            # boundary lines only, so the map frame is not drawn as a boundary
            shape = shapely.make_valid(row.geometry)
            geom = shape.boundary.simplify(size / 10).intersection(box)
            if not geom.is_empty:
                label = str(row[label_col]) if label_col and pd.notna(row[label_col]) else ""
                anchor = shape.intersection(box).representative_point()
                lines.append((label, geom, anchor))
    return MapData(cell_km, released_cells, hazard_cells, lines, extent)


def build_report(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    area: str | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    batches: Iterable[object] | None = None,
    weights: Weights | None = None,
    weights_version: str | None = None,
    author: str | None = None,
    generated_at: dt.datetime | None = None,
    top_n: int = 10,
    plan_top: int | None = 20,
    completion_threshold: float = 0.9,
    backtest: object | None = None,
) -> ReportData:
    """Compute every figure of the funder report.

    Parameters
    ----------
    layers
        Canonical layer frames by name (any of ``cleared``, ``hazards``, ``farmland``,
        ``casualties``); missing layers count as empty. Each is reduced to its
        funder-safe view (:func:`~minemap.reports.privacy.funder_view`) before anything
        else, so frames read with personal fields are safe too.
    start, end
        Period (inclusive dates on ``date``); default: the span of the data.
    area
        Name (or KATOTTH code) of an oblast/hromada in ``boundaries``; every layer is
        clipped to it.
    boundaries
        Admin boundaries (GeoDataFrame with a name column) for ``area`` and the map.
    tasks
        Ranked tasks from the risk pipeline (``task_id``, ``area_m2``, ``priority_rank``,
        ``priority_score``); ids are anonymised, geometry is dropped.
    batches
        Batch records (``store.list_batches()``) for the methods section.
    weights
        Priority weights of the plan's ranking (default: the shipped set).
    weights_version
        The weights named in the methods section; default: those of the plan's ranking
        (``name vVERSION (sha256 …)``) when the plan was ranked, else none.
    author, generated_at
        Stated in the methods section (``author`` also in the PDF metadata).
    top_n
        How many ranked ``tasks`` to list.
    plan_top
        Tasks completed vs planned: the plan is the ``plan_top`` highest-ranked tasks of
        :func:`minemap.risk.pipeline.prioritise` run on the records dated up to the day
        before the period (``layers`` may include ``strikes``). ``None`` or 0 skips it; it
        is skipped too when no hazard evidence (hazards, strikes, casualties) predates
        the period.
    completion_threshold
        A planned task is completed when land released in the period covers at least this
        share of its area (union, EPSG:3035).
    backtest
        A back-test result (``BacktestResult`` or the JSON of ``minemap backtest --out``),
        summarised in the methods section.

    Returns
    -------
    ReportData
    """
    safe = {
        name: funder_view(layers[name], name) if layers.get(name) is not None else _empty(name)
        for name in _LAYERS
    }
    for name, frame in safe.items():
        if frame.crs is None:
            raise ConfigError(f"layer {name} has no CRS; expected EPSG:4326")
        if not frame.empty and frame.crs.to_epsg() != 4326:
            safe[name] = frame.to_crs(STORAGE_CRS)
    area_name, area_geom = (None, None)
    if area:
        if boundaries is None:
            raise ConfigError(f"--area {area!r} needs admin boundaries to find it")
        area_name, area_geom = select_area(boundaries, area)
    safe = {name: fig.clip_to_area(frame, area_geom) for name, frame in safe.items()}

    s, e = fig._ts(start), fig._ts(end)
    if plan_top is not None and plan_top < 0:
        raise ConfigError(f"the number of planned tasks must be ≥ 0; got {plan_top}")
    if not 0.0 < completion_threshold <= 1.0:
        raise ConfigError(
            f"the completion threshold must be in (0, 1]; got {completion_threshold!r}"
        )
    bt = backtest_summary(backtest) if backtest is not None else None
    if s is not None and e is not None and s > e:
        raise ConfigError(f"the period starts ({s:%Y-%m-%d}) after it ends ({e:%Y-%m-%d})")
    dated = pd.concat(
        [pd.to_datetime(safe[n]["date"]) for n in ("cleared", "casualties") if len(safe[n])]
        or [pd.Series([], dtype="datetime64[ns]")]
    ).dropna()
    now = pd.Timestamp(generated_at or dt.datetime.now(dt.UTC))
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    today = now.tz_convert(None).normalize()
    start_ts = s if s is not None else (dated.min() if len(dated) else today)
    end_ts = e if e is not None else (dated.max() if len(dated) else today)
    end_ts = max(end_ts, start_ts)
    months = fig.month_range(start_ts, end_ts)

    cleared_all = safe["cleared"]
    cleared = fig.filter_period(cleared_all, start=start_ts, end=end_ts)
    casualties = fig.filter_period(safe["casualties"], start=start_ts, end=end_ts)
    released = fig.released_by_method(cleared)
    released_monthly = fig.released_by_month(cleared, months)
    farm_summary, farm_cumulative = fig.farmland_returned(cleared, safe["farmland"], months)
    devices = fig.devices_found(cleared)
    before_start = start_ts - pd.Timedelta(days=1)
    hazard_start = fig.remaining_hazard(safe["hazards"], cleared_all, at=before_start)
    hazard_end = fig.remaining_hazard(safe["hazards"], cleared_all, at=end_ts)
    protected = protect_counts(fig.casualty_tables(casualties, months))

    cost_per_ha = None
    if "cost_uah" in cleared.columns:
        costed = cleared[pd.to_numeric(cleared["cost_uah"], errors="coerce").notna()]
        if len(costed):
            area_ha = fig.released_by_method(costed).loc[TOTAL, "area_ha"]
            if area_ha > 0:
                cost_per_ha = float(pd.to_numeric(costed["cost_uah"]).sum()) / area_ha

    task_table = fig.top_tasks(tasks, n=top_n)
    tasks_count = 0 if tasks is None else len(tasks)
    tasks_area = 0.0
    if tasks is not None and len(tasks):
        tasks_area = float(pd.to_numeric(tasks["area_m2"], errors="coerce").sum()) / 10_000

    # coarse map: released land in the period, hazard remaining at the end
    released_geom = fig._union_3035(cleared)
    h_end = safe["hazards"][pd.to_datetime(safe["hazards"]["date"]) <= end_ts]
    if "status" in h_end.columns:
        h_end = h_end[h_end["status"].astype("string").fillna("") != "closed"]
    hazard_geom = fig._union_3035(h_end)
    released_before = fig._union_3035(cleared_all[pd.to_datetime(cleared_all["date"]) <= end_ts])
    if not hazard_geom.is_empty and not released_before.is_empty:
        hazard_geom = hazard_geom.difference(released_before)
    map_data = _map(released_geom, hazard_geom, boundaries, area_geom)

    plan = None
    if plan_top:
        used = weights if weights is not None else default_weights()
        plan = _plan(
            layers,
            cleared,
            as_of=start_ts - pd.Timedelta(days=1),
            area=area_geom,
            top_n=plan_top,
            threshold=completion_threshold,
            weights=used,
        )
        if weights_version is None and plan is not None:
            weights_version = f"{used.name} v{used.version} (sha256 {used.sha256[:12]})"

    return ReportData(
        start=start_ts,
        end=end_ts,
        area_name=area_name,
        months=months,
        released=released,
        released_monthly=released_monthly,
        farmland=farm_summary,
        farmland_cumulative=farm_cumulative,
        devices=devices,
        hazard_start=hazard_start,
        hazard_end=hazard_end,
        casualties=protected,
        tasks=task_table,
        tasks_count=tasks_count,
        tasks_area_ha=tasks_area,
        cost_per_ha=cost_per_ha,
        map=map_data,
        batches=_batches(batches),
        generated_at=now,
        author=author,
        weights_version=weights_version,
        plan=plan,
        backtest=bt,
    )
