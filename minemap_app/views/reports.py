"""Reports page (funders): hosts the report generator of ``minemap.reports`` (issue 5)."""

from __future__ import annotations

import streamlit as st

from minemap_app import cache, ui

ui.page_header("reports")
if not cache.backends().reports:
    st.info(ui.tr("backend.reports_missing"))
else:
    from minemap_app import report_hook

    report_hook.render()
