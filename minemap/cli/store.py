"""Store administration: ``minemap store copy SRC DST``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli._common import console, err_console

__all__ = ["store_app"]


store_app = typer.Typer(help="Administer stores (GeoPackage files, PostGIS databases).")
app.add_typer(store_app, name="store", no_args_is_help=True)


@store_app.command("copy")
def copy(
    src: Annotated[str, typer.Argument(help="Source store: a .gpkg file or postgresql:// URL.")],
    dst: Annotated[
        str, typer.Argument(help="Destination store (created if missing; must be empty).")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Copy every layer, batch record and audit entry from SRC to DST, losslessly."""
    from minemap.store.copy import copy_store

    try:
        if quiet:
            summary = copy_store(src, dst)
        else:
            with Progress(
                TextColumn("copying features"),
                BarColumn(),
                TaskProgressColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("copy", total=None)
                summary = copy_store(
                    src,
                    dst,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
    except MinemapError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    per_layer = ", ".join(f"{layer} {n}" for layer, n in summary.counts.items())
    console.print(
        f"copied {summary.features} features ({per_layer}), {summary.batches} batches and "
        f"{summary.audit_entries} audit entries from {summary.source} to {summary.destination}"
        + (f"; kept {summary.derived} derived result(s) (cache)" if summary.derived else "")
    )
