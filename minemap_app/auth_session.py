"""Who is signed in: the session token (or SSO identity) → role and user, every run.

Only the session token lives in ``st.session_state["auth_token"]`` (never in the URL or
a cookie of ours); each run resolves it with :func:`minemap.auth.session_user`, so an
expired session, a disabled account or a changed role apply at once. With ``[auth]`` in
``.streamlit/secrets.toml``, Streamlit's ``st.login`` (OIDC) is offered as well and the
identity is mapped to a role by :func:`minemap.auth.oidc_sign_in` once per session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from minemap import auth
from minemap_app import cache

__all__ = ["SESSION_KEYS", "clear", "oidc_configured", "resolve", "sign_in", "sign_out"]

SESSION_KEYS = ("auth_token", "oidc_identity", "role", "user")


def oidc_configured() -> bool:
    """Whether single sign-on is configured (``[auth]`` in the secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: no SSO
        return False


def _oidc_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def clear() -> None:
    """Forget everything of the signed-in person (keep only the language)."""
    lang = st.session_state.get("lang")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if lang is not None:
        st.session_state["lang"] = lang
    st.session_state["role"] = None
    st.session_state["user"] = None


def _set(role: str | None, user: str | None) -> None:
    st.session_state["role"] = role
    st.session_state["user"] = user


def _resolve_oidc(path: str) -> bool:
    """Map a logged-in SSO identity to a role, once per session; True when signed in."""
    known = st.session_state.get("oidc_identity")
    if known is None:
        try:
            config = st.secrets.get("minemap", {}).get("oidc")
            identity = cache.oidc_sign_in(path, st.user.to_dict(), auth.parse_role_map(config))
        except auth.AuthError as exc:
            st.session_state["auth_message"] = str(exc)
            return False
        known = {"name": identity.name, "role": identity.role}
        st.session_state["oidc_identity"] = known
    _set(known["role"], known["name"])
    return True


def resolve(path: str) -> Any:
    """Set ``role``/``user`` in the session from its token (or SSO identity), or clear them."""
    token = st.session_state.get("auth_token")
    if token:
        account = cache.account(path, token)
        if account is not None:
            _set(account.role, account.name)
            return account
        clear()
        st.session_state["auth_message_key"] = "auth.session_over"
        return None
    if oidc_configured() and _oidc_logged_in() and _resolve_oidc(path):
        return st.session_state["oidc_identity"]
    _set(None, None)
    return None


def sign_in(path: str, name: str, password: str) -> None:
    """Password sign-in; keeps only the token. Raises :class:`minemap.auth.AuthError`."""
    session = cache.sign_in(path, name, password)
    clear()
    st.session_state["auth_token"] = session.token


def sign_out(path: str) -> None:
    """End the session (audited), forget it, and log out of SSO if that was used."""
    token = st.session_state.get("auth_token")
    was_oidc = st.session_state.get("oidc_identity") is not None
    cache.sign_out(path, token)
    clear()
    if was_oidc:
        st.logout()
