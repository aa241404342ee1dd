"""The frame every page shares: session defaults, language, role, messages.

Session state holds only selections (language, role, weights), initialised once from
:mod:`minemap_app.settings`; data frames stay in the caches of :mod:`minemap_app.cache`.
"""

from __future__ import annotations

import re

import streamlit as st

from minemap import auth
from minemap_app import i18n, settings

__all__ = [
    "asset_base",
    "audit_download",
    "can",
    "current_role",
    "current_user",
    "denied",
    "init_session",
    "lang",
    "md_escape",
    "page_header",
    "remember",
    "require",
    "show_error",
    "tr",
    "widget_key",
]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def init_session() -> None:
    """Set the session's selections to their defaults, once."""
    st.session_state.setdefault("lang", settings.DEFAULT_LANG)
    # No default role: nobody is signed in until the router resolves a session token.
    st.session_state.setdefault("role", None)
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


def current_role() -> str | None:
    """The signed-in session's role (set by the router each run); ``None``: nobody."""
    role = st.session_state.get("role")
    return str(role) if role else None


def current_user() -> str | None:
    """The signed-in account's name; ``None`` when nobody is signed in."""
    return st.session_state.get("user")


def can(action: str) -> bool:
    """Whether the session's role may do ``action`` (:func:`minemap.auth.can`)."""
    return auth.can(current_role(), action)


def require(*actions: str) -> None:
    """Stop the page with a clear message unless the role may do one of ``actions``.

    Pages call this at the top (and before each action) although the router only lists
    the pages a role may open: hiding a page is not enforcement.
    """
    role = current_role()
    if any(auth.can(role, action) for action in actions):
        return
    try:
        auth.require(role, actions[0])
    except auth.AccessDenied as exc:
        denied(exc)


def audit_download(what: str, fmt: str, rows: int | None = None, action: str = "download") -> None:
    """``on_click`` of a download button: write who downloaded what to the audit log."""
    from minemap_app import cache

    detail: dict[str, object] = {"what": what, "format": fmt, "role": current_role()}
    if rows is not None:
        detail["rows"] = int(rows)
    cache.record(cache.store_path(), action, user=current_user(), detail=detail)


def denied(exc: Exception) -> None:
    """Show a refusal (:class:`AccessDenied`) as a message and stop the page."""
    st.error(tr("auth.denied", problem=md_escape(exc)))
    st.stop()


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
