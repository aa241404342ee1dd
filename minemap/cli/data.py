"""Data commands: ``ingest``, ``layers``, ``export`` and ``batches``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.layers import LAYER_NAMES
from minemap.settings import DEFAULT_AOI, AreaOfOperations

__all__ = ["batches_app"]

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store: .gpkg file or postgresql:// URL (default: $MINEMAP_STORE, ./minemap.gpkg).",
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _check_layer(layer: str) -> str:
    if layer not in LAYER_NAMES:
        raise typer.BadParameter(
            f"{layer!r} is not a layer; choose one of {', '.join(LAYER_NAMES)}"
        )
    return layer


def _parse_aoi(text: str | None) -> AreaOfOperations:
    if not text:
        return DEFAULT_AOI
    try:
        return AreaOfOperations.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="Survey file: GeoJSON, GPKG, zipped SHP, KML, CSV.")],
    layer: Annotated[
        str,
        typer.Option(
            "--layer", help=f"Target layer: {', '.join(LAYER_NAMES)}.", callback=_check_layer
        ),
    ],
    store: StoreOption = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a source column to a field: SRC=DST (repeatable)."),
    ] = None,
    aoi: Annotated[
        str | None,
        typer.Option(
            "--aoi", help="Area of operations minlon,minlat,maxlon,maxlat (default Ukraine)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    user: Annotated[str | None, typer.Option("--user", help="Who is importing.")] = None,
    source_layer: Annotated[
        str | None, typer.Option("--source-layer", help="Layer inside a GeoPackage/KML file.")
    ] = None,
) -> None:
    """Validate a survey file and store it, all or nothing (exit 0 accepted, 1 rejected)."""
    from minemap.ingest import ingest_file, parse_mapping

    area = _parse_aoi(aoi)
    try:
        mapping = parse_mapping(map_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map") from None
    if not path.is_file():
        raise _fail(f"{path}: no such file", 2)

    def run(progress_cb=None):
        return ingest_file(
            path,
            layer,
            store=store,
            mapping=mapping,
            aoi=area,
            dry_run=dry_run,
            user=user,
            source_layer=source_layer,
            progress=progress_cb,
        )

    try:
        if as_json:
            result = run()
        else:
            with Progress(
                TextColumn("[bold]reading {task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                console=_err,
                transient=True,
            ) as bar:
                task = bar.add_task(path.name, total=None)
                result = run(lambda done, total: bar.update(task, completed=done, total=total))
    except MinemapError as exc:
        raise _fail(str(exc)) from None

    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_result(result)
    raise typer.Exit(0 if result.status == "accepted" else 1)


def _print_result(result) -> None:
    report = result.report
    if result.status == "accepted":
        verb = "would be accepted (dry run)" if result.dry_run else "accepted"
        batch = f" as batch {result.batch_id}" if result.batch_id else ""
        _out.print(f"{result.file}: {result.accepted} features {verb} into {result.layer}{batch}")
    else:
        _out.print(f"{result.file}: rejected, nothing stored ({len(report.errors)} problems)")
    for p in report.errors:
        _out.print(f"  ERROR   {p}", markup=False)
    for r in report.repairs:
        _out.print(f"  REPAIR  {r}", markup=False)
    for w in report.warnings:
        _out.print(f"  WARNING {w}", markup=False)


@app.command()
def layers(store: StoreOption = None) -> None:
    """List the layers with their feature counts."""
    from minemap.store import open_store

    try:
        counts = open_store(store).counts()
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    table = Table("layer", "features")
    for name in LAYER_NAMES:
        table.add_row(name, str(counts.get(name, 0)))
    _out.print(table)


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help="Layer to export.", callback=_check_layer)],
    out: Annotated[
        Path, typer.Option("--out", help="Output file: .gpkg, .geojson, .parquet, .csv.")
    ],
    store: StoreOption = None,
    include_personal: Annotated[
        bool,
        typer.Option(
            "--include-personal", help="Include victims' personal fields (planners only)."
        ),
    ] = False,
) -> None:
    """Export a layer to a file (victims' personal fields left out unless asked for)."""
    from minemap.io import write_layer
    from minemap.store import open_store

    try:
        frame = open_store(store, create=False).read_layer(layer, include_personal=include_personal)
        write_layer(frame, out)
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    _out.print(f"wrote {len(frame)} {layer} features to {out}")


batches_app = typer.Typer(help="List and undo import batches.", no_args_is_help=True)
app.add_typer(batches_app, name="batches")


@batches_app.command("list")
def batches_list(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List import batches, newest first."""
    from minemap.store import open_store

    try:
        records = open_store(store, create=False).list_batches()
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records], default=str, ensure_ascii=False))
        return
    table = Table("batch", "layer", "file", "features", "user", "imported (UTC)", "status")
    for r in records:
        table.add_row(
            r.batch_id,
            r.layer,
            r.file_name,
            str(r.feature_count),
            r.user or "",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            r.status,
        )
    _out.print(table)


@batches_app.command("undo")
def batches_undo(
    batch_id: Annotated[str, typer.Argument(help="Batch id (see `minemap batches list`).")],
    store: StoreOption = None,
    user: Annotated[str | None, typer.Option("--user", help="Who is undoing.")] = None,
) -> None:
    """Roll back one import batch (recorded in the audit log)."""
    from minemap.store import open_store

    try:
        record = open_store(store, create=False).undo_batch(batch_id, user=user)
    except MinemapError as exc:
        raise _fail(str(exc)) from None
    _out.print(
        f"batch {record.batch_id} undone: {record.feature_count} {record.layer} features removed"
    )
