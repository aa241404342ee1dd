"""CSV renderer: every table of the report in one tidy file (table, row, column, value).

UTF-8 with a byte-order mark (so spreadsheet programs detect the encoding), comma
separated, numbers with a dot decimal and no grouping (machine-readable in every
locale); labels in the report language. Text cells are neutralised against formula
injection.
"""

from __future__ import annotations

import csv as _csv
import io

from minemap.reports._build import ReportData
from minemap.reports._tables import report_tables
from minemap.reports.i18n import check_lang, t
from minemap.reports.privacy import neutralise

__all__ = ["render_csv"]


def _number(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else ""
    return value


def render_csv(report: ReportData, *, lang: str = "en") -> bytes:
    """The report as CSV bytes (tidy: one row per table cell)."""
    check_lang(lang)
    buffer = io.StringIO()
    writer = _csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([t("table", lang), t("row", lang), t("column", lang), t("value", lang)])
    for table in report_tables(report, lang):
        frame = table.frame
        label_col = frame.columns[0]
        for _, row in frame.iterrows():
            for col in frame.columns[1:]:
                value = row[col]
                writer.writerow(
                    [neutralise(v) for v in (table.title, row[label_col], col)]
                    + [neutralise(value) if isinstance(value, str) else _number(value)]
                )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
