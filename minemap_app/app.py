"""Entry point and router of the minemap web app: ``streamlit run minemap_app/app.py``.

Sets up the page, the shared sidebar (language) and the navigation; each page in
``views/`` reads widgets, calls :mod:`minemap_app.cache` and renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

try:
    from minemap_app import i18n, settings, ui
except ModuleNotFoundError:  # run from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from minemap_app import i18n, settings, ui

# A local icon: a ":material/…:" page icon would be fetched from the internet.
st.set_page_config(
    page_title="minemap",
    page_icon=str(Path(__file__).resolve().parent / "static" / "favicon.png"),
    layout="wide",
)
ui.init_session()

with st.sidebar:
    st.radio(
        i18n.t("app.language", settings.DEFAULT_LANG),
        options=settings.LANGUAGES,
        format_func=lambda code: {"uk": "Українська", "en": "English"}[code],
        key="lang",
        horizontal=True,
    )

# Not "pages/": Streamlit would treat that folder as an old-style multipage app and run a
# page without this router when its URL is opened directly.
_PAGES = Path(__file__).resolve().parent / "views"
pages = [
    st.Page(
        _PAGES / "map.py",
        title=ui.tr("nav.map"),
        icon=":material/map:",
        url_path="map",
        default=True,
    ),
    st.Page(
        _PAGES / "priorities.py",
        title=ui.tr("nav.priorities"),
        icon=":material/format_list_numbered:",
        url_path="priorities",
    ),
    st.Page(
        _PAGES / "upload.py",
        title=ui.tr("nav.upload"),
        icon=":material/upload_file:",
        url_path="upload",
    ),
    st.Page(
        _PAGES / "reports.py",
        title=ui.tr("nav.reports"),
        icon=":material/description:",
        url_path="reports",
    ),
    st.Page(
        _PAGES / "quality.py",
        title=ui.tr("nav.quality"),
        icon=":material/fact_check:",
        url_path="quality",
    ),
]
st.navigation(pages).run()
