"""What every command module shares: the consoles, the ``--store`` option, failing cleanly."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

__all__ = ["StoreOption", "console", "err_console", "fail"]

console = Console(highlight=False, soft_wrap=True)
"""Standard output: results."""
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
"""Standard error: progress bars and error messages."""

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store: .gpkg file or postgresql:// URL (default: $MINEMAP_STORE, ./minemap.gpkg).",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on standard error; return the Exit to raise (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)
