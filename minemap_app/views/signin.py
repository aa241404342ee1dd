"""Sign-in page: the only page a session without a valid token sees."""

from __future__ import annotations

import streamlit as st

from minemap import auth
from minemap_app import auth_session, cache, ui

ui.page_header("signin")
path = cache.store_path()

if key := st.session_state.pop("auth_message_key", None):
    st.info(ui.tr(key))
if message := st.session_state.pop("auth_message", None):
    st.error(ui.md_escape(message))

if not cache.has_accounts(path):
    # `minemap serve` never creates credentials; the operator makes the first account.
    st.warning(ui.tr("signin.no_accounts"))

with st.form("signin_form", clear_on_submit=True):  # the password never lingers
    name = st.text_input(ui.tr("signin.name"), key="signin_name", autocomplete="username")
    password = st.text_input(
        ui.tr("signin.password"),
        type="password",
        key="signin_password",
        autocomplete="current-password",
    )
    submitted = st.form_submit_button(ui.tr("signin.submit"), type="primary")

if submitted:
    try:
        auth_session.sign_in(path, name, password)
    except auth.AuthError as exc:  # the core's message is safe to show (names no secret)
        st.error(ui.md_escape(exc))
    else:
        st.rerun()

if auth_session.oidc_configured():
    st.divider()
    st.button(ui.tr("signin.sso"), on_click=st.login, key="signin_sso")
