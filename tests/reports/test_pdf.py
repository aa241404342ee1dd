"""The PDF: figures read back with pdftotext, no personal data, clean metadata, page images.

Needs poppler-utils (``pdftotext``, ``pdftoppm``, ``pdfinfo``), installed by ``.ci/run``.
Page images go to ``artifacts/reports/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
import shapely

from minemap.reports import build_report, render_pdf
from minemap.reports.i18n import format_number
from tests.reports.conftest import REPO_ROOT, VICTIM_AGE
from tests.reports.test_privacy import FORBIDDEN_TEXT, PERIOD, assert_clean

ARTIFACTS = REPO_ROOT / "artifacts" / "reports"


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} (poppler-utils) is missing: apt-get install poppler-utils")
    return path


def pdf_text(data: bytes, tmp_path: Path, name: str = "r.pdf") -> str:
    pdf = tmp_path / name
    pdf.write_bytes(data)
    out = subprocess.run(
        [poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8").replace("\u00a0", " ")


def inflated_streams(data: bytes) -> str:
    """All content streams decompressed (so a leak cannot hide behind Flate)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(m.group(1).decode("latin-1"))
    return "\n".join(out)


@pytest.fixture
def report(layers, tasks):
    return build_report(layers, tasks=tasks, **PERIOD)


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_figures_read_back_from_the_pdf(layers, tasks, tmp_path, lang):
    report = build_report(layers, tasks=tasks, **PERIOD)
    text = pdf_text(render_pdf(report, lang=lang), tmp_path)
    # independent expectation: union of in-period releases in EPSG:3035
    cl = layers["cleared"]
    cl = cl[(cl["date"] >= "2024-01-01") & (cl["date"] <= "2024-03-31")]
    union_ha = shapely.union_all(list(cl.geometry.to_crs("EPSG:3035"))).area / 10_000
    sum_ha = float(cl.geometry.to_crs("EPSG:3035").area.sum()) / 10_000
    assert union_ha < sum_ha - 40  # the overlaps are real
    union_txt = format_number(union_ha, lang, decimals=2).replace("\u00a0", " ")
    sum_txt = format_number(sum_ha, lang, decimals=2).replace("\u00a0", " ")
    assert union_txt in text
    assert sum_txt not in text
    sep = "." if lang == "en" else ","
    assert re.search(rf"\b150{sep}00\b", text)  # cleared: C1 ∪ C2
    assert re.search(rf"\b100{sep}00\b", text)  # cancelled beyond the reduced land
    assert "8" in text.split()  # devices found
    assert ("1,000,000" if lang == "en" else "1 000 000") in text  # farmland value, UAH
    assert "<5" in text
    assert ("Casualties" if lang == "en" else "Постраждалі") in text
    assert "T-01" in text
    assert "SECRET-TASK" not in text


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_pdf_has_no_personal_data(layers, tasks, tmp_path, lang):
    report = build_report(layers, tasks=tasks, **PERIOD)
    data = render_pdf(report, lang=lang)
    assert_clean(pdf_text(data, tmp_path), "PDF text")
    raw = data.decode("latin-1") + inflated_streams(data)
    for needle in FORBIDDEN_TEXT:
        assert needle not in raw, needle
    assert f"({VICTIM_AGE})" not in raw


def test_pdf_metadata_names_only_minemap_or_the_given_author(layers, tmp_path):
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(render_pdf(build_report(layers, **PERIOD)))
    info = subprocess.run([poppler("pdfinfo"), str(pdf)], capture_output=True, check=True)
    meta = dict(line.split(":", 1) for line in info.stdout.decode().splitlines() if ":" in line)
    assert meta["Author"].strip() == "minemap"
    assert meta["Creator"].strip().startswith("minemap")
    assert meta["Producer"].strip().startswith("minemap")
    import getpass

    user = getpass.getuser()
    if len(user) > 3:
        assert user not in info.stdout.decode()
    pdf.write_bytes(render_pdf(build_report(layers, author="Oksana, HALO Trust", **PERIOD)))
    info = subprocess.run([poppler("pdfinfo"), str(pdf)], capture_output=True, check=True)
    assert "Oksana, HALO Trust" in info.stdout.decode()


def test_cyrillic_survives_in_the_pdf(report, tmp_path):
    text = pdf_text(render_pdf(report, lang="uk"), tmp_path)
    assert "Звіт про хід звільнення земель" in text
    assert "Загинуло" in text


def test_empty_store_still_renders(tmp_path):
    report = build_report({}, start="2024-01-01", end="2024-01-31")
    text = pdf_text(render_pdf(report), tmp_path)
    assert "0.00" in text


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_render_first_pages_to_png(report, lang):
    """Page images for a person to look at (artifacts/reports/, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"report_{lang}.pdf"
    pdf.write_bytes(render_pdf(report, lang=lang))
    for old in ARTIFACTS.glob(f"report_{lang}-*.png"):
        old.unlink()
    subprocess.run(
        [
            poppler("pdftoppm"),
            "-r",
            "80",
            "-png",
            "-f",
            "1",
            "-l",
            "4",
            str(pdf),
            str(ARTIFACTS / f"report_{lang}"),
        ],
        check=True,
    )
    pages = sorted(ARTIFACTS.glob(f"report_{lang}-*.png"))
    assert len(pages) == 4
    assert all(p.stat().st_size > 10_000 for p in pages)  # not blank
