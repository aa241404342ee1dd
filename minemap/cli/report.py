"""``minemap report``: the funder progress report as PDF, XLSX or CSV."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli._common import StoreOption, console, fail
from minemap.reports import FORMATS, LANGS, build_report, render

__all__ = ["report", "write_output"]

_LAYERS = ("cleared", "hazards", "farmland", "casualties", "strikes", "settlements")


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
        typer.Option(
            "--area",
            help="Oblast name (bundled outlines), or hromada name/KATOTTH code with --boundaries.",
        ),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries",
            help="Admin boundaries (GeoJSON/GPKG with a name column); default: bundled oblasts.",
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language: uk or en.")] = "en",
    store: StoreOption = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Report author named in the PDF.")
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            help="Weights TOML for the plan's ranking (default: shipped set); its name, "
            "version and hash are stated in the methods section.",
        ),
    ] = None,
    plan_top: Annotated[
        int,
        typer.Option(
            "--plan-top",
            min=0,
            help="Tasks completed vs planned: the N top-ranked tasks as of the period start "
            "(0: leave out).",
        ),
    ] = 20,
    backtest: Annotated[
        Path | None,
        typer.Option(
            "--backtest",
            help="Back-test result (minemap backtest --out FILE.json) to summarise in methods.",
        ),
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
    if not out.parent.exists():
        raise fail(f"the folder of {out} does not exist")
    backtest_data = None
    if backtest is not None:
        import json

        try:
            backtest_data = json.loads(backtest.read_text(encoding="utf-8"))
        except OSError as exc:
            raise fail(f"cannot read {backtest}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(f"{backtest.name} is not a back-test JSON file: {exc}") from None

    from minemap.risk.weights import load_weights
    from minemap.settings import resolve_store_path
    from minemap.store import open_store

    try:
        chosen = load_weights(weights) if weights is not None else None
        db = open_store(resolve_store_path(store), create=False)
        # the funder-safe view: personal fields are never requested
        counts = db.counts()
        layers = {name: db.read_layer(name) for name in _LAYERS if counts.get(name, 0) > 0}
        batches = db.list_batches()
        if boundaries is not None:
            from minemap.io import read_upload

            admin = read_upload(boundaries, display_name=boundaries.name).frame
        else:
            from minemap.webmap import admin_boundaries

            admin = admin_boundaries()
        data = build_report(
            layers,
            start=start,
            end=end,
            area=area,
            boundaries=admin,
            batches=batches,
            author=author,
            weights=chosen,
            plan_top=plan_top,
            backtest=backtest_data,
        )
        payload = render(data, fmt, lang=lang)
    except MinemapError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot read input: {exc.strerror or exc}") from None
    try:
        write_output(out, payload)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"report written: {out} ({len(payload):,} bytes, {fmt}, {lang})")
