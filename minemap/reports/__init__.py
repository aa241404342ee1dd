"""Funder progress reports: honest figures, no personal data (PDF, XLSX, CSV).

Pipeline: canonical layer frames → :func:`build_report` (funder-safe view first, then
every figure, casualty counts suppressed) → a renderer that returns bytes
(:func:`render_pdf`, :func:`render_xlsx`, :func:`render_csv`). :func:`render` picks
the renderer from a file suffix.
"""

from __future__ import annotations

from minemap.reports._build import BatchInfo, MapData, ReportData, build_report, select_area
from minemap.reports.csv import render_csv
from minemap.reports.i18n import LANGS
from minemap.reports.privacy import funder_view, neutralise, protect_counts
from minemap.reports.xlsx import render_xlsx

__all__ = [
    "FORMATS",
    "LANGS",
    "BatchInfo",
    "MapData",
    "ReportData",
    "build_report",
    "funder_view",
    "neutralise",
    "protect_counts",
    "render",
    "render_csv",
    "render_pdf",
    "render_xlsx",
    "select_area",
]

FORMATS: tuple[str, ...] = ("pdf", "xlsx", "csv")


def render_pdf(report: ReportData, *, lang: str = "en") -> bytes:
    """The report as PDF bytes (see :mod:`minemap.reports.pdf`)."""
    from minemap.reports.pdf import render_pdf as _render

    return _render(report, lang=lang)


def render(report: ReportData, fmt: str, *, lang: str = "en") -> bytes:
    """Render ``report`` as ``fmt`` (``"pdf"``, ``"xlsx"`` or ``"csv"``)."""
    renderers = {"pdf": render_pdf, "xlsx": render_xlsx, "csv": render_csv}
    try:
        renderer = renderers[fmt.lower().lstrip(".")]
    except KeyError:
        raise ValueError(
            f"unsupported report format {fmt!r}; choose one of: {', '.join(FORMATS)}"
        ) from None
    return renderer(report, lang=lang)
