"""Farmland impact and state-compensation eligibility of clearance tasks.

Two measurements on the task frame (one row per task, EPSG:4326):

- :func:`farmland_impact`: hectares of farmland blocked × land-use value (UAH/ha/yr) ×
  season factor. The value is the parcel's own ``value_per_ha`` when given, else the crop's,
  else the land use's default from ``minemap/risk/data/land-values.toml`` (documented
  assumptions; replace them with :func:`load_land_values`).
- :func:`compensation_eligible`: Ukraine's 2024 rule — farmland more than 20 km from the
  front line, with a completed non-technical survey, can be cleared at state expense.

Season factor (see ``docs/priorities.md``): with ``d`` the days from ``as_of`` to the start
of the next sowing/use window of the parcel's crop or land use (0 inside a window),
``f = floor + (1 - floor) * (1 - d / 365)``; ``floor`` defaults to 0.5. Land with no season
(orchards, fallow, unknown ``as_of``) has ``f = 1``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap._errors import ConfigError
from minemap.geometry import require_storage_crs

__all__ = [
    "COMPENSATION_DISTANCE_M",
    "LandValue",
    "LandValues",
    "compensation_eligible",
    "default_land_values",
    "farmland_impact",
    "frontline_distance_m",
    "is_surveyed",
    "land_value_per_ha",
    "load_land_values",
    "season_factor",
]

COMPENSATION_DISTANCE_M = 20_000.0
"""Farmland closer than this to the front line is not eligible for state-paid clearance."""

SEASON_FLOOR = 0.5
"""Default season factor a year before the next sowing window."""

_SURVEY_CLASSES = frozenset({"CHA", "SHA"})


@dataclass(frozen=True, slots=True)
class LandValue:
    """Value and season of one land use or crop."""

    value_per_ha: float
    """UAH per hectare per year (gross output)."""
    sowing: tuple[tuple[int, int, int, int], ...] = ()
    """Windows as (start month, start day, end month, end day); empty = no season."""
    source: str = ""


@dataclass(frozen=True)
class LandValues:
    """Land-use and crop values with their sowing windows (see ``land-values.toml``)."""

    version: str
    land_use: dict[str, LandValue]
    crop: dict[str, LandValue]
    aliases: dict[str, str] = field(default_factory=dict)
    """Lower-case crop name or alias → canonical crop name."""
    source: str = "<default>"

    def crop_key(self, crop: object) -> str | None:
        """The canonical crop for a free-text crop name, or None if not known."""
        if crop is None or crop is pd.NA or (isinstance(crop, float) and math.isnan(crop)):
            return None
        return self.aliases.get(str(crop).strip().casefold())

    def lookup(self, land_use: object, crop: object) -> tuple[LandValue, str]:
        """The value applying to a parcel without its own value, and its basis label."""
        key = self.crop_key(crop)
        if key is not None:
            return self.crop[key], f"crop:{key}"
        lu = None if land_use is None or land_use is pd.NA else str(land_use).strip().casefold()
        if lu is not None and lu in self.land_use:
            return self.land_use[lu], f"land_use:{lu}"
        return self.land_use["other"], "land_use:other"


def _parse_window(text: Any, where: str, problems: list[str]) -> tuple[int, int, int, int] | None:
    try:
        start, end = str(text).split("/")
        sm, sd = (int(x) for x in start.split("-"))
        em, ed = (int(x) for x in end.split("-"))
        dt.date(2001, sm, sd)
        dt.date(2001, em, ed)
    except (ValueError, TypeError):
        problems.append(f'{where}: sowing window {text!r} is not "MM-DD/MM-DD"')
        return None
    return (sm, sd, em, ed)


def _entry(raw: Any, where: str, problems: list[str]) -> LandValue | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a table")
        return None
    value = raw.get("value_per_ha")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        problems.append(f"{where}: value_per_ha must be a number >= 0, got {value!r}")
        return None
    windows = []
    for w in raw.get("sowing", []):
        parsed = _parse_window(w, where, problems)
        if parsed:
            windows.append(parsed)
    return LandValue(float(value), tuple(windows), str(raw.get("source", "")))


def land_values_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> LandValues:
    """Validate a parsed land-values document (all problems raised at once)."""
    problems: list[str] = []
    if "version" not in data:
        problems.append('missing "version"')
    land_use: dict[str, LandValue] = {}
    crops: dict[str, LandValue] = {}
    aliases: dict[str, str] = {}
    for name, raw in dict(data.get("land_use", {})).items():
        entry = _entry(raw, f"[land_use.{name}]", problems)
        if entry:
            land_use[name.casefold()] = entry
    if "other" not in land_use:
        problems.append("[land_use.other] is required (used for unknown land uses)")
    for name, raw in dict(data.get("crop", {})).items():
        entry = _entry(raw, f"[crop.{name}]", problems)
        if entry:
            key = name.casefold()
            crops[key] = entry
            aliases[key] = key
            for alias in raw.get("aliases", []):
                aliases[str(alias).strip().casefold()] = key
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"land-values file {source}: {len(problems)} problem(s):\n{lines}")
    return LandValues(str(data["version"]), land_use, crops, aliases, source)


def load_land_values(path: str | os.PathLike[str]) -> LandValues:
    """Read a land-values TOML file laid out like the packaged ``land-values.toml``."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"land-values file {p.name}: not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"land-values file {p.name}: cannot be read ({exc})") from None
    return land_values_from_mapping(data, source=p.name)


def default_land_values() -> LandValues:
    """The land-use and crop values shipped with minemap (documented assumptions)."""
    path = resources.files("minemap").joinpath("risk", "data", "land-values.toml")
    text = path.read_text("utf-8")
    return land_values_from_mapping(tomllib.loads(text), source="<default>")


def _farmland_ha(tasks: pd.DataFrame) -> np.ndarray:
    if "farmland_area_m2" not in tasks:
        return np.zeros(len(tasks))
    area = pd.to_numeric(tasks["farmland_area_m2"], errors="coerce").astype("float64")
    return np.clip(area.fillna(0.0).to_numpy(), 0.0, None) / 10_000.0


def _column(tasks: pd.DataFrame, name: str) -> pd.Series:
    if name in tasks:
        return tasks[name].astype(object)
    return pd.Series([None] * len(tasks), index=tasks.index, dtype=object)


def _lookup_table(tasks: pd.DataFrame, land_values: LandValues) -> pd.DataFrame:
    """Value, basis and season windows per task (looked up once per land use/crop pair)."""
    land_use = _column(tasks, "land_use").where(lambda s: s.notna(), None)
    crop = _column(tasks, "crop").where(lambda s: s.notna(), None)
    pairs = pd.DataFrame({"land_use": land_use, "crop": crop})
    cache: dict[tuple[Any, Any], tuple[LandValue, str]] = {}
    values, bases, windows = [], [], []
    for lu, cr in pairs.itertuples(index=False):
        key = (lu, cr)
        if key not in cache:
            cache[key] = land_values.lookup(lu, cr)
        entry, basis = cache[key]
        values.append(entry.value_per_ha)
        bases.append(basis)
        windows.append(entry.sowing)
    out = pd.DataFrame(
        {"value_per_ha": values, "basis": bases, "windows": windows}, index=tasks.index
    )
    if "value_per_ha" in tasks:
        own = pd.to_numeric(tasks["value_per_ha"], errors="coerce").astype("float64")
        has_own = own.notna().to_numpy()
        out.loc[has_own, "value_per_ha"] = own[has_own].to_numpy()
        out.loc[has_own, "basis"] = "parcel"
    return out


def land_value_per_ha(
    tasks: pd.DataFrame, *, land_values: LandValues | None = None, with_basis: bool = False
) -> pd.Series | pd.DataFrame:
    """Land value in UAH/ha/yr used for each task.

    Parameters
    ----------
    tasks : DataFrame
        Task frame with ``land_use``, ``crop`` and ``value_per_ha`` (any may be missing).
    land_values : LandValues, optional
        Defaults to :func:`default_land_values`.
    with_basis : bool
        Also return where each value came from (``"parcel"``, ``"crop:wheat"``,
        ``"land_use:arable"``) as a DataFrame with columns ``land_value_per_ha`` and
        ``land_value_basis``.

    Returns
    -------
    Series named ``land_value_per_ha`` (or DataFrame if ``with_basis``), aligned to ``tasks``.
    Tasks without farmland still get the value of their land use; the impact is 0 anyway.
    """
    lv = land_values or default_land_values()
    table = _lookup_table(tasks, lv)
    value = table["value_per_ha"].astype("float64").rename("land_value_per_ha")
    if with_basis:
        return pd.DataFrame(
            {"land_value_per_ha": value, "land_value_basis": table["basis"].astype(object)}
        )
    return value


def _days_to_window(day: dt.date, window: tuple[int, int, int, int]) -> int:
    sm, sd, em, ed = window
    for year in (day.year - 1, day.year, day.year + 1):
        start = _safe_date(year, sm, sd)
        end = _safe_date(year if (em, ed) >= (sm, sd) else year + 1, em, ed)
        if start <= day <= end:
            return 0
    starts = [_safe_date(y, sm, sd) for y in (day.year, day.year + 1)]
    return min((s - day).days for s in starts if s > day)


def _safe_date(year: int, month: int, day: int) -> dt.date:
    if month == 2 and day == 29:
        day = 28
    return dt.date(year, month, day)


def _as_date(as_of: Any) -> dt.date | None:
    if as_of is None:
        return None
    ts = pd.Timestamp(as_of)
    if pd.isna(ts):
        return None
    return ts.date()


def season_factor(
    tasks: pd.DataFrame,
    *,
    as_of: str | dt.date | pd.Timestamp | None = None,
    land_values: LandValues | None = None,
    floor: float = SEASON_FLOOR,
) -> pd.Series:
    """How urgent the land is for the coming season, between ``floor`` and 1.

    ``f = floor + (1 - floor) * (1 - d / 365)`` with ``d`` the days from ``as_of`` to the
    start of the next sowing/use window of the task's crop (else land use); ``d = 0`` inside
    a window, so land is most urgent just before and during sowing and least just after it.
    Land uses without a season, and every task when ``as_of`` is None, get 1.

    Returns
    -------
    Series named ``season_factor`` aligned to ``tasks``.
    """
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"season floor must be within 0..1, got {floor}")
    day = _as_date(as_of)
    if day is None or len(tasks) == 0:
        return pd.Series(1.0, index=tasks.index, name="season_factor", dtype="float64")
    table = _lookup_table(tasks, land_values or default_land_values())
    cache: dict[tuple, float] = {}
    out = []
    for windows in table["windows"]:
        if windows not in cache:
            if not windows:
                cache[windows] = 1.0
            else:
                d = min(_days_to_window(day, w) for w in windows)
                cache[windows] = floor + (1.0 - floor) * (1.0 - min(d, 365) / 365.0)
        out.append(cache[windows])
    return pd.Series(out, index=tasks.index, name="season_factor", dtype="float64")


def farmland_impact(
    tasks: pd.DataFrame,
    *,
    land_values: LandValues | None = None,
    as_of: str | dt.date | pd.Timestamp | None = None,
    season: bool = True,
    season_floor: float = SEASON_FLOOR,
) -> pd.Series:
    """Yearly farm output blocked by each task, weighted by the season (UAH/yr).

    ``farmland_impact = farmland_area_m2 / 10,000 × land_value_per_ha × season_factor``

    Parameters
    ----------
    tasks : DataFrame
        Task frame with ``farmland_area_m2`` (0/NA off farmland) and optionally ``land_use``,
        ``crop``, ``value_per_ha``.
    land_values : LandValues, optional
        Per land use / crop values; default :func:`default_land_values`. A parcel's own
        ``value_per_ha`` always wins.
    as_of : date-like, optional
        Date the plan is made for; sets the season factor (none → factor 1).
    season : bool
        False → ignore the season (factor 1).
    season_floor : float
        Season factor a full year before the next window.

    Returns
    -------
    Series named ``farmland_impact`` (UAH per year), aligned to ``tasks``; 0 off farmland.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"farmland_area_m2": [20_000.0, 0.0], "land_use": ["arable", None],
    ...                   "value_per_ha": [10_000.0, None]})
    >>> farmland_impact(t).tolist()
    [20000.0, 0.0]
    """
    lv = land_values or default_land_values()
    ha = _farmland_ha(tasks)
    value = land_value_per_ha(tasks, land_values=lv).to_numpy(dtype="float64")
    factor = (
        season_factor(tasks, as_of=as_of, land_values=lv, floor=season_floor).to_numpy()
        if season
        else np.ones(len(tasks))
    )
    impact = np.where(ha > 0, ha * value * factor, 0.0)
    return pd.Series(impact, index=tasks.index, name="farmland_impact", dtype="float64")


def is_surveyed(tasks: pd.DataFrame) -> pd.Series:
    """Whether a task's area has had non-technical survey.

    A task counts as surveyed when it rests on an NTS-derived hazard polygon: its
    ``evidence_class`` is CHA or SHA, or ``n_cha + n_sha > 0``. Strike or casualty evidence
    alone is a report, not a survey, so such tasks are *not* surveyed.

    Returns
    -------
    Series named ``surveyed`` (bool) aligned to ``tasks``.
    """
    surveyed = np.zeros(len(tasks), dtype=bool)
    if "evidence_class" in tasks:
        surveyed |= tasks["evidence_class"].astype(object).isin(_SURVEY_CLASSES).to_numpy()
    for col in ("n_cha", "n_sha"):
        if col in tasks:
            n = pd.to_numeric(tasks[col], errors="coerce").fillna(0).to_numpy()
            surveyed |= n > 0
    return pd.Series(surveyed, index=tasks.index, name="surveyed", dtype=bool)


def _frontline_geometry(frontline: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    series = frontline.geometry if isinstance(frontline, gpd.GeoDataFrame) else frontline
    require_storage_crs(series, what="front line layer")
    kinds = set(series.dropna().geom_type)
    allowed = {"LineString", "MultiLineString", "Polygon", "MultiPolygon", "LinearRing"}
    if not kinds or not kinds <= allowed:
        raise ValueError(
            "front line layer must contain lines or polygons, got "
            f"{', '.join(sorted(kinds)) or 'no geometry'}"
        )
    # Densify in lon/lat (≤ 0.01°, ~1 km) so that straight segments between sparse vertices
    # follow the same path after projection to each UTM zone.
    return gpd.GeoSeries(shapely.segmentize(series.dropna().array, 0.01), crs=series.crs)


def frontline_distance_m(
    tasks: gpd.GeoDataFrame, frontline: gpd.GeoDataFrame | gpd.GeoSeries
) -> pd.Series:
    """Shortest distance in metres from each task to the front line (0 inside a polygon).

    Distances are computed in the UTM zone (WGS84, EPSG:326zz) of each task's representative
    point, where scale error is below 0.1 %; the front line is reprojected into each zone.
    A polygon front line (e.g. the occupied area) counts as the front: tasks inside it
    are at distance 0. The front line is densified to ≤ 0.01° segments first, so that
    a long straight segment follows the same path in every zone.

    Returns
    -------
    Series named ``frontline_distance_m`` aligned to ``tasks`` (NaN for empty geometry).
    """
    require_storage_crs(tasks, what="task frame")
    front = _frontline_geometry(frontline)
    out = np.full(len(tasks), np.nan)
    geoms = tasks.geometry
    valid = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    if not valid.any():
        return pd.Series(out, index=tasks.index, name="frontline_distance_m")
    lon = np.full(len(tasks), np.nan)
    lon[valid] = shapely.get_x(geoms[valid].representative_point().array)
    zone = np.floor((lon + 180.0) / 6.0) + 1
    for z in np.unique(zone[valid]).astype(int):
        sel = valid & (zone == z)
        crs = f"EPSG:326{z:02d}"
        front_z = shapely.union_all(front.to_crs(crs).array)
        shapely.prepare(front_z)
        local = geoms[sel].to_crs(crs).array
        out[sel] = shapely.distance(local, front_z)
    return pd.Series(out, index=tasks.index, name="frontline_distance_m")


def compensation_eligible(
    tasks: gpd.GeoDataFrame,
    *,
    frontline: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    surveyed: pd.Series | None = None,
    distance_m: float = COMPENSATION_DISTANCE_M,
) -> pd.Series:
    """Eligibility for state-paid clearance under Ukraine's 2024 rule.

    Eligible = on farmland (``farmland_area_m2 > 0``) **and** surveyed (see
    :func:`is_surveyed`) **and** more than ``distance_m`` (20 km) from the front line.

    Parameters
    ----------
    tasks : GeoDataFrame
        Task frame in EPSG:4326.
    frontline : GeoDataFrame or GeoSeries, optional
        Front line as lines, or the occupied area as polygons, in EPSG:4326. Without it the
        distance test cannot be made: farmland, surveyed tasks get ``<NA>`` (unknown).
    surveyed : Series of bool, optional
        Override of :func:`is_surveyed` (aligned to ``tasks``), e.g. from a survey register.
    distance_m : float
        Minimum distance from the front line.

    Returns
    -------
    Series named ``compensation_eligible`` (pandas ``boolean``) aligned to ``tasks``.
    """
    farm = _farmland_ha(tasks) > 0
    if surveyed is None:
        surv = is_surveyed(tasks).to_numpy()
    else:
        if not surveyed.index.equals(tasks.index):
            raise ValueError("surveyed must be aligned to the task frame's index")
        surv = surveyed.fillna(False).astype(bool).to_numpy()
    candidate = farm & surv
    if frontline is not None:
        _frontline_geometry(frontline)  # check it even when no task needs it
    result = pd.array(np.zeros(len(tasks), dtype=bool), dtype="boolean")
    if frontline is None:
        result[candidate] = pd.NA
    elif candidate.any():
        dist = frontline_distance_m(tasks[candidate], frontline).to_numpy()
        result[np.flatnonzero(candidate)] = dist > distance_m
    return pd.Series(result, index=tasks.index, name="compensation_eligible")
