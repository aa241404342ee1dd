"""People exposed in the plan: per planned task and in total, in every format and language.

Expected figures come from plain shapely distances in EPSG:3035 on the fixture's boxes
(the settlements sit ≥ 500 m inside or outside the 2 km reach, so the metric used by the
risk core — UTM per task — cannot change which side they are on).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile

import openpyxl
import pytest
import shapely

from minemap.reports import build_report, render
from minemap.reports._tables import summary_rows
from minemap.risk.exposure import EXPOSURE_DISTANCE_M
from tests.reports.conftest import box_km, canonical, to_4326
from tests.reports.test_plan import END, HAZARD_BOXES, START, _layers


def _pt_km(x: float, y: float) -> shapely.Point:
    """A point given in km from the fixtures' origin (EPSG:3035)."""
    return shapely.Point(box_km(x, y, x, y).bounds[:2])


# (id, name, population, geometry in EPSG:3035)
SETTLEMENTS = [
    ("S-SECRET-A", "Zzyzxville", 1203, _pt_km(0.4, 0.4)),  # inside H1
    ("S-SECRET-B", "Qwxtown", 457, box_km(2.5, 0.2, 3.5, 0.8)),  # outline 1.5 km from H1 and H2
    ("S-SECRET-C", "Vrbnik", 389, _pt_km(7.5, 0.5)),  # 1.5 km from H2 only
    ("S-SECRET-D", "Far Away", 71, _pt_km(30, 0.5)),  # near no task
]


def _with_settlements():
    layers = _layers()
    geoms = [g for *_, g in SETTLEMENTS]
    layers["settlements"] = canonical(
        "settlements",
        [dict(settlement_id=i, name=n, population=p) for i, n, p, _ in SETTLEMENTS],
        to_4326(geoms),
    )
    return layers


def _expected() -> tuple[list[int], int]:
    """(people exposed per hazard square, people within reach of any square, once each)."""
    reach = EXPOSURE_DISTANCE_M
    per_task = [sum(p for *_, p, g in SETTLEMENTS if h.distance(g) <= reach) for h in HAZARD_BOXES]
    total = sum(p for *_, p, g in SETTLEMENTS if any(h.distance(g) <= reach for h in HAZARD_BOXES))
    return per_task, total


def test_fixture_intent():
    per_task, total = _expected()
    # H1: A + B, H2: B + C, H3: nobody; B counts for two tasks but once in the total
    assert per_task == [1203 + 457, 457 + 389, 0]
    assert total == 1203 + 457 + 389
    assert sum(per_task) > total


def test_plan_has_people_exposed_per_task_and_a_total_counting_each_settlement_once():
    plan = build_report(_with_settlements(), start=START, end=END).plan
    per_task, total = _expected()
    # tasks are the hazard squares: match them by their released share (1.0, 0.5, 0.95)
    tasks = plan.tasks
    by_share = dict(zip(tasks["released_share"].round(2), tasks["people_exposed"], strict=True))
    assert by_share == {1.0: per_task[0], 0.5: per_task[1], 0.95: per_task[2]}
    assert plan.tasks["people_exposed"].dtype == "int64"
    assert plan.people_exposed == total
    assert plan.exposure_distance_m == EXPOSURE_DISTANCE_M


def test_without_settlements_there_is_no_column_and_no_total():
    report = build_report(_layers(), start=START, end=END)
    assert "people_exposed" not in report.plan.tasks.columns
    assert report.plan.people_exposed is None
    labels = " ".join(label for label, *_ in summary_rows(report, "en"))
    assert "People living" not in labels
    csv_text = render(report, "csv", lang="en").decode("utf-8-sig")
    assert "People exposed" not in csv_text


def test_the_total_counts_the_whole_planned_task_only_for_planned_tasks():
    """plan_top=1 plans only the top task: the total is that task's people."""
    report = build_report(_with_settlements(), start=START, end=END, plan_top=1)
    plan = report.plan
    assert plan.n_planned == 1
    assert plan.people_exposed == int(plan.tasks["people_exposed"].iloc[0])


@pytest.mark.parametrize(
    ("lang", "column", "sentence", "total"),
    [
        ("en", "People exposed", "People living within 2 km of a planned task:", "2,049"),
        ("uk", "Людей у зоні ризику", "Людей, що мешкають у межах 2 км", "2\u00a0049"),
    ],
)
def test_every_format_shows_it_without_names_ids_or_coordinates(
    tmp_path, lang, column, sentence, total
):
    per_task, expected_total = _expected()
    assert expected_total == 2049
    report = build_report(_with_settlements(), start=START, end=END)

    # PDF: header, each task's figure and the total sentence, read back with pdftotext
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render(report, "pdf", lang=lang))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    flat = " ".join(text.decode().split())  # also turns no-break spaces into spaces
    assert column in flat
    assert f"{sentence}" in flat
    assert f"{total.replace(chr(0xA0), ' ')}." in flat
    sep = "," if lang == "en" else " "
    for n in per_task:
        assert f" {n:,} ".replace(",", sep) in f" {flat} "

    # CSV: one cell per planned task in the plan table, the total in the summary
    csv_text = render(report, "csv", lang=lang).decode("utf-8-sig")
    lines = csv_text.splitlines()
    people = sorted(int(line.rsplit(",", 1)[1]) for line in lines if f",{column}," in line)
    assert people == sorted(per_task)
    in_summary = [line for line in lines if line.startswith(("Summary,", "Підсумок,"))]
    assert next(line for line in in_summary if sentence[:20] in line).endswith(",2049")

    # XLSX: an int column with a number format, the total in the summary sheet
    wb = openpyxl.load_workbook(io.BytesIO(render(report, "xlsx", lang=lang)))
    plan_sheet = wb["Tasks planned" if lang == "en" else "Заплановані завдання"]
    header = [c.value for c in plan_sheet[1]]
    col = header.index(column)
    cells = [row[col] for row in plan_sheet.iter_rows(min_row=2, max_row=4)]
    assert sorted(c.value for c in cells) == sorted(per_task)
    assert all(isinstance(c.value, int) and c.number_format == "#,##0" for c in cells)
    summary = wb["Summary" if lang == "en" else "Підсумок"]
    found = [r for r in summary.iter_rows(values_only=True) if r[0] and sentence[:20] in r[0]]
    assert [r[1] for r in found] == [2049]

    # nothing that names or places a settlement reaches any output
    with zipfile.ZipFile(io.BytesIO(render(report, "xlsx", lang=lang))) as z:
        blob = b"".join(z.read(name) for name in z.namelist()).decode("utf-8", "replace")
    for sid, name, *_ in SETTLEMENTS:
        for out in (flat, csv_text, blob):
            assert sid not in out
            assert name not in out
    for geom in to_4326([g for *_, g in SETTLEMENTS]):
        x, y = geom.centroid.coords[0]
        for out in (csv_text, blob, flat):
            assert f"{x:.4f}" not in out
            assert f"{y:.4f}" not in out


def test_minemap_report_reads_settlements_from_the_store(tmp_path):
    """End to end: a real store with a settlements layer, ``minemap report`` as a process."""
    from minemap._report import Report
    from minemap.store import open_store
    from tests.reports.test_cli import run_report

    layers = _with_settlements()
    # fields the store requires that the figures do not use
    layers["hazards"]["contamination"] = "UXO"
    layers["cleared"]["team"] = "T1"
    layers["cleared"]["operator"] = "Op"
    store_path = tmp_path / "s.gpkg"
    with open_store(store_path) as store:
        for name, frame in layers.items():
            store.ingest(
                frame.drop(columns="batch_id", errors="ignore"),
                layer=name,
                report=Report(file=f"{name}.geojson", layer=name),
                file_name=f"{name}.geojson",
                sha256=hashlib.sha256(name.encode()).hexdigest(),
            )
    out = tmp_path / "r.csv"
    result = run_report("--store", str(store_path), "--from", START, "--to", END, "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    per_task, total = _expected()
    people = sorted(int(line.rsplit(",", 1)[1]) for line in lines if ",People exposed," in line)
    assert people == sorted(per_task)
    assert any("People living within 2 km" in line and line.endswith(f",{total}") for line in lines)
