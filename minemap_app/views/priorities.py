"""Priorities page: the ranked task table, live weights, stability view, downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from minemap_app import cache, i18n, settings, ui, viewport

ui.require("view_tasks")
ui.page_header("prio")
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
may_reweight = ui.can("change_weights")  # planners only; field teams see the shared ranking

defaults = cache.default_weights()


def _reset_weights() -> None:
    for name, value in defaults.items():
        st.session_state[f"w_{name}"] = value


# Widget state is dropped when the page is left; the chosen weights live on in "weights".
saved = dict(st.session_state.get("weights") or ())
with st.sidebar:
    st.subheader(ui.tr("prio.weights"))
    for name, value in defaults.items():
        st.session_state.setdefault(f"w_{name}", saved.get(name, value))
        st.slider(
            ui.tr(f"component.{name}"),
            min_value=settings.WEIGHT_MIN,
            max_value=settings.WEIGHT_MAX,
            step=settings.WEIGHT_STEP,
            format="%d",
            key=f"w_{name}",
            disabled=not may_reweight,
        )
    st.button(
        ui.tr("prio.reset"), on_click=_reset_weights, key="w_reset", disabled=not may_reweight
    )
    st.caption(ui.tr("prio.weights_note", name="minemap-default"))
    if not may_reweight:
        st.caption(ui.tr("prio.weights_locked"))

if may_reweight:
    weights = tuple((name, float(st.session_state[f"w_{name}"])) for name in defaults)
else:
    weights = tuple(defaults.items())
if sum(value for _, value in weights) <= 0:
    st.warning(ui.tr("prio.all_zero"))
    st.stop()
if weights != tuple(saved.items()) and saved and may_reweight:
    # Audited: who changed the weights the whole team's map is coloured by, from what to what.
    cache.record(
        path,
        "weights_changed",
        user=ui.current_user(),
        detail={"old": dict(saved), "new": dict(weights)},
    )
if may_reweight:
    st.session_state["weights"] = weights  # the Map page colours tasks with the same weights

try:
    version = cache.data_version(path)
    result = cache.prioritisation(path, version, role, weights)
except Exception as exc:  # the engine's message, escaped; never a traceback
    ui.show_error("error.risk", exc)
    st.stop()

tasks = result.tasks
if tasks.empty:
    st.info(ui.tr("prio.no_tasks"))
    st.stop()

st.caption(ui.tr("prio.top", tasks=ui.md_escape(", ".join(tasks["task_id"].astype(str).head(5)))))
if not result.run_record["parameters"]["people_exposed"]["counted"]:
    st.caption(ui.tr("prio.no_people"))

components = list(defaults)
table = pd.DataFrame(
    {
        ui.tr("col.priority_rank"): tasks["priority_rank"].astype("Int64"),
        ui.tr("col.task_id"): tasks["task_id"].astype(str),
        ui.tr("col.priority_score"): tasks["priority_score"].round(2),
        **{
            ui.tr(f"component.{c}"): tasks[f"contrib_{c}"].round(2)
            for c in components
            if f"contrib_{c}" in tasks
        },
        ui.tr("col.area_ha"): (tasks["area_m2"] / 10_000).round(2),
        ui.tr("col.farmland_ha"): (tasks.get("farmland_area_m2", 0.0) / 10_000).round(2),
        ui.tr("col.people_exposed"): tasks.get("people_exposed", 0),
        ui.tr("col.evidence_class"): tasks["evidence_class"].astype(str),
        ui.tr("col.expected_items"): [
            f"{i18n.fmt_number(lo, lang)}–{i18n.fmt_number(hi, lang)}"
            for lo, hi in zip(
                tasks["expected_items_low"], tasks["expected_items_high"], strict=True
            )
        ],
    }
)

tab_table, tab_sensitivity = st.tabs([ui.tr("prio.tab.table"), ui.tr("prio.tab.sensitivity")])

with tab_table:
    query = st.text_input(ui.tr("prio.filter"), key="prio_filter").strip().lower()
    shown = table
    if query:
        keep = table[ui.tr("col.task_id")].str.lower().str.contains(query, regex=False) | table[
            ui.tr("col.evidence_class")
        ].str.lower().str.contains(query, regex=False)
        shown = table[keep]
    st.caption(ui.tr("prio.select_hint"))
    event = st.dataframe(
        shown.head(settings.TABLE_PAGE_ROWS),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="prio_table",
    )
    rows = event.selection.rows if event is not None else []
    ids = shown[ui.tr("col.task_id")].head(settings.TABLE_PAGE_ROWS).tolist()
    picked = st.selectbox(
        ui.tr("prio.pick_task"),
        options=["", *ids],
        format_func=lambda v: v or ui.tr("prio.pick_none"),
        key="prio_pick",
    )
    task_id = shown.iloc[rows[0]][ui.tr("col.task_id")] if rows else picked
    if task_id:
        focus = tasks[tasks["task_id"].astype(str) == task_id]
        if not focus.empty:
            # Remembered at once (id and bounds only): the Map page opens on this task. A
            # page link, not st.switch_page: a link keeps every widget's state (the language
            # switch included), st.switch_page from Python resets them.
            current = st.session_state.get(viewport.FOCUS_KEY) or {}
            if current.get("task_id") != task_id:
                viewport.set_focus(task_id, focus.total_bounds)
            rank = focus["priority_rank"].iloc[0]
            st.caption(ui.tr("prio.picked", rank=rank, task=ui.md_escape(task_id)))
            st.page_link("views/map.py", label=ui.tr("prio.show_on_map"))

    st.subheader(ui.tr("prio.download"))
    if not ui.can("download_layers"):
        st.caption(ui.tr("auth.no_download"))
    else:
        columns = st.columns(3)
        for column, (fmt, mime) in zip(
            columns,
            [
                ("gpkg", "application/geopackage+sqlite3"),
                ("geojson", "application/geo+json"),
                ("csv", "text/csv"),
            ],
            strict=True,
        ):
            try:
                data = cache.tasks_file(path, version, role, weights, fmt)
            except Exception as exc:  # export failure → message, page keeps working
                ui.show_error("error.generic", exc)
                continue
            column.download_button(
                fmt.upper(),
                data=data,
                file_name=f"minemap_tasks.{fmt}",
                mime=mime,
                key=f"download_{fmt}",
                width="stretch",
                on_click=ui.audit_download,
                args=("tasks", fmt, len(tasks)),
            )

with tab_sensitivity:
    st.caption(ui.tr("prio.sensitivity_caption", pct=20))
    if st.toggle(ui.tr("prio.run_sensitivity"), key="prio_sensitivity"):
        try:
            sens = cache.prioritisation(path, version, role, weights, sensitivity=True)
        except Exception as exc:
            ui.show_error("error.risk", exc)
        else:
            ranked = sens.tasks
            top = int(sens.run_record.get("top", 10) or 10) if sens.run_record else 10
            st.dataframe(
                pd.DataFrame(
                    {
                        ui.tr("col.task_id"): ranked["task_id"].astype(str),
                        ui.tr("col.priority_rank"): ranked["priority_rank"].astype("Int64"),
                        ui.tr("col.rank_min"): ranked["rank_min"].astype("Int64"),
                        ui.tr("col.rank_max"): ranked["rank_max"].astype("Int64"),
                        ui.tr("col.top_share", n=top): ranked["top_share"].round(2),
                        ui.tr("col.depends_on"): ranked["depends_on"].astype(str),
                    }
                ),
                hide_index=True,
                width="stretch",
                key="prio_sensitivity_table",
            )
            if sens.sensitivity is not None:
                st.subheader(ui.tr("prio.scenarios"))
                scenarios = sens.sensitivity
                st.dataframe(
                    pd.DataFrame(
                        {
                            ui.tr("col.scenario"): scenarios["scenario"].astype(str),
                            ui.tr("col.kendall_tau"): scenarios["kendall_tau"].round(3),
                            ui.tr("col.top_kept"): scenarios["top_kept_share"].round(2),
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                )
