from __future__ import annotations

import numpy as np
import pytest

from minemap.risk.effort import DEFAULT_EFFORT, EffortParams, estimate_effort
from tests.risk._taskframe import task_frame


def test_full_clearance_of_one_hectare_matches_domain_productivity():
    t = task_frame([{"area_m2": 10_000.0, "evidence_class": "CHA"}])
    e = estimate_effort(t, params=EffortParams(survey_first=False)).iloc[0]
    assert e["clearance_area_m2_low"] == e["clearance_area_m2_high"] == 10_000.0
    # 10–50 m² per deminer-day → 200–1000 deminer-days per hectare
    assert e["deminer_days_low"] == pytest.approx(10_000 / 50)
    assert e["deminer_days_high"] == pytest.approx(10_000 / 10)
    # 2,500–6,900 m² per machine-day
    assert e["machine_days_low"] == pytest.approx(10_000 / 6_900)
    assert e["machine_days_high"] == pytest.approx(4.0)
    # UAH 30,800–59,500 per ha, US$600–3,500 per ha
    assert (e["cost_uah_low"], e["cost_uah_high"]) == pytest.approx((30_800, 59_500))
    assert (e["cost_usd_low"], e["cost_usd_high"]) == pytest.approx((600, 3_500))
    assert e["cost_per_ha_uah_mid"] == pytest.approx((30_800 + 59_500) / 2)


def test_survey_first_sha_releases_most_of_its_area():
    t = task_frame([{"area_m2": 10_000.0, "evidence_class": "SHA"}])
    e = estimate_effort(t).iloc[0]
    low_share, high_share = DEFAULT_EFFORT.survey_release["SHA"]
    assert e["clearance_area_m2_low"] == pytest.approx(10_000 * (1 - high_share))
    assert e["clearance_area_m2_high"] == pytest.approx(10_000 * (1 - low_share))
    clear_ha_low = 10_000 * (1 - high_share) / 10_000
    survey_low = 1.0 * 30_800 * DEFAULT_EFFORT.survey_cost_share[0]
    assert e["cost_uah_low"] == pytest.approx(clear_ha_low * 30_800 + survey_low)


def test_ranges_are_ordered_and_add_up():
    classes = ["CHA", "SHA", "strike", "casualty", None]
    t = task_frame(
        [{"area_m2": 5_000.0 * (i + 1), "evidence_class": c} for i, c in enumerate(classes)]
    )
    e = estimate_effort(t)
    for stem in (
        "clearance_area_m2",
        "survey_release_m2",
        "deminer_days",
        "machine_days",
        "cost_uah",
        "cost_usd",
    ):
        assert (e[f"{stem}_low"] <= e[f"{stem}_high"]).all(), stem
    total = e["clearance_area_m2_low"] + e["survey_release_m2_high"]
    assert np.allclose(total, t["area_m2"])
    # weaker evidence → more released by survey → less to clear per m²
    per_m2 = e["clearance_area_m2_high"] / t["area_m2"]
    cha, sha, strike, casualty, unknown = per_m2
    assert sha < strike < casualty < cha
    assert unknown == pytest.approx(cha)  # unknown evidence: the most cautious share


def test_effort_scales_with_area():
    t = task_frame([{"area_m2": 7_000.0}, {"area_m2": 14_000.0}])
    e = estimate_effort(t)
    assert e["deminer_days_high"].iloc[1] == pytest.approx(2 * e["deminer_days_high"].iloc[0])
    assert e["cost_per_ha_uah_mid"].iloc[1] == pytest.approx(e["cost_per_ha_uah_mid"].iloc[0])


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="manual_m2_per_deminer_day") as info:
        EffortParams(manual_m2_per_deminer_day=(50, 10), survey_release={"SHA": (0.5, 1.5)})
    assert "survey_release[SHA]" in str(info.value)
