"""The report's tables, labelled in one language: shared by the CSV and XLSX renderers.

Values stay numeric (a renderer formats them); suppressed casualty cells are the strings
``"<5"`` / ``"x"``; every text cell is passed through
:func:`~minemap.reports.privacy.neutralise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from minemap.reports._build import ReportData
from minemap.reports.figures import METHODS
from minemap.reports.i18n import format_date, format_month, format_number, has_label, t
from minemap.reports.privacy import TOTAL, neutralise

__all__ = [
    "Table",
    "backtest_text",
    "plan_note",
    "plan_people_text",
    "plan_sentence",
    "report_tables",
    "summary_rows",
]


@dataclass(frozen=True)
class Table:
    """One labelled table: ``frame`` has localised headers; ``formats`` maps a header to
    ``"ha"``, ``"int"``, ``"uah"``, ``"pct"`` or ``"score"``."""

    key: str
    title: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _label(key: object, lang: str) -> str:
    text = str(key)
    return t(text, lang) if has_label(text) else text


def _cell(value: object) -> object:
    return neutralise(value) if isinstance(value, str) else value


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).map(_cell)


def summary_rows(report: ReportData, lang: str) -> list[tuple[str, object, str, str]]:
    """Headline rows: (label, value, unit label, format)."""
    r = report.released["area_ha"]
    rows: list[tuple[str, object, str, str]] = [
        (t("released_total", lang), r[TOTAL], t("ha", lang), "ha"),
        *[(t(m, lang), r[m], t("ha", lang), "ha") for m in METHODS],
        (t("farmland_returned", lang), report.farmland["area_ha"], t("ha", lang), "ha"),
        (t("farmland_value", lang), report.farmland["value_uah"], t("uah_per_year", lang), "uah"),
        (
            t("devices_found", lang),
            int(report.devices.loc[TOTAL, "devices"]),
            t("count", lang),
            "int",
        ),
        (
            f"{t('remaining_hazard', lang)}, {t('remaining_start', lang)}",
            report.hazard_start[TOTAL],
            t("ha", lang),
            "ha",
        ),
        (
            f"{t('remaining_hazard', lang)}, {t('remaining_end', lang)}",
            report.hazard_end[TOTAL],
            t("ha", lang),
            "ha",
        ),
        (
            f"{t('remaining_hazard', lang)}, {t('remaining_change', lang)}",
            report.hazard_end[TOTAL] - report.hazard_start[TOTAL],
            t("ha", lang),
            "ha",
        ),
        (
            t("cost_per_ha", lang),
            report.cost_per_ha if report.cost_per_ha is not None else t("not_recorded", lang),
            t("uah_per_ha", lang),
            "uah",
        ),
    ]
    by_month = report.casualties["by_month"].display
    rows += [
        (t("casualties_total", lang), by_month.loc[TOTAL, TOTAL], t("count", lang), "int"),
        (t("killed", lang), by_month.loc[TOTAL, "killed"], t("count", lang), "int"),
        (t("injured", lang), by_month.loc[TOTAL, "injured"], t("count", lang), "int"),
        (
            t("civilian_share", lang),
            report.civilian_share if report.civilian_share is not None else "x",
            "%",
            "pct",
        ),
        (t("tasks_planned", lang), report.tasks_count, t("count", lang), "int"),
        (t("tasks_area", lang), report.tasks_area_ha, t("ha", lang), "ha"),
    ]
    plan = report.plan
    if plan is not None:
        rows += [
            (t("plan_planned", lang), plan.n_planned, t("count", lang), "int"),
            (t("plan_completed", lang), plan.n_completed, t("count", lang), "int"),
            (
                t("plan_share", lang),
                plan.released_share if plan.released_share is not None else t("none", lang),
                "%",
                "pct",
            ),
        ]
        if plan.people_exposed is not None:
            label = t("plan_people", lang).format(km=_km(plan, lang))
            rows.append((label, plan.people_exposed, t("count", lang), "int"))
    return rows


def _km(plan: object, lang: str) -> str:
    """The exposure distance of the plan in km (``2``, ``2,5`` in Ukrainian)."""
    km = float(getattr(plan, "exposure_distance_m", None) or 0.0) / 1000.0
    return format_number(km, lang, decimals=0 if km == int(km) else 1)


def plan_people_text(report: ReportData, lang: str) -> tuple[str, str]:
    """(the people-exposed total, how the per-task column reads); ``("", "")`` without
    a settlements layer."""
    plan = report.plan
    if plan is None or plan.people_exposed is None:
        return "", ""
    km = _km(plan, lang)
    total = format_number(plan.people_exposed, lang)
    return (
        t("plan_people_sentence", lang).format(km=km, total=total),
        t("plan_people_note", lang).format(km=km),
    )


def _pct(share: float, lang: str) -> str:
    return f"{format_number(share * 100, lang)} %"


def plan_sentence(report: ReportData, lang: str) -> str:
    """ "Planned tasks: N; completed in the period: k (share of planned area released: p %)"."""
    plan = report.plan
    if plan is None:
        return ""
    share = plan.released_share
    return t("plan_sentence", lang).format(
        n=format_number(plan.n_planned, lang),
        k=format_number(plan.n_completed, lang),
        p=_pct(share, lang) if share is not None else t("none", lang),
    )


def plan_note(report: ReportData, lang: str) -> str:
    """How the plan and completion are defined (for the report's reader)."""
    plan = report.plan
    if plan is None:
        return ""
    return t("plan_note", lang).format(
        n=plan.top_n, date=format_date(plan.as_of, lang), pct=_pct(plan.threshold, lang)
    )


def backtest_text(report: ReportData, lang: str) -> list[str]:
    """The methods paragraph on the back-test: intro, then one verdict per score."""
    bt = report.backtest
    if bt is None:
        return []
    as_of = format_date(pd.Timestamp(bt.as_of), lang)
    until = format_date(pd.Timestamp(bt.until), lang) if bt.until else t("backtest_now", lang)
    out = [t("backtest_intro", lang).format(as_of=as_of, until=until)]
    for sc in bt.scores:
        key = f"bt_{sc.outcome}"
        what = t(key, lang) if has_label(key) else sc.outcome
        if not sc.evaluable or sc.gain25 is None:
            out.append(t("bt_none", lang).format(name=sc.name, what=what))
            continue
        g, lo, hi = sc.gain25
        lift = f"{format_number(sc.lift25, lang, decimals=1)}×" if sc.lift25 is not None else "–"
        words = t("bt_sentence", lang).format(
            name=sc.name,
            g=_pct(g, lang),
            lo=format_number(lo * 100, lang),
            hi=_pct(hi, lang),
            what=what,
            lift=lift,
        )
        if lo <= 0.25 <= hi:
            words += " " + t("bt_chance", lang)
        elif hi < 0.25:
            words += " " + t("bt_worse", lang)
        if sc.auc is not None:
            a, alo, ahi = (format_number(v, lang, decimals=2) for v in sc.auc)
            words += " " + t("bt_auc", lang).format(auc=a, lo=alo, hi=ahi)
        out.append(words)
    return out


def _casualty_table(report: ReportData, name: str, row_label: str, lang: str) -> pd.DataFrame:
    display = report.casualties[name].display
    labels = [
        format_month(r, lang) if isinstance(r, pd.Period) else _label(r, lang)
        for r in display.index
    ]
    out = pd.DataFrame(
        {
            row_label: labels,
            t("killed", lang): list(display["killed"]),
            t("injured", lang): list(display["injured"]),
            t("total", lang): list(display[TOTAL]),
        }
    )
    return out


def report_tables(report: ReportData, lang: str) -> list[Table]:
    """All tables of the report in ``lang``, in reading order."""
    ha, cnt = t("area_ha", lang), t("releases", lang)
    tables: list[Table] = []
    summary = pd.DataFrame(
        [(label, value, unit) for label, value, unit, _ in summary_rows(report, lang)],
        columns=[t("figure", lang), t("value", lang), t("unit", lang)],
    )
    tables.append(Table("summary", t("sheet_summary", lang), _clean(summary)))

    rel = report.released
    tables.append(
        Table(
            "released",
            t("sheet_released", lang),
            _clean(
                pd.DataFrame(
                    {
                        t("method", lang): [_label(m, lang) for m in rel.index],
                        ha: list(rel["area_ha"]),
                        cnt: list(rel["releases"]),
                    }
                )
            ),
            {ha: "ha", cnt: "int"},
        )
    )
    monthly = report.released_monthly
    month_frame = pd.DataFrame({t("month", lang): [format_month(m, lang) for m in monthly.index]})
    for m in METHODS:
        month_frame[t(f"{m}_short", lang)] = list(monthly[m])
    month_frame[t("total", lang)] = list(monthly.sum(axis=1))
    tables.append(
        Table(
            "released_by_month",
            t("sheet_released_month", lang),
            _clean(month_frame),
            {c: "ha" for c in month_frame.columns[1:]},
        )
    )
    farm = pd.DataFrame(
        {
            t("month", lang): [format_month(m, lang) for m in report.farmland_cumulative.index],
            t("farmland_cumulative", lang): list(report.farmland_cumulative),
        }
    )
    tables.append(
        Table(
            "farmland",
            t("sheet_farmland", lang),
            _clean(farm),
            {t("farmland_cumulative", lang): "ha"},
        )
    )
    dev = pd.DataFrame(
        {
            t("device_type", lang): [
                _label(k, lang) if k in (TOTAL, "unknown") else str(k) for k in report.devices.index
            ],
            t("devices", lang): list(report.devices["devices"]),
        }
    )
    tables.append(
        Table("devices", t("sheet_devices", lang), _clean(dev), {t("devices", lang): "int"})
    )
    keys = ["CHA", "SHA", TOTAL]
    hz = pd.DataFrame(
        {
            t("hazard_type", lang): [_label(k, lang) for k in keys],
            t("remaining_start", lang): [report.hazard_start[k] for k in keys],
            t("remaining_end", lang): [report.hazard_end[k] for k in keys],
            t("remaining_change", lang): [
                report.hazard_end[k] - report.hazard_start[k] for k in keys
            ],
        }
    )
    tables.append(
        Table("hazard", t("sheet_hazard", lang), _clean(hz), {c: "ha" for c in hz.columns[1:]})
    )
    note = t("suppressed_note", lang)
    for name, sheet, row_label in (
        ("by_month", "sheet_cas_month", "month"),
        ("by_activity", "sheet_cas_activity", "activity"),
        ("by_munition_type", "sheet_cas_device", "device_category"),
        ("by_civilian", "sheet_cas_civilian", "civilian_status"),
        ("by_oblast", "sheet_cas_oblast", "oblast"),
    ):
        if name not in report.casualties:
            continue
        frame = _casualty_table(report, name, t(row_label, lang), lang)
        tables.append(
            Table(
                f"casualties_{name}",
                t(sheet, lang),
                _clean(frame),
                {c: "int" for c in frame.columns[1:]},
                note,
            )
        )
    tasks = report.tasks
    task_frame = pd.DataFrame(
        {
            t("task", lang): list(tasks["task"]),
            t("rank", lang): list(tasks["rank"]),
            t("area_ha", lang): list(tasks["area_ha"]),
            t("score", lang): list(tasks["priority_score"]),
        }
    )
    tables.append(
        Table(
            "tasks",
            t("sheet_tasks", lang),
            _clean(task_frame),
            {t("rank", lang): "int", t("area_ha", lang): "ha", t("score", lang): "score"},
            t("tasks_note", lang),
        )
    )
    plan = report.plan
    if plan is not None:
        pt = plan.tasks
        plan_frame = pd.DataFrame(
            {
                t("task", lang): list(pt["task"]),
                t("rank", lang): list(pt["rank"]),
                t("area_ha", lang): list(pt["area_ha"]),
                t("released_pct", lang): list(pt["released_share"]),
                t("completed", lang): [t("yes" if c else "no", lang) for c in pt["completed"]],
            }
        )
        formats = {t("rank", lang): "int", t("area_ha", lang): "ha", t("released_pct", lang): "pct"}
        if "people_exposed" in pt.columns:
            plan_frame[t("people_exposed", lang)] = [int(v) for v in pt["people_exposed"]]
            formats[t("people_exposed", lang)] = "int"
        note = " ".join(
            p for p in (plan_sentence(report, lang), plan_note(report, lang),
                        *plan_people_text(report, lang)) if p
        )  # fmt: skip
        tables.append(Table("plan", t("sheet_plan", lang), _clean(plan_frame), formats, note))
    tables.append(Table("sources", t("sheet_sources", lang), _clean(sources_frame(report, lang))))
    return tables


def sources_frame(report: ReportData, lang: str) -> pd.DataFrame:
    """Methods-and-sources facts as (item, value) rows, then one row per batch."""
    period = f"{format_date(report.start, lang)} – {format_date(report.end, lang)}"
    rows = [
        (t("period", lang), period),
        (t("area", lang), report.area_name or t("whole_store", lang)),
        (t("generated", lang), report.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        (t("generated_by", lang), report.author or "minemap"),
        (t("package_version", lang), report.version),
        (t("weights_version", lang), report.weights_version or t("none", lang)),
    ]
    rows += [(t("backtest", lang), line) for line in backtest_text(report, lang)]
    for b in report.batches:
        when = b.created_at.strftime("%Y-%m-%d") if b.created_at is not None else ""
        rows.append(
            (
                f"{t('batch', lang)} {b.batch_id}",
                f"{b.layer}: {b.file_name} ({when}, {b.feature_count} {t('features', lang)})",
            )
        )
    return pd.DataFrame(rows, columns=[t("figure", lang), t("value", lang)])
