"""``minemap report``: the funder progress report as PDF, XLSX or CSV."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.reports import FORMATS, LANGS, build_report, render

__all__ = ["report", "write_output"]

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)
_LAYERS = ("cleared", "hazards", "farmland", "casualties")


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then
    rename), so a failed run never leaves half a report behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _date(text: str | None, option: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} needs a date YYYY-MM-DD; got {text!r}") from None


def _fail(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(1)


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Output file: .pdf, .xlsx or .csv.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option("--area", help="Oblast/hromada name or KATOTTH code (needs --boundaries)."),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries", help="Admin boundaries (GeoJSON/GPKG with a name column) for the map."
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language: uk or en.")] = "en",
    store: Annotated[
        str | None,
        typer.Option("--store", help="Store file (default: $MINEMAP_STORE, else ./minemap.gpkg)."),
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Report author named in the PDF.")
    ] = None,
    weights_version: Annotated[
        str | None, typer.Option("--weights-version", help="Priority weights version to state.")
    ] = None,
) -> None:
    """Write the funder progress report (no personal data; small counts suppressed)."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"--out must end in .pdf, .xlsx or .csv; got {out.name!r}", param_hint="--out"
        )
    if lang not in LANGS:
        raise typer.BadParameter(f"choose uk or en; got {lang!r}", param_hint="--lang")
    start, end = _date(from_, "--from"), _date(to, "--to")
    if area and boundaries is None:
        raise typer.BadParameter("--area needs --boundaries FILE", param_hint="--area")
    if not out.parent.exists():
        raise _fail(f"the folder of {out} does not exist")

    from minemap.settings import resolve_store_path

    try:
        from minemap.store import open_store
    except ImportError:
        raise _fail("the store module (minemap.store) is not installed") from None

    try:
        db = open_store(resolve_store_path(store), create=False)
        # the funder-safe view: personal fields are never requested
        layers = {name: db.read_layer(name) for name in _LAYERS}
        batches = db.list_batches()
        admin = None
        if boundaries is not None:
            from minemap.io import read_upload

            admin = read_upload(boundaries, display_name=boundaries.name).frame
        data = build_report(
            layers,
            start=start,
            end=end,
            area=area,
            boundaries=admin,
            batches=batches,
            author=author,
            weights_version=weights_version,
        )
        payload = render(data, fmt, lang=lang)
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot read input: {exc.strerror or exc}") from None
    try:
        write_output(out, payload)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    _out.print(f"report written: {out} ({len(payload):,} bytes, {fmt}, {lang})")
