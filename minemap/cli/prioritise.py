"""``minemap prioritise``: rank clearance tasks from the store and explain the ranking."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli._common import StoreOption, console, err_console, fail

__all__ = ["prioritise_command", "run_record_path", "write_tasks"]


OUT_FORMATS = (".gpkg", ".geojson", ".parquet", ".csv")
_SHORT = {
    "casualty_risk": "casualties",
    "expected_items": "items",
    "people_exposed": "people",
    "evidence_strength": "evidence",
    "farmland_impact": "farmland",
    "cost_per_ha": "cost",
}
# the layers minemap.risk.pipeline.RISK_LAYERS reads (not imported: the CLI starts fast)
_RISK_LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland", "settlements")


def run_record_path(out: Path) -> Path:
    """Where the run record of an output file goes: ``<name>.run.json`` beside it."""
    return out.with_name(f"{out.stem}.run.json")


def write_tasks(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write the ranked tasks (``minemap.io.write_layer`` when available).

    The fallback keeps one place to swap: GeoPackage/GeoJSON through pyogrio, Parquet
    through geopandas, CSV with the geometry as WKT.
    """
    try:
        from minemap.io import write_layer
    except ImportError:
        write_layer = None
    if write_layer is not None:
        write_layer(frame, path)
        return
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        table["geometry_wkt"] = frame.geometry.to_wkt()
        table.to_csv(path, index=False, lineterminator="\n")
    else:
        driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
        frame.to_file(path, driver=driver, engine="pyogrio")


def _read_frontline(path: Path) -> gpd.GeoDataFrame:
    try:
        from minemap.io import read_upload
    except ImportError:
        return gpd.read_file(path)
    return read_upload(path).frame


def _print_table(tasks: gpd.GeoDataFrame, n: int) -> None:
    from minemap.risk.weights import COMPONENTS

    table = Table(title=f"Top {min(n, len(tasks))} of {len(tasks)} tasks")
    for col, justify in (
        ("#", "right"),
        ("task", "left"),
        ("score", "right"),
        ("main reasons (points)", "left"),
        ("evidence", "left"),
        ("clear ha", "right"),
        ("k UAH", "right"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    for row in tasks.head(n).itertuples(index=False):
        rec = row._asdict()
        contribs = sorted(((rec[f"contrib_{c}"], c) for c in COMPONENTS), reverse=True)
        reasons = ", ".join(f"{_SHORT[c]} {v:.1f}" for v, c in contribs[:3] if v > 0) or "-"
        table.add_row(
            str(rec["priority_rank"]),
            str(rec["task_id"]),
            f"{rec['priority_score']:.1f}",
            reasons,
            str(rec.get("evidence_class", "")),
            f"{rec['clearance_area_m2_low'] / 1e4:.1f}–{rec['clearance_area_m2_high'] / 1e4:.1f}",
            f"{rec['cost_uah_low'] / 1e3:.0f}–{rec['cost_uah_high'] / 1e3:.0f}",
        )
    console.print(table)


@app.command("prioritise")
def prioritise_command(
    store: StoreOption = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help="Weights TOML file (default: shipped set).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write ranked tasks: .gpkg, .geojson, .parquet or .csv."),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Rows shown, and N of sensitivity's top-N.")
    ] = 10,
    sensitivity: Annotated[
        bool, typer.Option("--sensitivity", help="Measure rank stability (±20 %, leave-out).")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Plan date YYYY-MM-DD: later records are ignored."),
    ] = None,
    frontline: Annotated[
        Path | None,
        typer.Option("--frontline", help="Front line (lines) or occupied area (polygons) file."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the geometry runs: local (this process) or dask (a cluster).",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="With --engine dask: scheduler address (default: start a local cluster).",
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Recompute the whole hazard surface instead of updating the one kept in "
            "the store (the new one is kept).",
        ),
    ] = False,
    exposure_distance: Annotated[
        float,
        typer.Option(
            "--exposure-distance",
            min=0,
            help="People exposed: metres from a task within which settlements count.",
        ),
    ] = 2000.0,  # minemap.risk.exposure.EXPOSURE_DISTANCE_M (not imported: fast start)
) -> None:
    """Rank clearance tasks: score, reasons, effort and cost, with a run record.

    The hazard surface of the last run is kept in the store; only the components touched
    by imports or undos since are recomputed, when that is provably the same as a full run.
    """
    from minemap.risk.engines import ENGINES, get_engine
    from minemap.risk.pipeline import prioritise
    from minemap.risk.weights import default_weights, load_weights
    from minemap.store import open_store

    if out is not None and out.suffix.lower() not in OUT_FORMATS:
        raise typer.BadParameter(
            f"{out.name}: output must end in {', '.join(OUT_FORMATS)}", param_hint="--out"
        )
    if engine not in ENGINES:
        raise typer.BadParameter(
            f"{engine!r}: choose one of {', '.join(ENGINES)}", param_hint="--engine"
        )
    if scheduler is not None and engine != "dask":
        raise typer.BadParameter("--scheduler needs --engine dask", param_hint="--scheduler")
    if as_of is not None:
        try:
            as_of = pd.Timestamp(as_of).date().isoformat()
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not a date YYYY-MM-DD", "--as-of") from None
    try:
        w = load_weights(weights) if weights is not None else default_weights()
        front = _read_frontline(frontline) if frontline is not None else None
        st = open_store(store, create=False)
        counts = st.counts()
        layers = {name: st.read_layer(name) for name in _RISK_LAYERS if counts.get(name, 0) > 0}
        if not any(name in layers for name in ("hazards", "strikes", "casualties")):
            raise fail("the store holds no hazards, strikes or casualties: nothing to rank")
        runner = None if engine == "local" else get_engine(engine, scheduler=scheduler)
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                console=err_console,
                transient=True,
            ) as bar,
            runner if runner is not None else contextlib.nullcontext(),
        ):
            job = bar.add_task("prioritising", total=1.0)
            result = prioritise(
                layers,
                weights=w,
                as_of=as_of,
                frontline=front,
                top=top,
                sensitivity=sensitivity,
                progress=lambda stage, f: bar.update(job, completed=f, description=stage),
                engine=runner,
                surface_cache=st if runner is None else None,
                reuse_surface=not no_cache,
                exposure_distance_m=exposure_distance,
            )
        if out is not None:
            write_tasks(result.tasks, out)
            record = dict(result.run_record, output=out.name)
            run_record_path(out).write_text(
                json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                encoding="utf-8",
            )
    except MinemapError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    _print_table(result.tasks, top)
    rec = result.run_record
    for warning in rec["surface"].get("warnings", []):
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(rec["surface"]["summary"])
    tasks_rec = rec.get("tasks", {})
    for warning in tasks_rec.get("warnings", []):
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(tasks_rec.get("summary") or f"tasks: full ({tasks_rec.get('reason', 'n/a')})")
    console.print(
        f"weights {rec['weights']['name']} v{rec['weights']['version']} "
        f"(sha256 {rec['weights']['sha256'][:12]}), as of {rec['as_of']}, "
        f"{rec['n_unattributed']} record(s) outside every task"
    )
    people = rec["parameters"]["people_exposed"]
    if people["counted"]:
        console.print(
            f"people exposed: {people['n_settlements']} settlement(s), within "
            f"{people['exposure_distance_m']:g} m of a task"
        )
    else:
        console.print("people exposed: not counted (no settlements layer in the store)")
    if result.sensitivity is not None:
        flagged = int(result.tasks["flag_single_weight"].sum())
        console.print(
            f"sensitivity: min Kendall tau {result.sensitivity['kendall_tau'].min():.3f}; "
            f"{flagged} task(s) change top-{top} membership when one weight moves ±20 %"
        )
    if out is not None:
        console.print(f"wrote {out} and {run_record_path(out).name}")
