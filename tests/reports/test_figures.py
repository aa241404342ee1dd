"""Report figures against independently computed values (plain shapely in EPSG:3035)."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from minemap._errors import ConfigError
from minemap.reports import build_report
from minemap.reports import figures as fig
from tests.reports.conftest import box_km, make_cleared, make_hazards, to_4326

PERIOD = {"start": "2024-01-01", "end": "2024-03-31"}


def ha_union(frame) -> float:
    """Independent union area: geopandas reprojection + shapely union, nothing from minemap."""
    geoms = frame.geometry.to_crs("EPSG:3035")
    return shapely.union_all(list(geoms)).area / 10_000


def in_period(frame):
    d = frame["date"]
    return frame[(d >= "2024-01-01") & (d <= "2024-03-31")]


def test_overlapping_cleared_polygons_count_once():
    cleared = make_cleared()
    two = cleared[cleared["survey_id"].isin(["C1", "C2"])]
    by = fig.released_by_method(two)
    sum_ha = float(two.geometry.to_crs("EPSG:3035").area.sum()) / 10_000
    assert sum_ha == pytest.approx(200, rel=1e-3)  # 1 km² + 1 km², half overlapping
    assert by.loc["cleared", "area_ha"] == pytest.approx(ha_union(two), rel=1e-9)
    assert by.loc["cleared", "area_ha"] == pytest.approx(150, rel=1e-3)
    assert by.loc["total", "area_ha"] == pytest.approx(150, rel=1e-3)


def test_methods_partition_the_union_strongest_first():
    cleared = in_period(make_cleared())
    by = fig.released_by_method(cleared)
    assert by.loc["total", "area_ha"] == pytest.approx(ha_union(cleared), rel=1e-9)
    assert by.loc[list(fig.METHODS), "area_ha"].sum() == pytest.approx(
        by.loc["total", "area_ha"], rel=1e-9
    )
    # X1 (cancelled, 150 ha) overlaps R1 (reduced) by 50 ha: that land counts as reduced
    r1 = cleared[cleared["survey_id"] == "R1"]
    x1 = cleared[cleared["survey_id"] == "X1"]
    x1_only = (
        x1.geometry.to_crs("EPSG:3035").iloc[0].difference(r1.geometry.to_crs("EPSG:3035").iloc[0])
    )
    assert by.loc["reduced", "area_ha"] == pytest.approx(ha_union(r1), rel=1e-9)
    assert by.loc["cancelled", "area_ha"] == pytest.approx(x1_only.area / 10_000, rel=1e-9)
    assert by.loc["cancelled", "area_ha"] == pytest.approx(100, rel=1e-3)
    assert by.loc["total", "releases"] == 4


def test_monthly_release_counts_new_land_once_and_adds_up():
    cleared = in_period(make_cleared())
    months = pd.period_range("2024-01", "2024-03", freq="M")
    monthly = fig.released_by_month(cleared, months)
    by = fig.released_by_method(cleared)
    for m in fig.METHODS:
        assert monthly[m].sum() == pytest.approx(by.loc[m, "area_ha"], abs=1e-6)
    # February's C2 adds only the half not already cleared in January
    assert monthly.loc[pd.Period("2024-01", "M"), "cleared"] == pytest.approx(100, rel=1e-3)
    assert monthly.loc[pd.Period("2024-02", "M"), "cleared"] == pytest.approx(50, rel=1e-3)


def test_headline_figures_of_the_whole_report(layers, tasks):
    report = build_report(layers, tasks=tasks, **PERIOD)
    cleared = in_period(layers["cleared"])
    assert report.released.loc["total", "area_ha"] == pytest.approx(ha_union(cleared), rel=1e-9)
    # farmland: parcel P1 (50 ha, 20 000 UAH/ha/yr) lies inside C1
    assert report.farmland["area_ha"] == pytest.approx(50, rel=1e-3)
    assert report.farmland["value_uah"] == pytest.approx(50 * 20_000, rel=1e-3)
    assert report.farmland_cumulative.iloc[-1] == pytest.approx(50, rel=1e-3)
    # devices found in the period: 3 + 5 (the 7 of 2023 are outside)
    assert report.devices.loc["total", "devices"] == 8
    # remaining hazard, independently: hazards minus releases up to each date
    hz = make_hazards().geometry.to_crs("EPSG:3035")
    sha, cha = hz.iloc[0], hz.iloc[1]
    rel_end = shapely.union_all(list(layers["cleared"].geometry.to_crs("EPSG:3035")))
    cha_end = cha.difference(rel_end)
    sha_end = sha.difference(rel_end).difference(cha_end)
    assert report.hazard_end["CHA"] == pytest.approx(cha_end.area / 10_000, rel=1e-9)
    assert report.hazard_end["SHA"] == pytest.approx(sha_end.area / 10_000, rel=1e-9)
    assert report.hazard_start["total"] == pytest.approx(1800, rel=1e-3)
    assert report.hazard_end["total"] == pytest.approx(600 + 750, rel=1e-3)
    # casualties in the period: killed 6+1+7, injured 3+0+8
    by_month = report.casualties["by_month"].counts
    assert by_month.loc["total", "killed"] == 14
    assert by_month.loc["total", "injured"] == 11
    assert report.tasks_count == 3
    assert report.tasks_area_ha == pytest.approx(129.0)


def test_period_is_inclusive_and_filters_every_layer(layers):
    report = build_report(layers, start="2024-02-09", end="2024-02-20")
    # casualty K2 on the start date, release R1 on the end date, C2 between
    assert report.released.loc["total", "releases"] == 2
    assert report.casualties["by_month"].counts.loc["total", "total"] == 1


def test_area_clipping_uses_only_land_inside():
    cleared = in_period(make_cleared())
    area = to_4326([box_km(0.75, -1, 10, 10)]).iloc[0]
    clipped = fig.clip_to_area(cleared, area)
    expected = shapely.union_all(list(cleared.geometry.to_crs("EPSG:3035"))).intersection(
        to_4326([box_km(0.75, -1, 10, 10)]).to_crs("EPSG:3035").iloc[0]
    )
    by = fig.released_by_method(clipped)
    # clipping happens in lon/lat, where the cut edge is a straight lon/lat line rather than
    # a straight EPSG:3035 line: 0.02 % apart here; unclipped would be 450 ha
    assert by.loc["total", "area_ha"] == pytest.approx(expected.area / 10_000, rel=1e-3)
    assert expected.area / 10_000 == pytest.approx(375, rel=1e-3)


def test_top_tasks_are_anonymised_and_in_rank_order(tasks):
    top = fig.top_tasks(tasks, n=2)
    assert list(top["task"]) == ["T-01", "T-02"]
    assert list(top["rank"]) == [1, 2]
    assert list(top["area_ha"]) == pytest.approx([4.0, 25.0])
    assert "SECRET" not in top.to_string()


def test_bad_period_and_unknown_area_are_clear_errors(layers):
    with pytest.raises(ConfigError, match="starts"):
        build_report(layers, start="2024-03-01", end="2024-01-01")
    with pytest.raises(ConfigError, match="boundaries"):
        build_report(layers, area="Nowhere")
