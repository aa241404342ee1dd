"""A short methods-and-results PDF of a back-test, for a programme manager.

What was ranked (as-of date, outcome period, layers with batch ids, weight sets with their
versions and hashes), the gain curves for findings and harm (every weight set, area alone
and the random diagonal), the comparison table (ROC AUC, top 10/25/50 % shares with their
95 % intervals, lift over random and over area alone), the plain-words verdicts and
warnings (:mod:`minemap.backtest.verdict`), the block hold-out figures when spatial blocks
were used, and how to read it all.

The page frame, fonts, styles and tables are the funder reports' (:mod:`minemap.reports.pdf`),
numbers and dates are formatted by :mod:`minemap.reports.i18n`. Only aggregate figures are
written: no casualty record, field or coordinate reaches the PDF.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import pandas as pd
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from minemap.backtest.verdict import ranking_name, render
from minemap.reports.i18n import check_lang, format_date, format_number
from minemap.reports.pdf import (
    CONTENT_W,
    FONT,
    FONT_BOLD,
    GREY,
    NAVY,
    build_pdf,
    data_table,
    escape,
    paragraph_styles,
    register_fonts,
)

__all__ = ["LABELS", "input_lines", "label", "render_pdf"]

SERIES_COLOURS = (
    colors.HexColor("#1F4E79"),
    colors.HexColor("#C62828"),
    colors.HexColor("#2E7D32"),
    colors.HexColor("#EF6C00"),
    colors.HexColor("#6A1B9A"),
    colors.HexColor("#00838F"),
)
AREA_COLOUR = colors.HexColor("#8D6E63")
RANDOM_COLOUR = colors.HexColor("#9E9E9E")

# key → (English, Ukrainian)
LABELS: dict[str, tuple[str, str]] = {
    "title": ("Back-test of the priority ranking", "Ретроспективна перевірка рейтингу пріоритетів"),
    "subtitle": (
        "Did the ranking point where devices were later found and people were later hurt?",
        "Чи вказував рейтинг туди, де згодом знайшли предмети й де згодом постраждали люди?",
    ),
    "generated": ("Generated", "Створено"),
    "what": ("What was ranked", "Що ранжовано"),
    "what_text": (
        "The ranking was rebuilt as it would have been on {as_of}, from records dated before "
        "that day only, and compared with what happened from {as_of} to {until}.",
        "Рейтинг відтворено таким, яким він був би {as_of}, лише за записами до цього дня, "
        "і порівняно з тим, що сталося з {as_of} до {until}.",
    ),
    "until_open": ("the date of the back-test", "дати перевірки"),
    "layer": ("Layer", "Шар"),
    "history": ("Records before the date", "Записів до дати"),
    "outcomes": ("Records in the outcome period", "Записів у періоді оцінювання"),
    "batches": ("Batch ids", "Ідентифікатори пакетів"),
    "no_batches": ("—", "—"),
    "hazards": ("Hazard areas", "Небезпечні території"),
    "strikes": ("Strike sites", "Місця ударів"),
    "casualties": ("Casualty incidents", "Події з постраждалими"),
    "cleared": ("Released land", "Звільнені землі"),
    "farmland": ("Farmland", "Сільгоспземлі"),
    "settlements": ("Settlements", "Населені пункти"),
    "cli_history": (
        "ranking rebuilt from records before {as_of}: {counts}",
        "рейтинг відтворено за записами до {as_of}: {counts}",
    ),
    "cli_outcomes": (
        "outcomes {as_of} → {until}: {counts}",
        "результати {as_of} → {until}: {counts}",
    ),
    "cli_now": ("now", "сьогодні"),
    "cli_wrote": ("wrote {path}", "записано {path}"),
    "weights": ("Weight sets", "Набори ваг"),
    "ranking": ("Ranking", "Рейтинг"),
    "weights_name": ("Weights (version)", "Ваги (версія)"),
    "sha": ("SHA-256 of the weights", "SHA-256 ваг"),
    "tasks": ("Tasks", "Завдань"),
    "curves": ("Gain curves", "Криві виграшу"),
    "curve_findings": (
        "Findings: share of the area where devices were later found",
        "Знахідки: частка площі, де згодом знайшли предмети",
    ),
    "curve_harm": (
        "Harm: share of later casualty incidents inside tasks",
        "Шкода: частка пізніших подій з постраждалими в межах завдань",
    ),
    "x_axis": ("share of ranked hazard area, highest score first", "частка площі рейтингу"),
    "no_outcome": (
        "Nothing happened inside the ranked area in the period: no curve to draw.",
        "У ранжованій площі за період нічого не сталося: кривої немає.",
    ),
    "area_only": ("area alone (largest first)", "лише площа (спершу найбільші)"),
    "random": ("random order", "випадковий порядок"),
    "table": ("Comparison (95 % intervals in brackets)", "Порівняння (у дужках — 95 % інтервали)"),
    "outcome": ("Outcome", "Результат"),
    "findings": ("findings", "знахідки"),
    "harm": ("harm", "шкода"),
    "auc": ("ROC AUC", "ROC AUC"),
    "top": ("top {k} %", "верхні {k} %"),
    "lifts": (
        "Lift at the top 10/25/50 % of ranked area",
        "Підсилення у верхніх 10/25/50 % площі рейтингу",
    ),
    "x_random": ("× random", "× випадковий"),
    "x_area": ("× area alone", "× лише площа"),
    "verdicts": ("In plain words", "Простими словами"),
    "warnings": ("Warnings", "Застереження"),
    "blocks": ("Spatial block hold-out", "Просторова перевірка блоками"),
    "blocks_text": (
        "Tasks were put into {size} km grid blocks ({n_blocks} blocks) dealt into {folds} "
        "folds; the intervals above resample whole blocks, so neighbouring tasks that are "
        "alike do not make the figures look surer than they are. Per fold, each ranking's "
        "own figures:",
        "Завдання розподілено на блоки сітки {size} км ({n_blocks} блоків), розкладені в "
        "{folds} груп; інтервали вище перевибирають цілі блоки, тож схожі сусідні завдання "
        "не роблять показники певнішими, ніж вони є. Показники кожного рейтингу за групами:",
    ),
    "fold": ("Fold", "Група"),
    "fold_tasks": ("Tasks", "Завдань"),
    "fold_blocks": ("Blocks", "Блоків"),
    "top25": ("top 25 %", "верхні 25 %"),
    "how": ("How to read this", "Як це читати"),
    "how_text": (
        "A ranking is only worth following if it points where the danger is. Gain: the share "
        "of what happened later (area where devices were found; casualty incidents) that lay "
        "in the top 10, 25 or 50 % of the ranked hazard area. A random order meets, on "
        "average, exactly the share of area it has worked through, so a curve above the grey "
        "diagonal is better than chance; lift is that ratio (2× = twice what a random order "
        "finds). Ranking by area alone is shown as a simple rival. ROC AUC is the chance that "
        "a place where something was later found or happened was ranked above one where "
        "nothing was: 0.5 is random, 1 perfect. The brackets are 95 % bootstrap intervals: "
        "when they include the random share, the data do not show that the ranking beats "
        "chance. Outcomes outside every ranked task cannot count for or against the ranking. "
        "Choosing the best of several weight sets on the same period flatters it; confirm "
        "on a later period or with spatial blocks.",
        "Рейтинг варто виконувати, лише якщо він вказує туди, де є небезпека. Виграш — частка "
        "того, що сталося згодом (площа, де знайшли предмети; події з постраждалими), яка "
        "припала на верхні 10, 25 чи 50 % ранжованої небезпечної площі. Випадковий порядок "
        "у середньому охоплює саме ту частку, яку площі вже пройдено, тож крива над сірою "
        "діагоналлю краща за випадковість; підсилення — це відношення (2× — удвічі більше, "
        "ніж випадковий порядок). Ранжування лише за площею показано як простого "
        "суперника. ROC AUC — імовірність того, що місце, де згодом щось знайшли чи "
        "сталося, стояло в рейтингу вище за місце, де нічого не було: 0,5 — випадковість, "
        "1 — ідеал. У дужках — 95 % бутстреп-інтервали: якщо вони містять випадкову частку, "
        "дані не доводять, що рейтинг кращий за випадковість. Події поза всіма "
        "ранжованими завданнями не зараховуються ні на користь, ні проти рейтингу. Вибір "
        "найкращого з кількох наборів ваг на тому самому періоді прикрашає його; перевірте "
        "на пізнішому періоді або просторовими блоками.",
    ),
    "resampled": (
        "Intervals: {n} bootstrap resamples over {what} (seed {seed}).",
        "Інтервали: {n} бутстреп-вибірок за {what} (зерно {seed}).",
    ),
    "over_items": ("tasks", "завданнями"),
    "over_blocks": ("grid blocks", "блоками сітки"),
}


def label(key: str, lang: str) -> str:
    """The PDF label ``key`` in ``lang`` (``en`` or ``uk``)."""
    en, uk = LABELS[key]
    return uk if check_lang(lang) == "uk" else en


def input_lines(summary: Mapping[str, Any], lang: str) -> list[str]:
    """The two input lines the CLI prints: records per layer before and after the date.

    ``summary`` is ``Split.summary()``. English keeps the ISO dates and layer names the
    command has always printed; Ukrainian uses the reports' date and number formats and
    translated layer names.
    """
    uk = check_lang(lang) == "uk"

    def day(iso: str) -> str:
        return format_date(pd.Timestamp(iso), lang) if uk else iso

    def counts(per_layer: Mapping[str, int]) -> str:
        if not uk:
            return ", ".join(f"{k} {v}" for k, v in per_layer.items())
        return ", ".join(
            f"{(label(k, lang) if k in LABELS else k).lower()} {format_number(v, lang)}"
            for k, v in per_layer.items()
        )

    as_of = day(summary["as_of"])
    until = day(summary["until"]) if summary.get("until") else label("cli_now", lang)
    return [
        label("cli_history", lang).format(as_of=as_of, counts=counts(summary["history"])),
        label("cli_outcomes", lang).format(
            as_of=as_of, until=until, counts=counts(summary["outcomes"])
        ),
    ]


def _f(value: Any) -> float:
    """JSON number or null → float (NaN for null)."""
    return float("nan") if value is None else float(value)


def _pct_iv(iv: Mapping[str, Any], lang: str) -> str:
    est, lo, hi = _f(iv["estimate"]), _f(iv["low"]), _f(iv["high"])
    if not math.isfinite(est):
        return "–"
    text = f"{format_number(est * 100, lang)} %"
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" ({format_number(lo * 100, lang)}–{format_number(hi * 100, lang)})"
    return text


def _num_iv(iv: Mapping[str, Any], lang: str, decimals: int = 2, sep: str = " ") -> str:
    est, lo, hi = _f(iv["estimate"]), _f(iv["low"]), _f(iv["high"])
    if not math.isfinite(est):
        return "–"
    text = format_number(est, lang, decimals=decimals)
    if math.isfinite(lo) and math.isfinite(hi):
        lo_t, hi_t = (format_number(v, lang, decimals=decimals) for v in (lo, hi))
        text += f"{sep}({lo_t}–{hi_t})"
    return text


def _num(value: Any, lang: str, decimals: int = 2) -> str:
    v = _f(value)
    return format_number(v, lang, decimals=decimals) if math.isfinite(v) else "–"


def _name(name: str, lang: str) -> str:
    return ranking_name(name, lang)


def _date(value: str | None, lang: str) -> str:
    if not value:
        return label("until_open", lang)
    return format_date(pd.Timestamp(value), lang)


def _curve(scores: Sequence[Mapping[str, Any]], outcome: str, lang: str) -> Drawing:
    mine = [s for s in scores if s["outcome"] == outcome]
    judged = any(_f(s["outcome_total"]) > 0 for s in mine)
    width, height = CONTENT_W, (215 if judged else 36)
    d = Drawing(width, height)
    d.add(
        String(
            0,
            height - 12,
            label(f"curve_{outcome}", lang),
            fontName=FONT_BOLD,
            fontSize=9,
            fillColor=NAVY,
        )
    )
    if not judged:
        d.add(String(0, 6, label("no_outcome", lang), fontName=FONT, fontSize=8))
        return d
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 30, width - 215, height - 55
    data, styles = [], []
    for i, s in enumerate(mine):
        c = s["curve"]
        data.append(list(zip(c["x"], c["y"], strict=True)))
        styles.append((SERIES_COLOURS[i % len(SERIES_COLOURS)], 1.6, None, _name(s["name"], lang)))
    c = mine[0]["curve"]
    data.append(list(zip(c["x"], c["area_y"], strict=True)))
    styles.append((AREA_COLOUR, 1.2, (4, 2), label("area_only", lang)))
    data.append([(0.0, 0.0), (1.0, 1.0)])
    styles.append((RANDOM_COLOUR, 1.0, (1, 2), label("random", lang)))
    plot.data = data
    for i, (colour, w, dash, _) in enumerate(styles):
        plot.lines[i].strokeColor = colour
        plot.lines[i].strokeWidth = w
        if dash:
            plot.lines[i].strokeDashArray = dash
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.valueMin, axis.valueMax, axis.valueStep = 0.0, 1.0, 0.25
        axis.labels.fontName, axis.labels.fontSize = FONT, 7
        axis.labelTextFormat = lambda v: f"{format_number(v * 100, lang)} %"
        axis.strokeColor = GREY
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    d.add(plot)
    d.add(
        String(
            plot.x + plot.width / 2,
            4,
            label("x_axis", lang),
            fontName=FONT,
            fontSize=7,
            textAnchor="middle",
            fillColor=GREY,
        )
    )
    legend = Legend()
    legend.x, legend.y = plot.x + plot.width + 18, height - 35
    legend.fontName, legend.fontSize = FONT, 7
    legend.alignment = "right"
    legend.deltay = 11
    legend.columnMaximum = len(styles)
    legend.colorNamePairs = [
        (colour, text if len(text) <= 34 else text[:33] + "…") for colour, _, _, text in styles
    ]
    d.add(legend)
    return d


def _what_section(doc: Mapping[str, Any], lang: str, st: dict) -> list:
    split = doc["split"]
    out: list = [
        Paragraph(escape(label("what", lang)), st["h2"]),
        Paragraph(
            escape(
                label("what_text", lang).format(
                    as_of=_date(split["as_of"], lang), until=_date(split.get("until"), lang)
                )
            ),
            st["base"],
        ),
        Spacer(1, 4),
    ]
    records = doc.get("run_records") or {}
    first = next(iter(records.values()), {})
    inputs = first.get("inputs", {})
    layers = sorted(set(split.get("history", {})) | set(split.get("outcomes", {})) | set(inputs))
    rows: list[list[object]] = [
        [
            label("layer", lang),
            label("history", lang),
            label("outcomes", lang),
            label("batches", lang),
        ]
    ]
    for name in layers:
        batches = inputs.get(name, {}).get("batch_ids") or []
        rows.append(
            [
                label(name, lang) if name in LABELS else name,
                _num(split.get("history", {}).get(name, 0), lang, 0),
                _num(split.get("outcomes", {}).get(name, 0), lang, 0),
                Paragraph(
                    escape(", ".join(batches) if batches else label("no_batches", lang)),
                    st["small"],
                ),
            ]
        )
    widths = [CONTENT_W * w for w in (0.22, 0.17, 0.19, 0.42)]
    out += [data_table(rows, widths, text_cols=1), Spacer(1, 6)]
    w_rows: list[list[object]] = [
        [
            label("ranking", lang),
            label("weights_name", lang),
            label("sha", lang),
            label("tasks", lang),
        ]
    ]
    for name, rec in records.items():
        w = rec.get("weights", {})
        source = w.get("source") or ""
        wname = f"{w.get('name', '')} {w.get('version', '')}".strip()
        if source and not source.startswith("<"):
            wname += f" — {PurePath(source).name}"
        w_rows.append(
            [
                Paragraph(escape(_name(name, lang)), st["small"]),
                Paragraph(escape(wname), st["small"]),
                Paragraph(escape(w.get("sha256", "")), st["small"]),
                _num(rec.get("n_tasks"), lang, 0),
            ]
        )
    out += [
        Paragraph(escape(label("weights", lang)), st["h3"]),
        data_table(w_rows, [CONTENT_W * w for w in (0.22, 0.25, 0.41, 0.12)], text_cols=3),
    ]
    return out


def _tables(scores: Sequence[Mapping[str, Any]], lang: str, st: dict) -> list:
    keys = ["10", "25", "50"]
    head = [
        label("ranking", lang),
        label("outcome", lang),
        label("auc", lang),
        *(label("top", lang).format(k=k) for k in keys),
    ]
    rows: list[list[object]] = [head]
    lift_rows: list[list[object]] = [
        [
            label("ranking", lang),
            label("outcome", lang),
            *(f"{label('x_random', lang)} {k} %" for k in keys),
            *(f"{label('x_area', lang)} {k} %" for k in keys),
        ]
    ]
    area_done: set[str] = set()
    for s in scores:
        name = Paragraph(escape(_name(s["name"], lang)), st["small"])
        outcome = label(s["outcome"], lang) if s["outcome"] in LABELS else s["outcome"]
        rows.append(
            [
                name,
                outcome,
                _num_iv(s["auc"], lang),
                *(_pct_iv(s["gain"][k], lang) if k in s["gain"] else "–" for k in keys),
            ]
        )
        lift_rows.append(
            [
                Paragraph(escape(_name(s["name"], lang)), st["small"]),
                outcome,
                *(
                    _num_iv(s["lift_random"][k], lang, 1, "\n") if k in s["gain"] else "–"
                    for k in keys
                ),
                *(
                    _num_iv(s["lift_area"][k], lang, 1, "\n") if k in s["gain"] else "–"
                    for k in keys
                ),
            ]
        )
        if s["outcome"] not in area_done and _f(s["outcome_total"]) > 0:
            area_done.add(s["outcome"])
            area_row = [
                Paragraph(escape(label("area_only", lang)), st["small"]),
                outcome,
                _num(s["area_auc"], lang),
                *(
                    f"{_num(_f(s['area_gain'][k]) * 100, lang, 0)} %"
                    if k in s["area_gain"]
                    else "–"
                    for k in keys
                ),
            ]
            rows.append(area_row)
    widths = [CONTENT_W * w for w in (0.2, 0.13, 0.16, 0.17, 0.17, 0.17)]
    lift_widths = [CONTENT_W * w for w in (0.2, 0.13, *([0.67 / 6] * 6))]
    return [
        KeepTogether(
            [
                Paragraph(escape(label("table", lang)), st["h2"]),
                data_table(rows, widths, text_cols=2),
            ]
        ),
        Spacer(1, 6),
        KeepTogether(
            [
                Paragraph(escape(label("lifts", lang)), st["h3"]),
                data_table(lift_rows, lift_widths, text_cols=2),
            ]
        ),
    ]


def _blocks(blocks: Mapping[str, Any], lang: str, st: dict) -> list:
    rows: list[list[object]] = [
        [
            label("fold", lang),
            label("fold_tasks", lang),
            label("fold_blocks", lang),
            label("ranking", lang),
            label("outcome", lang),
            label("auc", lang),
            label("top25", lang),
        ]
    ]
    for fold in blocks["folds"]:
        for i, f in enumerate(fold["figures"]):
            g = _f(f["gain25"])
            first = i == 0
            rows.append(
                [
                    _num(fold["fold"] + 1, lang, 0) if first else "",
                    _num(fold["tasks"], lang, 0) if first else "",
                    _num(fold["blocks"], lang, 0) if first else "",
                    Paragraph(escape(_name(f["name"], lang)), st["small"]),
                    label(f["outcome"], lang) if f["outcome"] in LABELS else f["outcome"],
                    _num(f["auc"], lang),
                    f"{format_number(g * 100, lang)} %" if math.isfinite(g) else "–",
                ]
            )
    widths = [CONTENT_W * w for w in (0.08, 0.1, 0.1, 0.3, 0.14, 0.14, 0.14)]
    text = label("blocks_text", lang).format(
        size=format_number(_f(blocks["block_size_m"]) / 1000, lang, decimals=0),
        n_blocks=format_number(blocks["n_blocks"], lang),
        folds=format_number(blocks["n_folds"], lang),
    )
    table = data_table(rows, widths, text_cols=0)
    table.setStyle([("ALIGN", (3, 1), (4, -1), "LEFT"), ("ALIGN", (3, 0), (4, 0), "LEFT")])
    return [
        KeepTogether(
            [
                Paragraph(escape(label("blocks", lang)), st["h2"]),
                Paragraph(escape(text), st["base"]),
                Spacer(1, 4),
            ]
        ),
        table,
    ]


def _as_dict(result: Any) -> dict[str, Any]:
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if not isinstance(result, Mapping) or "scores" not in result or "split" not in result:
        raise ValueError(
            "not a back-test result (expected the output of minemap backtest --out FILE.json)"
        )
    return dict(result)


def render_pdf(result: Any, *, lang: str = "en", author: str = "minemap") -> bytes:
    """The back-test as PDF bytes (A4 portrait), in ``lang`` (``en`` or ``uk``).

    Parameters
    ----------
    result : BacktestResult or mapping
        A :class:`~minemap.backtest.evaluate.BacktestResult`, its ``to_dict()`` or the
        JSON written by ``minemap backtest --out FILE.json`` (nulls for NaN are fine).
    lang : str
    author : str
        Named in the document metadata (default ``minemap``).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        ``result`` is not a back-test result, or ``lang`` is not supported.
    """
    check_lang(lang)
    doc = _as_dict(result)
    register_fonts()
    st = paragraph_styles()
    scores = doc["scores"]
    version = next(
        (r.get("minemap_version") for r in (doc.get("run_records") or {}).values()), None
    )
    if version is None:
        from minemap import __version__ as version
    story: list = [
        Paragraph(escape(label("title", lang)), st["title"]),
        Paragraph(escape(label("subtitle", lang)), st["subtitle"]),
        Spacer(1, 2),
        Paragraph(
            f"<b>{escape(label('generated', lang))}:</b> "
            f"{escape(format_date(dt.datetime.now(dt.UTC).date(), lang))}",
            st["small"],
        ),
        *_what_section(doc, lang, st),
        Paragraph(escape(label("curves", lang)), st["h2"]),
        _curve(scores, "findings", lang),
        _curve(scores, "harm", lang),
        *_tables(scores, lang, st),
    ]
    if scores:
        s0 = scores[0]
        what = label("over_blocks" if s0.get("resampled") == "blocks" else "over_items", lang)
        story.append(
            Paragraph(
                escape(
                    label("resampled", lang).format(
                        n=format_number(s0.get("n_boot", 0), lang), what=what, seed=s0.get("seed")
                    )
                ),
                st["small"],
            )
        )
    facts = doc.get("verdict_facts")
    verdicts = [render(f, lang) for f in facts] if facts is not None else doc.get("verdicts", [])
    story.append(Paragraph(escape(label("verdicts", lang)), st["h2"]))
    story += [Paragraph("• " + escape(v), st["base"]) for v in verdicts]
    notes = doc.get("warning_facts")
    warnings = [render(n, lang) for n in notes] if notes is not None else doc.get("warnings", [])
    if warnings:
        story.append(Paragraph(escape(label("warnings", lang)), st["h2"]))
        story += [Paragraph("⚠ " + escape(w), st["base"]) for w in warnings]
    if doc.get("blocks"):
        story += _blocks(doc["blocks"], lang, st)
    story += [
        Paragraph(escape(label("how", lang)), st["h2"]),
        Paragraph(escape(label("how_text", lang)), st["base"]),
    ]
    return build_pdf(
        story,
        lang=lang,
        title=label("title", lang),
        subject=label("subtitle", lang),
        author=author,
        version=str(version),
    )
