"""Data quality page: rejections, repairs, overlapping released land, unattributed records."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from minemap_app import cache, i18n, ui

ui.require("view_own_batches")
ui.page_header("quality")
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
user = ui.current_user()
RECENT = 20

try:
    version = cache.data_version(path)
    history = cache.batches(path, version, role, user)[:RECENT]
except Exception as exc:  # a damaged store → message
    ui.show_error("error.store", exc)
    st.stop()


def when(value) -> str:
    return f"{i18n.fmt_date(value, lang)} {value:%H:%M} UTC"


st.subheader(ui.tr("quality.batches"))
if not history:
    st.caption(ui.tr("quality.no_batches"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("col.when"): [when(b.created_at) for b in history],
                ui.tr("col.layer"): [ui.tr(f"layer.{b.layer}") for b in history],
                ui.tr("col.file"): [b.file_name for b in history],
                ui.tr("col.features"): [b.feature_count for b in history],
                ui.tr("col.repairs"): [b.repair_count for b in history],
                ui.tr("col.warnings"): [b.warning_count for b in history],
                ui.tr("col.status"): [ui.tr(f"upload.status.{b.status}") for b in history],
            }
        ),
        hide_index=True,
        width="stretch",
        key="quality_batches",
    )

st.subheader(ui.tr("quality.rejections"))
rejected = cache.rejections(path, cache.audit_version(path), role, user).head(RECENT)
if rejected.empty:
    st.caption(ui.tr("quality.no_rejections"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("col.when"): [when(t) for t in rejected["at"]],
                ui.tr("col.file"): [d.get("file", "") for d in rejected["detail"]],
                ui.tr("col.layer"): [d.get("layer", "") for d in rejected["detail"]],
                ui.tr("col.errors"): [d.get("errors", 0) for d in rejected["detail"]],
                ui.tr("col.problem"): [
                    "; ".join(d.get("problems", [])[:3]) for d in rejected["detail"]
                ],
            }
        ),
        hide_index=True,
        width="stretch",
        key="quality_rejections",
    )

st.subheader(ui.tr("quality.repairs"))
repairs = [{"file": b.file_name, **r} for b in history for r in (b.report or {}).get("repairs", [])]
if not repairs:
    st.caption(ui.tr("quality.no_repairs"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("col.file"): [r["file"] for r in repairs],
                ui.tr("col.feature"): [r.get("feature", "") for r in repairs],
                ui.tr("col.field"): [r.get("field", "") for r in repairs],
                ui.tr("col.problem"): [r.get("problem", "") for r in repairs],
                ui.tr("col.repair"): [r.get("repair", "") for r in repairs],
            }
        ),
        hide_index=True,
        width="stretch",
        key="quality_repairs",
    )

st.subheader(ui.tr("quality.overlaps"))
overlaps = cache.released_overlaps(path, version, role)
if overlaps.empty:
    st.caption(ui.tr("quality.no_overlaps"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                ui.tr("col.a"): overlaps["a"],
                ui.tr("col.b"): overlaps["b"],
                ui.tr("col.overlap_m2"): overlaps["overlap_m2"].round(0),
            }
        ),
        hide_index=True,
        width="stretch",
        key="quality_overlaps",
    )

if ui.can("view_tasks"):
    st.subheader(ui.tr("quality.outside"))
    st.caption(ui.tr("quality.outside_caption"))
    try:
        unattributed = cache.prioritisation(
            path, version, role, st.session_state.get("weights")
        ).unattributed
    except Exception as exc:
        ui.show_error("error.risk", exc)
    else:
        if unattributed.empty:
            st.caption(ui.tr("quality.no_outside"))
        else:
            st.dataframe(
                pd.DataFrame(
                    {
                        ui.tr("col.layer"): [ui.tr(f"layer.{x}") for x in unattributed["layer"]],
                        ui.tr("col.record"): unattributed["record_id"].astype(str),
                        ui.tr("col.reason"): unattributed["reason"].astype(str),
                    }
                ),
                hide_index=True,
                width="stretch",
                key="quality_outside",
            )
