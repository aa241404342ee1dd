"""Entry point and router of the minemap web app: ``streamlit run minemap_app/app.py``.

Sets up the page, the shared sidebar (language, who is signed in), resolves the session
(nobody signed in → only the sign-in page) and builds the navigation from what the role
may do (:func:`minemap.auth.can`); each page in ``views/`` checks again, reads widgets,
calls :mod:`minemap_app.cache` and renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

try:
    from minemap_app import auth_session, cache, i18n, settings, ui
except ModuleNotFoundError:  # run from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from minemap_app import auth_session, cache, i18n, settings, ui
from minemap import auth

# A local icon: a ":material/…:" page icon would be fetched from the internet.
st.set_page_config(
    page_title="minemap",
    page_icon=str(Path(__file__).resolve().parent / "static" / "favicon.png"),
    layout="wide",
)
ui.init_session()
path = cache.store_path()
# Once per store version, compute the map's default view in the background: `minemap
# serve` starts this when the server starts (minemap_app.server); here it starts again
# after the data changed (or on a server started with plain `streamlit run`).
cache.warm_map(path)

with st.sidebar:
    st.radio(
        i18n.t("app.language", settings.DEFAULT_LANG),
        options=settings.LANGUAGES,
        format_func=lambda code: {"uk": "Українська", "en": "English"}[code],
        key="lang",
        horizontal=True,
    )

# Who is this? Resolved on every run from the server-side session token (or the SSO
# identity), so an ended session, a disabled account or a changed role apply at once.
auth_session.resolve(path)
role = ui.current_role()

# Not "pages/": Streamlit would treat that folder as an old-style multipage app and run a
# page without this router when its URL is opened directly.
_PAGES = Path(__file__).resolve().parent / "views"
_ALL = [
    # (file, url path, title key, icon, any of these actions opens it)
    ("map.py", "map", "nav.map", ":material/map:", ("view_map",)),
    (
        "priorities.py",
        "priorities",
        "nav.priorities",
        ":material/format_list_numbered:",
        ("view_tasks",),
    ),
    ("upload.py", "upload", "nav.upload", ":material/upload_file:", ("upload",)),
    ("reports.py", "reports", "nav.reports", ":material/description:", ("view_reports",)),
    ("quality.py", "quality", "nav.quality", ":material/fact_check:", ("view_own_batches",)),
    (
        "backtest.py",
        "backtest",
        "nav.backtest",
        ":material/query_stats:",
        settings.BACKTEST_ACTIONS,
    ),
    (
        "admin.py",
        "admin",
        "nav.admin",
        ":material/admin_panel_settings:",
        ("manage_users", "view_audit"),
    ),
]
allowed = [entry for entry in _ALL if any(auth.can(role, a) for a in entry[4])]
if not allowed:
    pages = [
        st.Page(
            _PAGES / "signin.py",
            title=ui.tr("nav.signin"),
            icon=":material/login:",
            url_path="signin",
            default=True,
        )
    ]
else:
    pages = [
        st.Page(_PAGES / file, title=ui.tr(title), icon=icon, url_path=url, default=i == 0)
        for i, (file, url, title, icon, _) in enumerate(allowed)
    ]
    with st.sidebar:
        st.caption(
            ui.tr(
                "auth.signed_in_as",
                user=ui.md_escape(ui.current_user()),
                role=ui.tr(f"role.{role}"),
            )
        )
        st.button(
            ui.tr("auth.sign_out"), on_click=auth_session.sign_out, args=(path,), key="sign_out"
        )
st.navigation(pages).run()
