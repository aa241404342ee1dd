"""Funder outputs hold no personal data; small counts cannot be recovered; no formulas."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from minemap.reports import build_report, render_csv, render_xlsx
from minemap.reports.privacy import (
    funder_view,
    neutralise,
    protect_counts,
    recoverable_cells,
)
from tests.reports.conftest import (
    CASUALTY_LONLAT,
    VICTIM_AGE,
    VICTIM_NAME,
    VICTIM_NAME_2,
    casualty_rows,
)

PERIOD = {"start": "2024-01-01", "end": "2024-03-31"}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def exact_dates() -> list[str]:
    out = []
    for row in casualty_rows():
        d = pd.Timestamp(row["date"])
        out += [f"{d:%Y-%m-%d}", f"{d:%d.%m.%Y}", f"{d.day} {d:%B} {d.year}", f"{d:%d/%m/%Y}"]
    return out


FORBIDDEN_TEXT = [
    VICTIM_NAME,
    VICTIM_NAME_2,
    "Testvictim",
    "Plantedname",
    f"{CASUALTY_LONLAT[0]:.3f}",
    f"{CASUALTY_LONLAT[1]:.3f}",
    "female",
    "HYPERLINK",
    *exact_dates(),
]
AGE = re.compile(rf"(?<![\d.,]){VICTIM_AGE}(?![\d.,])")


def assert_clean(text: str, what: str) -> None:
    for needle in FORBIDDEN_TEXT:
        assert needle.lower() not in text.lower(), f"{needle!r} leaked into {what}"
    assert not AGE.search(text), f"victim age {VICTIM_AGE} leaked into {what}"


def test_funder_view_drops_personal_and_unknown_columns(layers):
    cas = layers["casualties"].copy()
    cas["full_name_of_victim"] = VICTIM_NAME  # an unmapped extra source column
    safe = funder_view(cas, "casualties")
    for col in (
        "victim_name",
        "victim_age",
        "victim_sex",
        "full_name_of_victim",
        "source",
        "incident_id",
    ):
        assert col not in safe.columns
    assert set(safe["activity"]) <= {"agriculture", "travel", "other", "unknown"}
    assert set(safe["munition_type"]) == {"at_mine", "ap_mine", "cluster", "other"}
    assert VICTIM_NAME not in safe.drop(columns="geometry").to_string()


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_csv_has_no_personal_data_and_no_formulas(layers, tasks, lang):
    report = build_report(layers, tasks=tasks, **PERIOD)
    data = render_csv(report, lang=lang)
    text = data.decode("utf-8-sig")
    assert_clean(text, "CSV")
    assert "SECRET-TASK" not in text
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(DANGEROUS) or _is_number(cell), cell
    assert "'=cmd|" in text  # the operator's formula-like device text, defused


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_xlsx_has_no_personal_data_and_no_formulas(layers, tasks, lang):
    report = build_report(layers, tasks=tasks, author="Report Author", **PERIOD)
    data = render_xlsx(report, lang=lang)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert_clean(xml, "XLSX XML")
    assert "SECRET-TASK" not in xml
    assert "<f>" not in xml
    assert "<f " not in xml
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert len(wb.sheetnames) >= 10
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(DANGEROUS), cell.value
    assert wb.properties.creator == "Report Author"


def test_personal_fields_in_input_never_matter(layers):
    """Reading the store with include_personal=True must give the same report."""
    stripped = dict(layers)
    stripped["casualties"] = layers["casualties"].drop(
        columns=["victim_name", "victim_age", "victim_sex"]
    )
    a = render_csv(build_report(layers, generated_at=pd.Timestamp("2025-01-01"), **PERIOD))
    b = render_csv(build_report(stripped, generated_at=pd.Timestamp("2025-01-01"), **PERIOD))
    assert a == b


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_neutralise_each_dangerous_prefix(prefix):
    assert neutralise(prefix + "SUM(A1)") == "'" + prefix + "SUM(A1)"
    assert neutralise("safe " + prefix) == "safe " + prefix
    assert neutralise(-5) == -5


# --- suppression ---------------------------------------------------------------------


def table(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["killed", "injured"])
    df["total"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    return df


def subtraction_attack(display: pd.DataFrame) -> dict:
    """Recover hidden cells by repeated subtraction along rows and columns."""
    known = {(r, c): display.loc[r, c] for r in display.index for c in display.columns}
    known = {k: (None if isinstance(v, str) else int(v)) for k, v in known.items()}
    rows = [r for r in display.index if r != "total"]
    cols = [c for c in display.columns if c != "total"]
    lines = [[(r, c) for c in cols] + [(r, "total")] for r in [*rows, "total"]]
    lines += [[(r, c) for r in rows] + [("total", c)] for c in [*cols, "total"]]
    recovered = {}
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [k for k in line if known[k] is None]
            if len(unknown) == 1:
                k = unknown[0]
                members, total = line[:-1], line[-1]
                if k == total:
                    value = sum(known[m] for m in members)
                else:
                    value = known[total] - sum(known[m] for m in members if m != k)
                known[k] = recovered[k] = value
                changed = True
    return recovered


def lp_bounds(display: pd.DataFrame, status: pd.DataFrame) -> dict:
    """An optimising attacker: min/max of each hidden cell under every line constraint,
    knowing primary cells are 1..4 and complementary cells at least 5."""
    optimize = pytest.importorskip("scipy.optimize")
    hidden = [(r, c) for r in display.index for c in display.columns if status.loc[r, c]]
    idx = {k: i for i, k in enumerate(hidden)}
    rows = [r for r in display.index if r != "total"]
    cols = [c for c in display.columns if c != "total"]
    lines = [([(r, c) for c in cols], (r, "total")) for r in [*rows, "total"]]
    lines += [([(r, c) for r in rows], ("total", c)) for c in [*cols, "total"]]
    A, b = [], []
    for members, total in lines:
        coef = np.zeros(len(hidden))
        rhs = 0.0
        for k, sign in [*((m, 1) for m in members), (total, -1)]:
            if k in idx:
                coef[idx[k]] += sign
            else:
                rhs -= sign * int(display.loc[k])
        if coef.any():
            A.append(coef)
            b.append(rhs)
    bounds = [(1, 4) if status.loc[k] == "primary" else (5, None) for k in hidden]
    out = {}
    for k, i in idx.items():
        c = np.zeros(len(hidden))
        c[i] = 1
        lo = optimize.linprog(c, A_eq=A, b_eq=b, bounds=bounds).fun
        hi = -optimize.linprog(-c, A_eq=A, b_eq=b, bounds=bounds).fun
        out[k] = (lo, hi)
    return out


def test_small_counts_shown_as_less_than_five(layers):
    report = build_report(layers, **PERIOD)
    for name, prot in report.casualties.items():
        shown = prot.display
        for r in shown.index:
            for c in shown.columns:
                v = shown.loc[r, c]
                if not isinstance(v, str):
                    assert v == 0 or v >= 5, (name, r, c, v)
                true = prot.counts.loc[r, c]
                if 1 <= true <= 4:
                    assert v == "<5"


def test_suppressed_cells_cannot_be_recovered_from_the_report(layers):
    report = build_report(layers, **PERIOD)
    for prot in report.casualties.values():
        assert subtraction_attack(prot.display) == {}
        for lo, hi in lp_bounds(prot.display, prot.status).values():
            assert hi - lo >= 1 - 1e-9


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_resist_subtraction_and_lp(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    values = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 30], size=(n, 2))
    t = table({f"m{i}": (int(a), int(b)) for i, (a, b) in enumerate(values)})
    prot = protect_counts({"t": t})["t"]
    assert subtraction_attack(prot.display) == {}
    for k, (lo, hi) in lp_bounds(prot.display, prot.status).items():
        assert hi - lo >= 1 - 1e-9, (k, lo, hi, prot.display)
    for r in t.index:
        for c in t.columns:
            assert (prot.status.loc[r, c] == "primary") == (1 <= t.loc[r, c] <= 4)


def test_attacker_catches_a_naive_single_suppression():
    """The built-in check is not vacuous: one hidden cell in a row is recoverable."""
    t = table({"a": (3, 10), "b": (20, 30)})
    values = {("t", r, c): int(t.loc[r, c]) for r in t.index for c in t.columns}
    status = {("t", "a", "killed"): "primary"}
    lines = [(("t", r, "total"), [("t", r, "killed"), ("t", r, "injured")]) for r in t.index]
    assert recoverable_cells(values, status, lines) == [("t", "a", "killed")]
    assert subtraction_attack(t.astype(object).mask(t == 3, "<5")) != {}


def test_xlsx_sheets_hold_numbers_with_number_formats(layers, tasks):
    wb = openpyxl.load_workbook(
        io.BytesIO(render_xlsx(build_report(layers, tasks=tasks, **PERIOD)))
    )
    ws = wb["Released by method"]
    assert [c.value for c in ws[1]] == ["Method", "Area (ha)", "Releases"]
    cleared = ws["B2"]
    assert isinstance(cleared.value, float)
    assert cleared.value == pytest.approx(150, rel=1e-3)
    assert cleared.number_format == "#,##0.00"
    assert ws["C2"].number_format == "#,##0"
    cas = wb["Casualties by month"]
    values = [[c.value for c in row] for row in cas.iter_rows(min_row=2, max_row=5)]
    assert values[1][1] == "<5"  # February: 1 killed
    assert values[-1][-1] == 25  # the grand total is published as a number
