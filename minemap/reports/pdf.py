"""PDF renderer (reportlab): headline figures, charts, a coarse static map, tables, sources.

Text is set in DejaVu Sans (vendored in ``minemap/reports/fonts``, Bitstream Vera licence)
because reportlab's built-in Helvetica has no Cyrillic. The map is drawn from the
geometries themselves (no web tiles): admin boundaries for context, released land and
remaining hazard as coarse grid cells, never exact hazard outlines. Document metadata
name ``minemap`` (or the given report author) only.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import shapely
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from minemap.reports._build import ReportData
from minemap.reports._tables import (
    backtest_text,
    plan_note,
    plan_people_text,
    plan_sentence,
    sources_frame,
)
from minemap.reports.figures import METHODS
from minemap.reports.i18n import check_lang, format_date, format_month, format_number, t
from minemap.reports.privacy import COMPLEMENTARY, TOTAL

__all__ = [
    "CONTENT_W",
    "FONT",
    "FONT_BOLD",
    "FONT_DIR",
    "GREY",
    "LIGHT",
    "NAVY",
    "build_pdf",
    "data_table",
    "escape",
    "paragraph_styles",
    "register_fonts",
    "render_pdf",
]

FONT_DIR = Path(__file__).with_name("fonts")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"

NAVY = colors.HexColor("#1F4E79")
GREY = colors.HexColor("#5B6770")
LIGHT = colors.HexColor("#EEF3F8")
METHOD_COLOURS = {
    "cleared": colors.HexColor("#2E7D32"),
    "reduced": colors.HexColor("#81C784"),
    "cancelled": colors.HexColor("#C8E6C9"),
}
HAZARD = colors.HexColor("#C62828")
RELEASED = colors.HexColor("#43A047")
CASUALTY = colors.HexColor("#6D4C41")

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
CONTENT_W = PAGE_W - 2 * MARGIN


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=GREY),
        "title": ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=20, leading=24, textColor=NAVY
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=11, leading=14, textColor=GREY
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=12.5,
            leading=16,
            textColor=NAVY,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=FONT_BOLD, fontSize=9, leading=11, textColor=NAVY
        ),
        "kpi": ParagraphStyle(
            "kpi", parent=base, fontName=FONT_BOLD, fontSize=15, leading=18, textColor=NAVY
        ),
        "kpilabel": ParagraphStyle(
            "kpilabel", parent=base, fontSize=7.5, leading=9.5, textColor=GREY
        ),
    }


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _num(value: object, lang: str, decimals: int = 0) -> str:
    if isinstance(value, str):
        return value
    return format_number(value, lang, decimals=decimals)


_HEAD = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=7.2, leading=9, textColor=colors.white)
_HEAD_R = ParagraphStyle("head_r", parent=_HEAD, alignment=TA_RIGHT)


def _table(
    rows: list[list[object]], widths: list[float], *, total_row: bool = False, text_cols: int = 1
) -> Table:
    rows = [
        [
            Paragraph(_esc(h), _HEAD if j < text_cols else _HEAD_R) if isinstance(h, str) else h
            for j, h in enumerate(rows[0])
        ],
        *rows[1:],
    ]
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("ALIGN", (text_cols, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, LIGHT]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, GREY),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if total_row:
        style += [
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8.5),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, NAVY),
        ]
    table.setStyle(TableStyle(style))
    return table


def _kpis(report: ReportData, lang: str, st: dict[str, ParagraphStyle]) -> Table:
    ha = t("ha", lang)
    cas_total = report.casualties["by_month"].display.loc[TOTAL, TOTAL]
    change = report.hazard_end[TOTAL] - report.hazard_start[TOTAL]
    sign = "+" if change > 0 else ""
    cards = [
        (f"{_num(report.released.loc[TOTAL, 'area_ha'], lang, 1)} {ha}", t("released_total", lang)),
        (f"{_num(report.farmland['area_ha'], lang, 1)} {ha}", t("farmland_returned", lang)),
        (f"{_num(report.devices.loc[TOTAL, 'devices'], lang)}", t("devices_found", lang)),
        (
            f"{_num(report.hazard_end[TOTAL], lang, 1)} {ha}",
            f"{t('remaining_hazard', lang)} ({t('remaining_change', lang)}: "
            f"{sign}{_num(change, lang, 1)} {ha})",
        ),
        (f"{_num(report.farmland['value_uah'], lang)} {t('uah', lang)}", t("farmland_value", lang)),
        (_num(cas_total, lang), t("casualties_total", lang)),
    ]
    cells = [
        [Paragraph(_esc(v), st["kpi"]), Paragraph(_esc(label), st["kpilabel"])]
        for v, label in cards
    ]
    rows = [cells[0:3], cells[3:6]]
    w = CONTENT_W / 3
    table = Table(rows, colWidths=[w] * 3, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), LIGHT),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.white),
                ("INNERGRID", (0, 0), (-1, -1), 3, colors.white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _month_labels(months: pd.PeriodIndex, lang: str) -> list[str]:
    step = max(1, -(-len(months) // 12))
    return [format_month(m, lang) if i % step == 0 else "" for i, m in enumerate(months)]


def _axis_fonts(chart) -> None:
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.strokeColor = GREY
    chart.categoryAxis.strokeColor = GREY


def _chart_released(report: ReportData, lang: str) -> Drawing:
    d = Drawing(CONTENT_W, 190)
    d.add(String(0, 178, t("chart_released", lang), fontName=FONT_BOLD, fontSize=9, fillColor=NAVY))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 35, CONTENT_W - 190, 130
    monthly = report.released_monthly
    chart.data = [[float(v) for v in monthly[m]] for m in METHODS]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = _month_labels(monthly.index, lang)
    chart.categoryAxis.labels.angle = 35 if len(monthly) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(monthly) > 6 else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = lambda v: format_number(v, lang)
    for i, m in enumerate(METHODS):
        chart.bars[i].fillColor = METHOD_COLOURS[m]
        chart.bars[i].strokeColor = None
    chart.barSpacing = 1
    _axis_fonts(chart)
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = CONTENT_W - 140, 150
    legend.fontName, legend.fontSize = FONT, 7.5
    legend.alignment = "right"
    legend.colorNamePairs = [(METHOD_COLOURS[m], t(f"{m}_short", lang)) for m in METHODS]
    d.add(legend)
    return d


def _chart_farmland(report: ReportData, lang: str) -> Drawing:
    d = Drawing(CONTENT_W / 2 - 6, 150)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 35, CONTENT_W / 2 - 60, 110
    series = report.farmland_cumulative
    chart.data = [[float(v) for v in series]] if len(series) else [[0.0]]
    chart.categoryAxis.categoryNames = _month_labels(series.index, lang)
    chart.categoryAxis.labels.angle = 35
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = lambda v: format_number(v, lang)
    chart.lines[0].strokeColor = RELEASED
    chart.lines[0].strokeWidth = 2
    _axis_fonts(chart)
    d.add(chart)
    return d


def _chart_casualties(report: ReportData, lang: str) -> Drawing:
    d = Drawing(CONTENT_W / 2 - 6, 150)
    display = report.casualties["by_month"].display.drop(index=TOTAL)
    totals = display[TOTAL]
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 35, CONTENT_W / 2 - 60, 110
    # suppressed months get no bar (its height would disclose the count), only a marker
    chart.data = [[0.0 if isinstance(v, str) else float(v) for v in totals]]
    chart.categoryAxis.categoryNames = _month_labels(display.index, lang)
    chart.categoryAxis.labels.angle = 35
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(5.0, max(chart.data[0]) * 1.15)
    chart.valueAxis.labelTextFormat = lambda v: format_number(v, lang)
    chart.bars[0].fillColor = CASUALTY
    chart.bars[0].strokeColor = None
    _axis_fonts(chart)
    d.add(chart)
    n = max(1, len(totals))
    for i, v in enumerate(totals):
        if isinstance(v, str):
            x = chart.x + (i + 0.5) * chart.width / n
            d.add(
                String(
                    x,
                    chart.y + 3,
                    v,
                    fontName=FONT,
                    fontSize=6.5,
                    fillColor=GREY,
                    textAnchor="middle",
                )
            )
    return d


def _rings(geom) -> list:
    out = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type == "Polygon":
            out.append(poly.exterior)
        elif poly.geom_type in ("LineString", "LinearRing"):
            out.append(poly)
        elif poly.geom_type in ("MultiPolygon", "GeometryCollection", "MultiLineString"):
            out += _rings(poly)
    return out


def _map(report: ReportData, lang: str) -> Drawing:
    m = report.map
    width, height = CONTENT_W, 300
    d = Drawing(width, height + 30)
    d.add(String(0, height + 18, t("map", lang), fontName=FONT_BOLD, fontSize=9, fillColor=NAVY))
    d.add(
        Rect(
            0,
            0,
            width,
            height,
            fillColor=colors.HexColor("#FAFAF7"),
            strokeColor=GREY,
            strokeWidth=0.5,
        )
    )
    if m.extent is None:
        d.add(
            String(
                width / 2,
                height / 2,
                t("map_none", lang),
                fontName=FONT,
                fontSize=9,
                textAnchor="middle",
                fillColor=GREY,
            )
        )
        return d
    minx, miny, maxx, maxy = m.extent
    scale = min((width - 10) / (maxx - minx), (height - 10) / (maxy - miny))
    ox = (width - (maxx - minx) * scale) / 2
    oy = (height - (maxy - miny) * scale) / 2

    def pt(x: float, y: float) -> tuple[float, float]:
        return ox + (x - minx) * scale, oy + (y - miny) * scale

    # hazard cells first; released cells on top, inset, so a cell with both shows both
    for cells, colour, inset in ((m.hazard_cells, HAZARD, 0.0), (m.released_cells, RELEASED, 0.18)):
        for cell in cells:
            x0, y0, x1, y1 = cell.bounds
            (a, b), (c, e) = pt(x0, y0), pt(x1, y1)
            pad = (c - a) * inset
            d.add(
                Rect(
                    a + pad,
                    b + pad,
                    c - a - 2 * pad,
                    e - b - 2 * pad,
                    fillColor=colour,
                    strokeColor=colors.white,
                    strokeWidth=0.3,
                    fillOpacity=0.85,
                )
            )
    label_boundaries = len(m.boundaries) <= 12
    for label, geom, anchor in m.boundaries:
        for ring in _rings(geom):
            coords = [c for xy in ring.coords for c in pt(*xy[:2])]
            if len(coords) >= 4:
                d.add(PolyLine(coords, strokeColor=colors.HexColor("#455A64"), strokeWidth=0.6))
        if label_boundaries and label:
            x, y = pt(anchor.x, anchor.y)
            d.add(
                String(
                    x,
                    y,
                    label,
                    fontName=FONT,
                    fontSize=6.5,
                    textAnchor="middle",
                    fillColor=colors.HexColor("#37474F"),
                )
            )
    # legend and scale bar
    lx, ly = 8, 8
    d.add(Rect(lx - 4, ly - 4, 118, 30, fillColor=colors.white, strokeColor=None, fillOpacity=0.85))
    for i, (colour, key) in enumerate(((RELEASED, "map_released"), (HAZARD, "map_hazard"))):
        d.add(Rect(lx, ly + i * 12, 8, 8, fillColor=colour, strokeColor=None))
        d.add(String(lx + 12, ly + i * 12 + 1, t(key, lang), fontName=FONT, fontSize=7))
    bar_km = m.cell_km * 5
    bar = bar_km * 1000 * scale
    if bar > width / 3:
        bar_km, bar = m.cell_km, m.cell_km * 1000 * scale
    sx = width - bar - 12
    d.add(Line(sx, 10, sx + bar, 10, strokeColor=colors.black, strokeWidth=1.5))
    d.add(
        String(
            sx + bar / 2,
            14,
            f"{format_number(bar_km, lang)} km",
            fontName=FONT,
            fontSize=7,
            textAnchor="middle",
        )
    )
    return d


def _released_table(report: ReportData, lang: str) -> Table:
    rel = report.released
    rows: list[list[object]] = [[t("method", lang), t("area_ha", lang), t("releases", lang)]]
    for key in [*METHODS, TOTAL]:
        label = t(key, lang) if key != TOTAL else t("released_total", lang)
        rows.append(
            [label, _num(rel.loc[key, "area_ha"], lang, 2), _num(rel.loc[key, "releases"], lang)]
        )
    return _table(rows, [CONTENT_W * 0.56, CONTENT_W * 0.24, CONTENT_W * 0.2], total_row=True)


def _casualty_table(report: ReportData, name: str, label_key: str, lang: str, width: float):
    display = report.casualties[name].display
    rows: list[list[object]] = [
        [t(label_key, lang), t("killed", lang), t("injured", lang), t("total", lang)]
    ]
    for r in display.index:
        if isinstance(r, pd.Period):
            label = format_month(r, lang)
        else:
            label = t(str(r), lang) if str(r) in _CATEGORY_KEYS else str(r)
        rows.append([label, *(_num(display.loc[r, c], lang) for c in ("killed", "injured", TOTAL))])
    return _table(rows, [width * 0.37, width * 0.21, width * 0.21, width * 0.21], total_row=True)


_CATEGORY_KEYS = {
    "agriculture",
    "travel",
    "demining",
    "household",
    "military",
    "other",
    "unknown",
    "ap_mine",
    "at_mine",
    "cluster",
    "ied",
    "uxo",
    "civilian",
    "non_civilian",
    TOTAL,
}


def _side_by_side(left, right, titles: tuple[object, object] | None = None) -> Table:
    rows = [list(titles), [left, right]] if titles else [[left, right]]
    table = Table(rows, colWidths=[CONTENT_W / 2, CONTENT_W / 2], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _story(report: ReportData, lang: str) -> list:
    st = _styles()
    half = CONTENT_W / 2 - 8
    period = f"{format_date(report.start, lang)} – {format_date(report.end, lang)}"
    area = report.area_name or t("whole_store", lang)
    story: list = [
        Paragraph(_esc(t("title", lang)), st["title"]),
        Paragraph(_esc(t("subtitle", lang)), st["subtitle"]),
        Spacer(1, 4),
        Paragraph(
            f"<b>{_esc(t('period', lang))}:</b> {_esc(period)} &nbsp;&nbsp; "
            f"<b>{_esc(t('area', lang))}:</b> {_esc(area)} &nbsp;&nbsp; "
            f"<b>{_esc(t('generated', lang))}:</b> {_esc(format_date(report.generated_at, lang))}",
            st["base"],
        ),
        Spacer(1, 8),
        _kpis(report, lang, st),
        Paragraph(_esc(t("land_released", lang)), st["h2"]),
        _released_table(report, lang),
        Spacer(1, 8),
        _chart_released(report, lang),
        PageBreak(),
        _side_by_side(
            _chart_farmland(report, lang),
            _chart_casualties(report, lang),
            (
                Paragraph(_esc(t("farmland_cumulative", lang)), st["h3"]),
                Paragraph(_esc(t("chart_casualties", lang)), st["h3"]),
            ),
        ),
        Paragraph(_esc(t("casualties", lang)), st["h2"]),
        Paragraph(_esc(t("casualties_note", lang)), st["small"]),
        Spacer(1, 4),
        _side_by_side(
            _casualty_table(report, "by_month", "month", lang, half),
            [
                _casualty_table(report, "by_civilian", "civilian_status", lang, half),
                Spacer(1, 6),
                _casualty_table(report, "by_activity", "activity", lang, half),
                Spacer(1, 6),
                _casualty_table(report, "by_munition_type", "device_category", lang, half),
            ],
        ),
        Spacer(1, 4),
        Paragraph(_esc(t("suppressed_note", lang)), st["small"]),
    ]
    share = report.civilian_share
    share_text = (
        format_number(share * 100, lang, decimals=0) + " %" if share is not None else COMPLEMENTARY
    )
    story.append(Paragraph(f"{_esc(t('civilian_share', lang))}: {_esc(share_text)}", st["base"]))
    story += [
        PageBreak(),
        _map(report, lang),
        Paragraph(
            _esc(t("map_note", lang).format(cell=format_number(report.map.cell_km, lang))),
            st["small"],
        ),
    ]
    # remaining hazard and devices
    keys = ["CHA", "SHA", TOTAL]
    hz_rows: list[list[object]] = [
        [
            t("hazard_type", lang),
            t("remaining_start", lang),
            t("remaining_end", lang),
            t("remaining_change", lang),
        ]
    ]
    for k in keys:
        hz_rows.append(
            [
                t(k, lang) if k != TOTAL else t("total", lang),
                _num(report.hazard_start[k], lang, 1),
                _num(report.hazard_end[k], lang, 1),
                _num(report.hazard_end[k] - report.hazard_start[k], lang, 1),
            ]
        )
    dev_rows: list[list[object]] = [[t("device_type", lang), t("devices", lang)]]
    for k, row in report.devices.iterrows():
        label = t(str(k), lang) if k in (TOTAL, "unknown") else str(k)
        dev_rows.append([Paragraph(_esc(label), st["base"]), _num(row["devices"], lang)])
    story += [
        Paragraph(_esc(t("remaining_hazard", lang) + f" ({t('ha', lang)})"), st["h2"]),
        _table(
            hz_rows,
            [CONTENT_W * 0.34, CONTENT_W * 0.22, CONTENT_W * 0.22, CONTENT_W * 0.22],
            total_row=True,
        ),
        Paragraph(_esc(t("devices_found", lang)), st["h2"]),
        _table(dev_rows, [CONTENT_W * 0.7, CONTENT_W * 0.3], total_row=True),
    ]
    if report.cost_per_ha is not None:
        story.append(
            Paragraph(
                f"{_esc(t('cost_per_ha', lang))}: "
                f"{_esc(_num(report.cost_per_ha, lang))} {_esc(t('uah_per_ha', lang))}",
                st["base"],
            )
        )
    # tasks
    story.append(Paragraph(_esc(t("top_tasks", lang)), st["h2"]))
    story.append(
        Paragraph(
            f"{_esc(t('tasks_planned', lang))}: {_esc(_num(report.tasks_count, lang))}; "
            f"{_esc(t('tasks_area', lang))}: {_esc(_num(report.tasks_area_ha, lang, 1))} "
            f"{_esc(t('ha', lang))}. {_esc(t('tasks_note', lang))}",
            st["small"],
        )
    )
    if len(report.tasks):
        task_rows: list[list[object]] = [
            [t("task", lang), t("rank", lang), t("area_ha", lang), t("score", lang)]
        ]
        for _, row in report.tasks.iterrows():
            task_rows.append(
                [
                    row["task"],
                    _num(row["rank"], lang),
                    _num(row["area_ha"], lang, 2),
                    _num(row["priority_score"], lang, 3),
                ]
            )
        story.append(_table(task_rows, [CONTENT_W * 0.25] * 4))
    if report.plan is not None:
        story += [
            Paragraph(_esc(t("plan", lang)), st["h2"]),
            Paragraph(_esc(plan_sentence(report, lang)), st["base"]),
            Paragraph(_esc(plan_note(report, lang)), st["small"]),
        ]
        people, people_note = plan_people_text(report, lang)
        if people:
            story += [
                Paragraph(_esc(people), st["base"]),
                Paragraph(_esc(people_note), st["small"]),
            ]
        if len(report.plan.tasks):
            with_people = "people_exposed" in report.plan.tasks.columns
            head = [
                t("task", lang),
                t("rank", lang),
                t("area_ha", lang),
                t("released_pct", lang),
                t("completed", lang),
            ]
            plan_rows: list[list[object]] = [
                [*head, t("people_exposed", lang)] if with_people else head
            ]
            for _, row in report.plan.tasks.iterrows():
                cells = [
                    row["task"],
                    _num(row["rank"], lang),
                    _num(row["area_ha"], lang, 2),
                    f"{_num(row['released_share'] * 100, lang)} %",
                    t("yes" if row["completed"] else "no", lang),
                ]
                if with_people:
                    cells.append(_num(int(row["people_exposed"]), lang))
                plan_rows.append(cells)
            n_cols = len(plan_rows[0])
            story.append(_table(plan_rows, [CONTENT_W / n_cols] * n_cols))
    # methods and sources
    story += [
        PageBreak(),
        Paragraph(_esc(t("methods", lang)), st["h2"]),
        Paragraph(_esc(t("methods_text", lang)), st["base"]),
        Spacer(1, 6),
    ]
    bt_lines = backtest_text(report, lang)
    if bt_lines:
        story.append(Paragraph(f"<b>{_esc(t('backtest', lang))}</b>", st["base"]))
        story += [Paragraph(_esc(line), st["base"]) for line in bt_lines]
        story.append(Spacer(1, 6))
    facts = sources_frame(report, lang)
    facts = facts[~facts.iloc[:, 0].str.startswith(t("batch", lang) + " ")]
    facts = facts[facts.iloc[:, 0] != t("backtest", lang)]
    fact_rows = [
        [Paragraph(f"<b>{_esc(k)}</b>", st["base"]), Paragraph(_esc(v), st["base"])]
        for k, v in facts.itertuples(index=False)
    ]
    facts_table = Table(fact_rows, colWidths=[CONTENT_W * 0.32, CONTENT_W * 0.68], hAlign="LEFT")
    facts_table.setStyle(
        TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.3, LIGHT)]
        )
    )
    story += [facts_table, Paragraph(_esc(t("batches", lang)), st["h2"])]
    if report.batches:
        batch_rows: list[list[object]] = [
            [
                t("batch", lang),
                t("layer", lang),
                t("file", lang),
                t("imported", lang),
                t("features", lang),
            ]
        ]
        for b in report.batches:
            batch_rows.append(
                [
                    Paragraph(_esc(b.batch_id), st["small"]),
                    b.layer,
                    Paragraph(_esc(b.file_name), st["small"]),
                    format_date(b.created_at, lang) if b.created_at is not None else "",
                    _num(b.feature_count, lang) if b.feature_count is not None else "",
                ]
            )
        widths = [CONTENT_W * w for w in (0.22, 0.13, 0.35, 0.16, 0.14)]
        story.append(_table(batch_rows, widths, text_cols=3))
    else:
        story.append(Paragraph(_esc(t("no_batches", lang)), st["base"]))
    return story


def render_pdf(report: ReportData, *, lang: str = "en") -> bytes:
    """The report as PDF bytes (A4 portrait)."""
    check_lang(lang)
    _register_fonts()
    return build_pdf(
        _story(report, lang),
        lang=lang,
        title=t("title", lang),
        subject=t("subtitle", lang),
        author=report.author or "minemap",
        version=report.version,
    )


def build_pdf(
    story: list, *, lang: str, title: str, subject: str, author: str, version: str
) -> bytes:
    """A4 PDF bytes from platypus flowables, in the reports' page style and metadata.

    Every page has the footer "minemap <version> · <title>" and the page number; the
    document metadata name only ``author`` and ``minemap <version>``. Other minemap PDFs
    (e.g. the back-test) build their story with :func:`paragraph_styles` and
    :func:`data_table` and call this.
    """
    check_lang(lang)
    _register_fonts()
    buffer = io.BytesIO()
    footer = f"minemap {version} · {title}"

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, 10 * mm, footer)
        canvas.drawRightString(PAGE_W - MARGIN, 10 * mm, f"{t('page', lang)} {doc.page}")
        canvas.setStrokeColor(NAVY)
        canvas.setLineWidth(1.2)
        canvas.line(MARGIN, PAGE_H - 12 * mm, PAGE_W - MARGIN, PAGE_H - 12 * mm)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author=author,
        subject=subject,
        creator=f"minemap {version}",
        producer=f"minemap {version}",
        keywords="",
        lang=lang,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


register_fonts = _register_fonts
"""Register the vendored DejaVu fonts with reportlab (idempotent)."""
paragraph_styles = _styles
"""The reports' paragraph styles: base, small, title, subtitle, h2, h3, kpi, kpilabel."""
data_table = _table
"""A table in the reports' style: header row, zebra rows, numbers right-aligned."""
escape = _esc
"""Escape text for a reportlab Paragraph."""
