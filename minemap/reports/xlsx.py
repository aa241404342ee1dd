"""XLSX renderer (openpyxl): one sheet per table, real numbers with number formats.

Suppressed casualty cells are the text ``"<5"`` / ``"x"``; every text cell is
neutralised against formula injection. Document properties name ``minemap`` (or the
given report author) only.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from minemap.reports._build import ReportData
from minemap.reports._tables import report_tables, summary_rows
from minemap.reports.i18n import check_lang, t
from minemap.reports.privacy import neutralise

__all__ = ["render_xlsx"]

_FORMATS = {
    "ha": "#,##0.00",
    "int": "#,##0",
    "uah": "#,##0",
    "pct": "0.0%",
    "score": "0.000",
}
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet_name(title: str, used: set[str]) -> str:
    name = title.translate(_INVALID_SHEET_CHARS).strip()[:31] or "Sheet"
    base, i = name, 2
    while name in used:
        suffix = f" {i}"
        name = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(name)
    return name


def render_xlsx(report: ReportData, *, lang: str = "en") -> bytes:
    """The report as XLSX bytes."""
    check_lang(lang)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = neutralise(report.author or "minemap")
    wb.properties.lastModifiedBy = "minemap"
    wb.properties.title = t("title", lang)
    wb.properties.created = report.generated_at.tz_convert(None).to_pydatetime()
    wb.properties.modified = wb.properties.created
    row_formats = [fmt for _, _, _, fmt in summary_rows(report, lang)]
    used: set[str] = set()
    for table in report_tables(report, lang):
        ws = wb.create_sheet(_sheet_name(table.title, used))
        headers = list(table.frame.columns)
        ws.append([neutralise(h) for h in headers])
        for cell in ws[1]:
            cell.fill, cell.font = _HEADER_FILL, _HEADER_FONT
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for i, (_, row) in enumerate(table.frame.iterrows()):
            ws.append([neutralise(v) for v in row.tolist()])
            excel_row = i + 2
            for j, header in enumerate(headers):
                fmt = table.formats.get(header)
                if table.key == "summary" and j == 1:
                    fmt = row_formats[i]
                cell = ws.cell(row=excel_row, column=j + 1)
                if fmt and isinstance(cell.value, int | float):
                    cell.number_format = _FORMATS[fmt]
                if isinstance(cell.value, str) and j > 0:
                    cell.alignment = Alignment(horizontal="right")
        if table.note:
            ws.append([])
            ws.append([neutralise(table.note)])
        for j, header in enumerate(headers):
            values = [str(header)] + [str(v) for v in table.frame.iloc[:, j]]
            width = min(60, max(10, max(len(v) for v in values) + 2))
            ws.column_dimensions[get_column_letter(j + 1)].width = width
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
