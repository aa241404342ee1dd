"""``minemap backtest``: how well would the ranking of a past date have done?"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli._common import StoreOption, console, err_console, fail

__all__ = ["backtest_command"]

OUT_FORMATS = (".json", ".csv")
_LAYERS = ("hazards", "strikes", "casualties", "cleared", "farmland", "settlements")


def _clean(value: Any) -> Any:
    """NaN → None, recursively, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _iv(iv: Any, pct: bool = False) -> str:
    if not math.isfinite(iv.estimate):
        return "–"
    if pct:
        return f"{iv.estimate * 100:.0f} % ({iv.low * 100:.0f}–{iv.high * 100:.0f})"
    return f"{iv.estimate:.2f} ({iv.low:.2f}–{iv.high:.2f})"


@app.command("backtest")
def backtest_command(
    store: StoreOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Rebuild the ranking from records before this date."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the outcome period (exclusive).")
    ] = None,
    weights: Annotated[
        list[Path] | None,
        typer.Option("--weights", help="Weights TOML file; repeat to compare several."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the figures: .json or .csv.")
    ] = None,
    blocks: Annotated[
        int | None,
        typer.Option("--blocks", min=2, help="Spatial hold-out: N folds of 10 km blocks."),
    ] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=10, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap / fold seed.")] = 0,
) -> None:
    """Score the ranking of --as-of against later findings (released land) and casualties."""
    from minemap.backtest.evaluate import backtest
    from minemap.risk.weights import load_weights
    from minemap.store import open_store

    if as_of is None:
        raise typer.BadParameter("give the date to rebuild the ranking for", param_hint="--as-of")
    if out is not None and out.suffix.lower() not in OUT_FORMATS:
        raise typer.BadParameter(
            f"{out.name}: output must end in {', '.join(OUT_FORMATS)}", param_hint="--out"
        )
    try:
        sets = [load_weights(p) for p in weights] if weights else [None]
        st = open_store(store, create=False)
        counts = st.counts()
        layers = {name: st.read_layer(name) for name in _LAYERS if counts.get(name, 0) > 0}
        result = backtest(
            layers, as_of=as_of, until=until, weights=sets, n_folds=blocks, n_boot=n_boot, seed=seed
        )
        if out is not None:
            if out.suffix.lower() == ".json":
                text = json.dumps(_clean(result.to_dict()), indent=1, ensure_ascii=False)
                out.write_text(text + "\n", encoding="utf-8")
            else:
                result.to_frame().to_csv(out, index=False, lineterminator="\n")
    except MinemapError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None

    summary = result.split.summary()
    console.print(
        f"ranking rebuilt from records before {summary['as_of']}: "
        + ", ".join(f"{k} {v}" for k, v in summary["history"].items())
    )
    console.print(
        f"outcomes {summary['as_of']} → {summary['until'] or 'now'}: "
        + ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items())
    )
    table = Table(title="Back-test (95 % bootstrap intervals)")
    for col in ("ranking", "outcome", "ROC AUC", "top 10 %", "top 25 %", "×random (25 %)"):
        table.add_column(col, overflow="fold")
    for s in result.scores:
        table.add_row(
            s.name,
            s.outcome,
            _iv(s.auc),
            _iv(s.gain["10"], pct=True),
            _iv(s.gain["25"], pct=True),
            _iv(s.lift_random["25"]),
        )
    console.print(table)
    for line in result.verdicts():
        console.print(f"- {line}")
    for line in result.warnings:
        err_console.print(f"[yellow]warning:[/] {line}", markup=True, highlight=False)
    if out is not None:
        console.print(f"wrote {out}")
