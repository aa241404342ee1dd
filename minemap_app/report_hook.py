"""The one place the Reports page meets ``minemap.reports`` (issue 5).

The generator is built on its own branch; until it is merged and wired here, the page says
so. Wiring it means: period/area widgets → a cached call of the generator on
(store path, data_version, period, area, language) → ``st.download_button`` with the bytes.
"""

from __future__ import annotations

import streamlit as st

from minemap_app import ui

__all__ = ["render"]


def render() -> None:
    """Render the report controls (not wired to the generator yet: says so honestly)."""
    st.info(ui.tr("backend.reports_missing"))
