"""AppTest of the Data quality page on a store filled through the real ingest pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from minemap.geometry import geodesic_area_m2
from minemap_app import i18n
from tests.app.conftest import signed_in

APP = Path(__file__).resolve().parents[2] / "minemap_app" / "app.py"


def released(tmp_path: Path, survey_id: str, bounds: tuple[float, float, float, float]) -> Path:
    minx, miny, maxx, maxy = bounds
    path = tmp_path / f"{survey_id}.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "survey_id": survey_id,
                            "date": "2024-03-05",
                            "team": "T2",
                            "operator": "Op",
                            "status": "reduced",
                            "method": "technical survey",
                        },
                        "geometry": box(minx, miny, maxx, maxy).__geo_interface__,
                    }
                ],
            }
        )
    )
    return path


@pytest.fixture
def quality(seeded_store, tmp_path):
    from minemap.ingest import ingest_file

    # REL-1 (seeded) is the square 36.50..36.52 × 49.90..49.92; REL-2 overlaps its east half.
    result = ingest_file(
        released(tmp_path, "REL-2", (36.51, 49.90, 36.53, 49.92)), "cleared", store=seeded_store
    )
    assert result.status == "accepted", result.report.errors
    return seeded_store


def run_quality() -> AppTest:
    at = signed_in("planner")
    at.switch_page("views/quality.py").run()
    assert not at.exception, at.exception
    return at


def test_overlapping_released_polygons_are_listed_with_their_area(quality):
    at = run_quality()
    overlaps = next(
        d.value for d in at.dataframe if i18n.t("col.overlap_m2", "uk") in d.value.columns
    )
    assert overlaps[i18n.t("col.a", "uk")].tolist() == ["REL-1"]
    assert overlaps[i18n.t("col.b", "uk")].tolist() == ["REL-2"]
    expected = geodesic_area_m2(
        gpd.GeoSeries([box(36.51, 49.90, 36.52, 49.92)], crs="EPSG:4326")
    ).iloc[0]
    assert overlaps[i18n.t("col.overlap_m2", "uk")].iloc[0] == pytest.approx(expected, rel=0.01)


def test_rejected_upload_is_listed(quality, tmp_path):
    from minemap.ingest import ingest_file
    from minemap_app import cache

    bad = released(tmp_path, "REL-9", (10.0, 10.0, 10.1, 10.1))  # outside Ukraine
    result = ingest_file(bad, "cleared", store=quality, dry_run=True, display_name="far.geojson")
    assert result.status == "rejected"
    cache.record_rejection(str(quality), result, user="field-1")
    at = run_quality()
    rejected = next(d.value for d in at.dataframe if i18n.t("col.errors", "uk") in d.value.columns)
    assert rejected[i18n.t("col.file", "uk")].tolist() == ["far.geojson"]
    assert "outside the area of operations" in rejected[i18n.t("col.problem", "uk")].iloc[0]


def test_rejection_recorded_after_the_page_was_shown_appears(quality, tmp_path):
    """Rejections are audit entries only: the cached list must still pick them up."""
    from minemap.ingest import ingest_file
    from minemap_app import cache

    at = run_quality()
    assert i18n.t("quality.no_rejections", "uk") in [c.value for c in at.caption]
    version = cache.data_version(str(quality))
    bad = released(tmp_path, "REL-8", (10.0, 10.0, 10.1, 10.1))  # outside Ukraine
    result = ingest_file(bad, "cleared", store=quality, dry_run=True, display_name="late.geojson")
    cache.record_rejection(str(quality), result, user="field-1")
    assert cache.data_version(str(quality)) == version
    at.run()
    assert not at.exception, at.exception
    rejected = next(d.value for d in at.dataframe if i18n.t("col.errors", "uk") in d.value.columns)
    assert rejected[i18n.t("col.file", "uk")].tolist() == ["late.geojson"]


def test_recent_imports_are_listed(quality):
    at = run_quality()
    batches = next(d.value for d in at.dataframe if i18n.t("col.repairs", "uk") in d.value.columns)
    assert "REL-2.geojson" in batches[i18n.t("col.file", "uk")].tolist()
    assert len(batches) == 4
