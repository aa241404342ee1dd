"""Tasks completed vs planned: checked against plain shapely computations in EPSG:3035."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pandas as pd
import pytest
import shapely

from minemap.reports import build_report, render
from minemap.reports._tables import summary_rows
from minemap.risk.weights import default_weights
from tests.reports.conftest import box_km, canonical, to_4326

# three hazard squares of 100 ha each, recorded before the period
HAZARD_BOXES = [box_km(0, 0, 1, 1), box_km(5, 0, 6, 1), box_km(10, 0, 11, 1)]
# releases: (id, date, box) — in the period unless said otherwise
RELEASES = [
    ("R1", "2024-02-01", box_km(-0.1, -0.1, 1.1, 1.1)),  # covers H1 fully
    ("R2", "2024-02-15", box_km(5, 0, 5.5, 1)),  # half of H2
    ("R3", "2024-03-01", box_km(10, 0, 11, 0.95)),  # 95 % of H3
    ("R4", "2024-05-01", box_km(5.5, 0, 6, 1)),  # rest of H2, after the period
]
START, END = "2024-01-01", "2024-03-31"


def _layers():
    hazards = canonical(
        "hazards",
        [
            dict(hazard_id=f"HZ-SECRET-{i}", date="2023-06-01", hazard_type="CHA", status="open")
            for i in range(len(HAZARD_BOXES))
        ],
        to_4326(HAZARD_BOXES),
    )
    cleared = canonical(
        "cleared",
        [
            dict(survey_id=rid, date=d, status="cleared", method="manual", devices_found=0)
            for rid, d, _ in RELEASES
        ],
        to_4326([g for _, _, g in RELEASES]),
    )
    return {"hazards": hazards, "cleared": cleared}


def _expected(threshold: float = 0.9) -> tuple[int, int, float]:
    """(planned, completed, share of planned area released), straight from the boxes."""
    in_period = shapely.union_all(
        [g for _, d, g in RELEASES if pd.Timestamp(START) <= pd.Timestamp(d) <= pd.Timestamp(END)]
    )
    shares = [h.intersection(in_period).area / h.area for h in HAZARD_BOXES]
    total = sum(h.area for h in HAZARD_BOXES)
    released = sum(h.intersection(in_period).area for h in HAZARD_BOXES)
    return len(HAZARD_BOXES), sum(s >= threshold for s in shares), released / total


def test_completed_vs_planned_matches_an_independent_computation():
    report = build_report(_layers(), start=START, end=END)
    plan = report.plan
    assert plan is not None
    n, k, share = _expected()
    assert (n, k) == (3, 2)  # the fixture's intent: H1 and H3 done, H2 only half
    assert plan.n_planned == n
    assert plan.n_completed == k
    assert plan.released_share == pytest.approx(share, rel=1e-5)
    # the tasks are the hazard squares (areas in EPSG:3035)
    assert sorted(plan.tasks["area_ha"]) == pytest.approx([100.0, 100.0, 100.0], rel=1e-5)
    assert sorted(plan.tasks["released_share"]) == pytest.approx([0.5, 0.95, 1.0], rel=1e-5)
    assert list(plan.tasks["task"]) == ["T-01", "T-02", "T-03"]
    assert plan.as_of == pd.Timestamp("2023-12-31")


def test_threshold_and_plan_size_are_parameters():
    strict = build_report(_layers(), start=START, end=END, completion_threshold=0.99)
    assert strict.plan.n_completed == _expected(0.99)[1] == 1
    small = build_report(_layers(), start=START, end=END, plan_top=1)
    assert small.plan.n_planned == 1
    assert build_report(_layers(), start=START, end=END, plan_top=0).plan is None


def test_two_squares_one_cleared_is_one_of_two():
    layers = _layers()
    layers["hazards"] = layers["hazards"].iloc[:2]
    layers["cleared"] = layers["cleared"].iloc[:1]  # only R1: H1 fully
    plan = build_report(layers, start=START, end=END).plan
    assert (plan.n_planned, plan.n_completed) == (2, 1)
    assert plan.released_share == pytest.approx(0.5, rel=1e-5)


def test_the_plan_is_ranked_with_the_given_weights_and_the_methods_name_them():
    """H1 is a CHA, H2 an SHA with a casualty inside: evidence-only weights plan H1 (fully
    released in the period), casualty-only weights plan H2 (half released)."""
    layers = _layers()
    layers["hazards"]["hazard_type"] = ["CHA", "SHA", "SHA"]
    layers["casualties"] = canonical(
        "casualties",
        [dict(incident_id="I-1", date="2023-08-01", killed=0, injured=1, civilian=True)],
        to_4326([shapely.Point(*box_km(5, 0, 6, 1).centroid.coords[0])]),
    )
    base = default_weights()
    only = {
        c: base.replace_weights({k: float(k == c) for k in base.weights}, suffix=f"-{c}")
        for c in ("evidence_strength", "casualty_risk")
    }
    by_evidence = build_report(
        layers, start=START, end=END, plan_top=1, weights=only["evidence_strength"]
    )
    by_casualty = build_report(
        layers, start=START, end=END, plan_top=1, weights=only["casualty_risk"]
    )
    assert (by_evidence.plan.n_planned, by_evidence.plan.n_completed) == (1, 1)
    assert (by_casualty.plan.n_planned, by_casualty.plan.n_completed) == (1, 0)
    assert by_casualty.plan.released_share == pytest.approx(0.5, rel=1e-5)
    w = only["casualty_risk"]
    assert by_casualty.weights_version == f"{w.name} v{w.version} (sha256 {w.sha256[:12]})"
    assert build_report(layers, start=START, end=END).weights_version.startswith(base.name)
    assert build_report(layers, start=START, end=END, plan_top=0).weights_version is None


def test_no_hazard_evidence_skips_the_figure_cleanly():
    layers = _layers()
    report = build_report({"cleared": layers["cleared"]}, start=START, end=END)
    assert report.plan is None
    labels = [label for label, *_ in summary_rows(report, "en")]
    assert "Planned tasks" not in labels
    # hazards recorded only inside the period are not part of the plan either
    late = layers["hazards"].assign(date=pd.Timestamp("2024-02-01"))
    assert build_report({"hazards": late}, start=START, end=END).plan is None
    for fmt in ("pdf", "xlsx", "csv"):
        assert render(report, fmt, lang="uk")


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        (
            "en",
            "Planned tasks: 3; completed in the period: 2 (share of planned area released: 82 %)",
        ),
        ("uk", "Заплановано завдань: 3; виконано за період: 2"),
    ],
)
def test_pdf_states_the_figure_without_ids_or_coordinates(tmp_path, lang, sentence):
    share = _expected()[2]
    assert f"{share * 100:.0f} %" == "82 %"  # (1 + 0.5 + 0.95) / 3
    report = build_report(_layers(), start=START, end=END)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render(report, "pdf", lang=lang))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    flat = " ".join(text.decode().split())
    assert sentence in flat
    assert "HZ-SECRET" not in flat
    csv_text = render(report, "csv", lang=lang).decode("utf-8-sig")
    assert "HZ-SECRET" not in csv_text
    assert "T-03" in csv_text
    with zipfile.ZipFile(io.BytesIO(render(report, "xlsx", lang=lang))) as z:
        blob = b"".join(z.read(name) for name in z.namelist())
    assert b"HZ-SECRET" not in blob
    # no coordinate of any hazard corner (lon/lat to 4 decimals) reaches the outputs
    for geom in to_4326(HAZARD_BOXES):
        for x, y in list(geom.exterior.coords)[:1]:
            assert f"{x:.4f}" not in csv_text
            assert f"{y:.4f}" not in csv_text
