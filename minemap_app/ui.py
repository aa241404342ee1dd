"""The frame every page shares: session defaults, language, role, messages.

Session state holds only selections (language, role, weights), initialised once from
:mod:`minemap_app.settings`; data frames stay in the caches of :mod:`minemap_app.cache`.
"""

from __future__ import annotations

import re

import streamlit as st

from minemap_app import i18n, settings

__all__ = [
    "asset_base",
    "current_role",
    "current_user",
    "init_session",
    "lang",
    "md_escape",
    "page_header",
    "remember",
    "show_error",
    "tr",
    "widget_key",
]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def init_session() -> None:
    """Set the session's selections to their defaults, once."""
    st.session_state.setdefault("lang", settings.DEFAULT_LANG)
    st.session_state.setdefault("role", settings.DEFAULT_ROLE)
    st.session_state.setdefault("user", None)


def lang() -> str:
    """The session's interface language (``uk`` or ``en``)."""
    value = st.session_state.get("lang", settings.DEFAULT_LANG)
    return value if value in settings.LANGUAGES else settings.DEFAULT_LANG


def tr(key: str, **values: object) -> str:
    """The text for ``key`` in the session's language."""
    return i18n.t(key, lang(), **values)


def widget_key(name: str, default: object) -> str:
    """A per-language key for a widget whose labels depend on the language.

    Streamlit matches a selectbox/radio/multiselect value through its formatted label, so
    a language switch would lose the selection. Each language gets its own widget; the raw
    (language-neutral) value carries over through ``_selections``. Pass no ``default``/
    ``index`` to the widget itself: its value comes from session state.
    """
    key = f"{name}__{lang()}"
    saved = st.session_state.setdefault("_selections", {})
    if key not in st.session_state:
        st.session_state[key] = saved.get(name, default)
    return key


def remember(name: str, value: object) -> None:
    """Record a widget's raw value so the other language's widget starts from it."""
    st.session_state.setdefault("_selections", {})[name] = value


def current_role() -> str:
    """The session's role. Sign-in (issue 6) will set it; until then the default applies."""
    return str(st.session_state.get("role", settings.DEFAULT_ROLE))


def current_user() -> str | None:
    """The signed-in user's name (``None`` until sign-in exists)."""
    return st.session_state.get("user")


def md_escape(text: object) -> str:
    """Escape Markdown (and thereby HTML) in user-supplied text for ``st.*`` messages."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def show_error(key: str, problem: object) -> None:
    """A clear, escaped error message (never a traceback)."""
    st.error(tr(key, problem=md_escape(problem)))


def page_header(prefix: str) -> None:
    """Title and one-paragraph description of a page."""
    st.title(tr(f"{prefix}.title"))
    st.caption(tr(f"{prefix}.caption"))


def asset_base() -> str:
    """URL prefix of the vendored web assets, honouring ``server.baseUrlPath``."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/vendor" if base else "/app/static/vendor"
