"""``minemap serve``: start the web app on a store.

Runs ``python -m minemap_app.server <installed minemap_app/app.py>`` — Streamlit's own
``streamlit run``, plus the map's warm-up started as soon as the server runs, before any
browser connects (:mod:`minemap_app.server`) — with the app folder as the working
directory (so its ``.streamlit/config.toml`` applies: static serving of the vendored map
assets, upload limit, no error details, no usage statistics) and the store passed as an
absolute path in ``$MINEMAP_STORE``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from minemap.cli._app import app
from minemap.settings import STORE_ENV, resolve_store_path

__all__ = ["app_script", "serve", "serve_command"]


def app_script() -> Path:
    """Path of the installed ``minemap_app/app.py``."""
    import minemap_app

    return Path(minemap_app.__file__).resolve().parent / "app.py"


def serve_command(*, port: int, address: str) -> list[str]:
    """The command line that starts the app server."""
    return [
        sys.executable,
        "-m",
        "minemap_app.server",
        str(app_script()),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


@app.command("serve")
def serve(
    store: Annotated[
        str | None,
        typer.Option("--store", help="Store to show (default: $MINEMAP_STORE or ./minemap.gpkg)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Interface to listen on (0.0.0.0 for all).")
    ] = "127.0.0.1",
) -> None:
    """Start the minemap web app (map, priorities, upload) in the browser."""
    env = dict(os.environ)
    location = resolve_store_path(store)
    # A file path is made absolute (the server runs in the app's folder); a URL stays as is.
    env[STORE_ENV] = location if "://" in location else os.path.abspath(location)
    # A source checkout that is not installed: make both packages importable.
    root = str(app_script().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    typer.echo(f"minemap: serving {env[STORE_ENV]} on http://{address}:{port}")
    server = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        serve_command(port=port, address=address), cwd=app_script().parent, env=env
    )

    def stop(signum: int, _frame: object) -> None:  # never leave the server orphaned
        server.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        code = server.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches the server too (same process group)
        code = server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code)
