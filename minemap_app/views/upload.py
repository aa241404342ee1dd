"""Upload page (field teams): check files, see every problem and repair, import all or none."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from minemap import webmap
from minemap.layers import LAYER_NAMES
from minemap_app import cache, i18n, settings, ui

ui.require("upload")
ui.page_header("upload")
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
MAX_ROWS = 200

if flash := st.session_state.pop("upload_flash", None):
    st.success(flash)
st.session_state.setdefault("upload_round", 0)

layer_name = st.selectbox(
    ui.tr("upload.layer"),
    options=LAYER_NAMES,
    format_func=lambda name, lang=lang: i18n.t(f"layer.{name}", lang),
    key=ui.widget_key("upload_layer", settings.DEFAULT_UPLOAD_LAYER),
)
ui.remember("upload_layer", layer_name)
files = st.file_uploader(
    ui.tr("upload.files"),
    accept_multiple_files=True,
    key=f"upload_files_{st.session_state['upload_round']}",  # a new key empties the list
)
files = list(files or [])

limit_bytes = settings.MAX_UPLOAD_MB * 1024 * 1024
too_big = [f for f in files if f.size > limit_bytes]
for f in too_big:  # the server refuses these already; say so in plain words too
    st.error(
        ui.tr(
            "upload.too_big",
            file=ui.md_escape(f.name),
            size=i18n.fmt_number(f.size / 1024 / 1024, lang, decimals=1),
            limit=settings.MAX_UPLOAD_MB,
        )
    )
files = [f for f in files if f.size <= limit_bytes]


def _problems(records: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(columns))
    return frame.rename(columns={k: ui.tr(v) for k, v in columns.items()})


def _show_report(result) -> None:
    report = result.report
    errors = [p.to_dict() for p in report.errors]
    repairs = [r.to_dict() for r in report.repairs]
    warnings = [w.to_dict() for w in report.warnings]
    problem_cols = {"feature": "col.feature", "field": "col.field", "problem": "col.problem"}
    problem_cols["fix"] = "col.fix"
    repair_cols = {
        "feature": "col.feature",
        "field": "col.field",
        "problem": "col.problem",
        "repair": "col.repair",
    }
    if not (errors or repairs or warnings):
        st.caption(ui.tr("upload.none_ok"))
    for title, records, columns in (
        ("upload.errors", errors, problem_cols),
        ("upload.repairs", repairs, repair_cols),
        ("upload.warnings", warnings, problem_cols),
    ):
        if not records:
            continue
        st.markdown(f"**{ui.tr(title)}** ({len(records)})")
        # st.table renders text as text (never HTML) and stays readable in the browser.
        st.table(_problems(records[:MAX_ROWS], columns))
        if len(records) > MAX_ROWS:
            st.caption(ui.tr("upload.more", n=len(records) - MAX_ROWS))
    if errors or repairs or warnings:
        rows = (
            [{"kind": "error", **e} for e in errors]
            + [{"kind": "repair", **r} for r in repairs]
            + [{"kind": "warning", **w} for w in warnings]
        )
        st.download_button(
            ui.tr("upload.report_csv"),
            data=pd.DataFrame(rows).to_csv(index=False).encode("utf-8"),
            file_name="minemap_validation_report.csv",
            mime="text/csv",
            key=f"report_{result.file}",
            on_click=ui.audit_download,
            args=("validation_report", "csv", len(rows)),
        )


results = []
if files:
    version = cache.data_version(path)
    for f in files:
        try:
            result = cache.check_upload(path, version, role, layer_name, f.name, f.getvalue())
        except Exception as exc:  # ingest promises not to raise; if it does, say so clearly
            ui.show_error("error.generic", exc)
            continue
        results.append((f, result))
        with st.container(border=True):
            name = ui.md_escape(f.name)
            if result.status == "accepted":
                st.success(ui.tr("upload.ok", file=name, n=i18n.fmt_number(result.accepted, lang)))
            else:
                n = len(result.report.errors)
                st.error(ui.tr("upload.rejected", file=name, n=i18n.fmt_number(n, lang)))
                # Record each rejection once per session, for the Data quality page.
                seen = st.session_state.setdefault("recorded_rejections", set())
                if (f.file_id, layer_name) not in seen:
                    seen.add((f.file_id, layer_name))
                    cache.record_rejection(path, result, user=ui.current_user())
            _show_report(result)
            frame = result.frame
            if frame is not None and len(frame) and frame.geometry.notna().any():
                st.caption(ui.tr("upload.preview"))
                preview = webmap.build_map(
                    {layer_name: frame[frame.geometry.notna()]},
                    admin=cache.admin_boundaries(),
                    options=webmap.MapOptions(
                        asset_base=ui.asset_base(),
                        text=i18n.map_text(lang),
                        decimal_comma=lang == "uk",
                        language=lang,
                        height_px=360,
                    ),
                )
                st_folium(
                    preview,
                    key=f"preview_{f.file_id}",
                    height=360,
                    use_container_width=True,
                    returned_objects=[],
                )
else:
    st.caption(ui.tr("upload.nothing"))

all_ok = bool(results) and all(r.status == "accepted" for _, r in results) and not too_big
if results and not all_ok:
    st.warning(ui.tr("upload.blocked"))
if st.button(ui.tr("upload.commit"), disabled=not all_ok, type="primary", key="upload_commit"):
    committed: list[str] = []
    failure = None
    for f, _ in results:
        try:
            done = cache.commit_upload(
                path, layer_name, f.name, f.getvalue(), role=role, user=ui.current_user()
            )
        except Exception as exc:
            failure = (f.name, str(exc))
            break
        if done.status != "accepted" or not done.batch_id:
            failure = (f.name, "; ".join(str(p) for p in done.report.errors))
            break
        committed.append(done.batch_id)
    if failure is not None:
        for batch_id in committed:  # all-or-nothing across the files of one import
            cache.rollback(path, batch_id, role=role, user=ui.current_user())
        st.error(
            ui.tr(
                "upload.rolled_back",
                file=ui.md_escape(failure[0]),
                problem=ui.md_escape(failure[1]),
            )
        )
    else:
        st.cache_data.clear()
        st.session_state["upload_flash"] = ui.tr(
            "upload.committed", n=len(committed), batches=", ".join(committed)
        )
        st.session_state["upload_round"] += 1
        st.rerun()

st.subheader(ui.tr("upload.history"))
history = cache.batches(path, cache.data_version(path), role, ui.current_user())
if not history:
    st.caption(ui.tr("quality.no_batches"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("col.batch_id"): [b.batch_id for b in history],
                ui.tr("col.layer"): [ui.tr(f"layer.{b.layer}") for b in history],
                ui.tr("col.file"): [b.file_name for b in history],
                ui.tr("col.user"): [b.user or "–" for b in history],
                ui.tr("col.when"): [
                    f"{i18n.fmt_date(b.created_at, lang)} {b.created_at:%H:%M} UTC" for b in history
                ],
                ui.tr("col.features"): [b.feature_count for b in history],
                ui.tr("col.status"): [ui.tr(f"upload.status.{b.status}") for b in history],
            }
        ),
        hide_index=True,
        width="stretch",
        key="upload_history",
    )
    active = [b.batch_id for b in history if b.active]
    if not ui.can("undo_batch"):
        st.caption(ui.tr("upload.undo_role"))
    elif active:
        columns = st.columns([3, 1], vertical_alignment="bottom")
        chosen = columns[0].selectbox(ui.tr("upload.undo_pick"), options=active, key="undo_pick")
        if columns[1].button(ui.tr("upload.undo"), key="undo_button"):
            ui.require("undo_batch")
            try:
                cache.undo_batch(path, chosen, role=role, user=ui.current_user())
            except Exception as exc:
                ui.show_error("error.generic", exc)
            else:
                st.session_state["upload_flash"] = ui.tr(
                    "upload.undone", batch=ui.md_escape(chosen)
                )
                st.rerun()
