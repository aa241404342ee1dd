"""The one place the Reports page meets ``minemap.reports`` (issue 5).

Period/area widgets → a cached call of the generator keyed on (store path, data_version,
weights, period, area, language, format) → a download button with the bytes.
"""

from __future__ import annotations

import streamlit as st

from minemap_app import cache, i18n, ui

__all__ = ["render"]


def render() -> None:
    """Render the report controls and the download."""
    from minemap.reports import FORMATS, LANGS

    lang = ui.lang()
    path = cache.store_path()
    role = ui.current_role()
    if not ui.can("download_reports"):  # admins see data as funders do, but get no reports
        st.info(ui.tr("reports.no_download"))
        return
    try:
        version = cache.data_version(path)
        period = cache.report_period(path, version, role)
    except Exception as exc:
        ui.show_error("error.store", exc)
        return
    if period is None:
        st.info(ui.tr("map.empty"))
        return
    first, last = period
    start, end = first, last
    picked = st.date_input(
        ui.tr("reports.period"),
        value=(first, last),
        min_value=first,
        max_value=last,
        format="DD.MM.YYYY" if lang == "uk" else "YYYY-MM-DD",
        key="report_period",
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    names = cache.oblast_names(lang)
    area = st.selectbox(
        ui.tr("map.oblast"),
        options=["", *names],
        format_func=lambda name, lang=lang: names.get(name) or i18n.t("map.all_oblasts", lang),
        key=ui.widget_key("report_area", ""),
    )
    ui.remember("report_area", area)
    fmt = st.radio(
        ui.tr("reports.format"),
        options=FORMATS,
        format_func=str.upper,
        horizontal=True,
        key="report_format",
    )
    report_lang = lang if lang in LANGS else "en"
    st.caption(
        ui.tr(
            "reports.summary",
            start=i18n.fmt_date(start, lang),
            end=i18n.fmt_date(end, lang),
            area=ui.md_escape(names.get(area) or ui.tr("map.all_oblasts")),
        )
    )
    if st.button(ui.tr("reports.generate"), type="primary", key="report_generate"):
        try:
            ui.require("download_reports")
            data = cache.report_file(
                path,
                version,
                role,
                st.session_state.get("weights"),
                start=start,
                end=end,
                area=area or None,
                lang=report_lang,
                fmt=fmt,
            )
        except Exception as exc:  # the generator's message, escaped
            ui.show_error("error.generic", exc)
            return
        st.session_state["report_ready"] = (fmt, data)
    ready = st.session_state.get("report_ready")
    if ready:
        ready_fmt, data = ready
        mime = {
            "pdf": "application/pdf",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "csv": "text/csv",
        }[ready_fmt]
        st.download_button(
            ui.tr("reports.download", fmt=ready_fmt.upper()),
            data=data,
            file_name=f"minemap_report.{ready_fmt}",
            mime=mime,
            key="report_download",
            on_click=ui.audit_download,
            args=("report", ready_fmt, None, "report_download"),
        )
