"""``minemap demo``: a fresh store with the bundled demo data, then the web app on it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli.serve import serve

__all__ = ["demo"]


@app.command("demo")
def demo(
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="Where to create the demo store (default: a new temp folder)."
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Interface to listen on.")
    ] = "127.0.0.1",
    load_only: Annotated[
        bool, typer.Option("--load-only", help="Create the demo store and exit; don't serve.")
    ] = False,
) -> None:
    """Load the bundled demo region into a fresh store and start the app on it."""
    from minemap.auth.accounts import demo_accounts
    from minemap.demo import load_demo
    from minemap.store import open_store

    if store is None:
        store = Path(tempfile.mkdtemp(prefix="minemap-demo-")) / "demo.gpkg"
    elif store.exists():
        typer.echo(
            f"error: {store} exists; the demo needs a fresh store (choose a new path)", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"minemap demo: loading the bundled demo data into {store}")

    def said(result) -> None:
        repairs = (
            f", {len(result.report.repairs)} repairs recorded" if result.report.repairs else ""
        )
        typer.echo(f"  {result.layer:<11} {result.accepted:>6} features{repairs}")

    try:
        load_demo(store, on_layer=said)
        accounts = demo_accounts(open_store(store))
    except MinemapError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("demo accounts (this store only; passwords are not saved anywhere, copy them now):")
    for name, role, password in accounts:
        typer.echo(f"  {role:<8} {name:<14} {password}")
    if load_only:
        return
    serve(store=str(store), port=port, address=address)
