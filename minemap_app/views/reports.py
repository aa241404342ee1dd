"""Reports page (funders): hosts the report generator of ``minemap.reports`` (issue 5)."""

from __future__ import annotations

from minemap_app import report_hook, ui

ui.require("view_reports")
ui.page_header("reports")
report_hook.render()
