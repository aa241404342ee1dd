"""The Typer application every ``minemap`` sub-command registers on."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="minemap",
    help="Prioritised mine-clearance maps with a farmland-impact risk score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
