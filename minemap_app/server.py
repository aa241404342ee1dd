"""The app server: Streamlit's own ``streamlit run``, with the map warmed at server start.

``minemap serve`` runs ``python -m minemap_app.server <app.py> [streamlit options]`` (in the
app's folder, so its ``.streamlit/config.toml`` applies, exactly as with
``python -m streamlit run``). Before handing over to Streamlit's command line, this starts
one background thread that waits until Streamlit's runtime is up and then starts
:func:`minemap_app.cache.warm_map` on the store of ``$MINEMAP_STORE``: the layers of the
map's default view and the priority engine's run as of the period's end are computed while
no browser is connected yet, instead of from the first page load on (Streamlit runs no app
code before a browser connects).

The warm-up uses the same module (and so the same ``st.cache_data``/``st.cache_resource``
entries) as the app script, which imports ``minemap_app.cache`` from the same
``sys.modules``. A failure is only logged by its exception type (its text could quote
data); the pages then compute what they need themselves and show the messages.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time

__all__ = ["main", "warm_when_running"]

_LOG = logging.getLogger("minemap_app.server")
_APP_LOG = logging.getLogger("minemap_app")

_CORE_MODULES = (
    "geopandas",
    "minemap.auth",
    "minemap.ingest",
    "minemap.reports",
    "minemap.risk.pipeline",
    "minemap.store",
    "minemap.webmap",
)
"""What :mod:`minemap_app.cache` imports that takes long (none of them imports streamlit)."""

RUNTIME_WAIT_S = 120.0
"""How long the warm-up waits for Streamlit's runtime to start before giving up."""


def _runtime_running() -> bool:
    from streamlit import runtime
    from streamlit.runtime.runtime import RuntimeState

    if not runtime.exists():
        return False
    return runtime.get_instance().state in (
        RuntimeState.NO_SESSIONS_CONNECTED,
        RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED,
    )


def _warm(timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    try:
        # The core the warm-up needs (geopandas, the engine, the map: seconds on a busy
        # machine) is imported while Streamlit starts, not after.
        for module in _CORE_MODULES:
            importlib.import_module(module)
        # The caches must be the runtime's: st.cache_data keeps its entries in the
        # runtime's storage (and warns, at decoration, when there is none yet).
        while not _runtime_running():
            if time.monotonic() > deadline:
                _LOG.warning("not warming the map: the server did not start")
                return
            time.sleep(0.05)
        # The same module object the app script imports (sys.modules): the same caches.
        from minemap_app import cache

        started = time.monotonic()
        thread = cache.warm_map(cache.store_path())
        if thread is None:
            return
        _LOG.info("warming the map's default view at server start")
        thread.join()
        _LOG.info("map warmed in %.1f s", time.monotonic() - started)
    except Exception as exc:  # never the text: it could quote data
        _LOG.warning("not warming the map: %s", type(exc).__name__)


def warm_when_running(*, timeout_s: float = RUNTIME_WAIT_S) -> threading.Thread:
    """Start the thread that warms the map once Streamlit's runtime runs; return it."""
    thread = threading.Thread(
        target=_warm, args=(timeout_s,), name="minemap-warm-at-start", daemon=True
    )
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    """``python -m minemap_app.server APP.py [streamlit run options]``."""
    args = sys.argv[1:] if argv is None else list(argv)
    from streamlit.web import cli as streamlit_cli

    # The app's own log lines (warm-up started/done, failures by type) go to the server's
    # stderr beside Streamlit's; without a handler Python prints warnings only.
    if not _APP_LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _APP_LOG.addHandler(handler)
        _APP_LOG.setLevel(logging.INFO)
        _APP_LOG.propagate = False
    warm_when_running()
    sys.argv = ["streamlit", "run", *args]
    streamlit_cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
