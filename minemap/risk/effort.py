"""Effort and cost of each task, survey first.

Most suspected land holds nothing: in Ukraine early 2024 about 95 % of surveyed farmland
was released by survey without clearance, and historically under 3 % of cleared land held
any mine or UXO (DOMAIN.md). A plan that treats every hazard polygon as full clearance
overstates the work many times over. So each task is costed in two steps:

1. **Survey** (non-technical + technical) covers the whole task area and releases a share
   of it without clearance. The share depends on how strong the evidence is: indirect
   evidence (SHA) releases most, confirmed areas (CHA) and casualty sites least.
2. **Clearance** of the rest, at manual and machine productivity ranges.

Every figure is a low–high range; every parameter is in :class:`EffortParams`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_EFFORT", "EffortParams", "estimate_effort"]

_RELEASE_DEFAULT: dict[str, tuple[float, float]] = {
    # Share of the task area released by survey without clearance (low, high).
    # SHA: indirect evidence only; the sector figure (~95 % of surveyed farmland released
    # by survey, Ukraine 2024) applies best here, so 0.80-0.95.
    "SHA": (0.80, 0.95),
    # Strike footprints: a confirmed strike, but the modelled footprint is generous
    # (radius covers the spread of a whole salvo), so TS still shrinks it a lot. Assumption.
    "strike": (0.50, 0.80),
    # Casualty buffers: a device went off at the spot; the buffer is sized by device
    # type and is partly empty ground. Assumption.
    "casualty": (0.30, 0.60),
    # CHA: direct evidence of items on this polygon; survey mainly trims its edges. Assumption.
    "CHA": (0.20, 0.50),
}


@dataclass(frozen=True)
class EffortParams:
    """Productivity, cost and survey-release assumptions (all low–high ranges).

    Attributes
    ----------
    manual_m2_per_deminer_day : (float, float)
        Manual clearance, 10–50 m² per deminer per day (DOMAIN.md).
    machine_m2_per_day : (float, float)
        Machine clearance, ~2,500 (light flail) to ~6,900 m²/day (heavy flail).
    cost_uah_per_ha : (float, float)
        Clearance cost of farmland in Ukraine's auctions, UAH 30,800–59,500 per ha.
    cost_usd_per_ha : (float, float)
        Industry quotes, US$600–3,500 per ha (a separate source: not a currency conversion).
    survey_cost_share : (float, float)
        Cost of survey per hectare as a share of the clearance cost per hectare
        (assumption: 5–15 %), charged on the whole task area.
    survey_release : mapping of evidence class to (float, float)
        Share of area released by survey without clearance per ``evidence_class``.
    survey_first : bool
        False → every task is full clearance of its whole area.
    """

    manual_m2_per_deminer_day: tuple[float, float] = (10.0, 50.0)
    machine_m2_per_day: tuple[float, float] = (2_500.0, 6_900.0)
    cost_uah_per_ha: tuple[float, float] = (30_800.0, 59_500.0)
    cost_usd_per_ha: tuple[float, float] = (600.0, 3_500.0)
    survey_cost_share: tuple[float, float] = (0.05, 0.15)
    survey_release: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: dict(_RELEASE_DEFAULT)
    )
    survey_first: bool = True

    def __post_init__(self) -> None:
        problems = []
        ranges = {
            "manual_m2_per_deminer_day": self.manual_m2_per_deminer_day,
            "machine_m2_per_day": self.machine_m2_per_day,
            "cost_uah_per_ha": self.cost_uah_per_ha,
            "cost_usd_per_ha": self.cost_usd_per_ha,
            "survey_cost_share": self.survey_cost_share,
        }
        for key, cls_range in self.survey_release.items():
            ranges[f"survey_release[{key}]"] = cls_range
        for name, (low, high) in ranges.items():
            if not (0 <= low <= high):
                problems.append(f"{name} = ({low}, {high}) must satisfy 0 <= low <= high")
            if name.startswith("survey_release") and high > 1:
                problems.append(f"{name} = ({low}, {high}) is a share: it must be within 0..1")
        for name in ("manual_m2_per_deminer_day", "machine_m2_per_day"):
            if ranges[name][0] <= 0:
                problems.append(f"{name} must be > 0")
        if problems:
            raise ValueError("effort parameters: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["survey_release"] = {k: list(v) for k, v in sorted(self.survey_release.items())}
        return d


DEFAULT_EFFORT = EffortParams()


def _release_shares(tasks: pd.DataFrame, params: EffortParams) -> tuple[np.ndarray, np.ndarray]:
    n = len(tasks)
    if not params.survey_first:
        return np.zeros(n), np.zeros(n)
    # Unknown class: the most cautious (smallest) release among the known classes.
    fallback = min(params.survey_release.values(), key=lambda r: r[1])
    low = np.full(n, fallback[0])
    high = np.full(n, fallback[1])
    if "evidence_class" in tasks:
        cls = tasks["evidence_class"].astype(object).to_numpy()
        for key, (lo, hi) in params.survey_release.items():
            sel = cls == key
            low[sel] = lo
            high[sel] = hi
    return low, high


def estimate_effort(tasks: pd.DataFrame, *, params: EffortParams = DEFAULT_EFFORT) -> pd.DataFrame:
    """Survey-first effort and cost ranges per task.

    With ``A`` the task area and ``r_low..r_high`` the survey release share of its
    evidence class:

    - ``clearance_area_m2_low = A × (1 − r_high)``, ``clearance_area_m2_high = A × (1 − r_low)``;
    - ``survey_release_m2_low/high = A − clearance_area_m2_high/low``;
    - ``deminer_days_low = clearance_low / manual_high``, ``deminer_days_high =
      clearance_high / manual_low`` (one deminer's days; divide by team size);
    - ``machine_days_low/high`` likewise with machine productivity;
    - ``cost_uah_low = clearance_ha_low × cost_low + A_ha × cost_low × survey_share_low``
      (and ``_high`` with the high ends); ``cost_usd_*`` likewise;
    - ``cost_per_ha_uah_mid`` = mid-point UAH cost / ``A_ha``: the cost of returning one
      hectare to use, which the ``cost_per_ha`` priority component ranks (cheaper first).

    Parameters
    ----------
    tasks : DataFrame
        Task frame with ``area_m2`` and ``evidence_class``.
    params : EffortParams
        Productivity, cost and release assumptions.

    Returns
    -------
    DataFrame aligned to ``tasks`` with the columns above.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"area_m2": [10_000.0], "evidence_class": ["CHA"]})
    >>> e = estimate_effort(t, params=EffortParams(survey_first=False))
    >>> e[["deminer_days_low", "deminer_days_high"]].iloc[0].tolist()
    [200.0, 1000.0]
    """
    area = pd.to_numeric(tasks["area_m2"], errors="coerce").astype("float64").fillna(0.0)
    a = np.clip(area.to_numpy(), 0.0, None)
    r_low, r_high = _release_shares(tasks, params)
    clear_low = a * (1.0 - r_high)
    clear_high = a * (1.0 - r_low)
    man_lo, man_hi = params.manual_m2_per_deminer_day
    mach_lo, mach_hi = params.machine_m2_per_day
    s_lo, s_hi = params.survey_cost_share if params.survey_first else (0.0, 0.0)
    ha = a / 10_000.0
    out = pd.DataFrame(
        {
            "clearance_area_m2_low": clear_low,
            "clearance_area_m2_high": clear_high,
            "survey_release_m2_low": a - clear_high,
            "survey_release_m2_high": a - clear_low,
            "deminer_days_low": clear_low / man_hi,
            "deminer_days_high": clear_high / man_lo,
            "machine_days_low": clear_low / mach_hi,
            "machine_days_high": clear_high / mach_lo,
        },
        index=tasks.index,
    )
    for cur, (c_lo, c_hi) in (("uah", params.cost_uah_per_ha), ("usd", params.cost_usd_per_ha)):
        out[f"cost_{cur}_low"] = clear_low / 10_000.0 * c_lo + ha * c_lo * s_lo
        out[f"cost_{cur}_high"] = clear_high / 10_000.0 * c_hi + ha * c_hi * s_hi
    mid = (out["cost_uah_low"] + out["cost_uah_high"]) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_ha = np.where(ha > 0, mid.to_numpy() / np.where(ha > 0, ha, 1.0), np.nan)
    out["cost_per_ha_uah_mid"] = per_ha
    return out
