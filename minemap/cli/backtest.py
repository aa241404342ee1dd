"""``minemap backtest``: how well would the ranking of a past date have done?"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from minemap._errors import MinemapError
from minemap.cli._app import app
from minemap.cli._common import StoreOption, console, err_console, fail
from minemap.cli.report import write_output

__all__ = ["backtest_command"]

OUT_FORMATS = (".json", ".csv", ".pdf")
LANGS = ("en", "uk")
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


def _iv(iv: Any, lang: str, pct: bool = False, decimals: int = 2) -> str:
    from minemap.reports.i18n import format_number

    if not math.isfinite(iv.estimate):
        return "–"
    if pct:
        e, lo, hi = (format_number(v * 100, lang) for v in (iv.estimate, iv.low, iv.high))
        return f"{e} % ({lo}–{hi})"
    e, lo, hi = (format_number(v, lang, decimals=decimals) for v in (iv.estimate, iv.low, iv.high))
    return f"{e} ({lo}–{hi})"


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
        Path | None,
        typer.Option("--out", help="Write the figures (.json, .csv) or a report (.pdf)."),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the verdicts and the PDF: uk or en.")
    ] = "en",
    blocks: Annotated[
        int | None,
        typer.Option("--blocks", min=2, help="Spatial hold-out: N folds of grid blocks."),
    ] = None,
    block_km: Annotated[
        float,
        typer.Option("--block-km", min=0.1, help="Block size (km) for --blocks."),
    ] = 10.0,
    n_boot: Annotated[int, typer.Option("--n-boot", min=10, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap / fold seed.")] = 0,
) -> None:
    """Score the ranking of --as-of against later findings (released land) and casualties."""
    from minemap.backtest.evaluate import backtest
    from minemap.risk.weights import load_weights
    from minemap.store import open_store

    if as_of is None:
        raise typer.BadParameter("give the date to rebuild the ranking for", param_hint="--as-of")
    if lang not in LANGS:
        raise typer.BadParameter(f"{lang!r}: choose one of {', '.join(LANGS)}", param_hint="--lang")
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
            layers,
            as_of=as_of,
            until=until,
            weights=sets,
            n_folds=blocks,
            block_size_m=block_km * 1000.0,
            n_boot=n_boot,
            seed=seed,
        )
        if out is not None:
            suffix = out.suffix.lower()
            if suffix == ".json":
                text = json.dumps(_clean(result.to_dict()), indent=1, ensure_ascii=False)
                data = (text + "\n").encode("utf-8")
            elif suffix == ".pdf":
                from minemap.backtest.pdf import render_pdf

                data = render_pdf(result, lang=lang)
            else:
                data = result.to_frame().to_csv(index=False, lineterminator="\n").encode("utf-8")
            write_output(out, data)
    except MinemapError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None

    from minemap.backtest.pdf import LABELS, input_lines, label

    for line in input_lines(result.split.summary(), lang):
        console.print(line, markup=False, highlight=False)
    from minemap.backtest.verdict import ranking_name

    table = Table(title=label("table", lang))
    heads = [label(k, lang) for k in ("ranking", "outcome", "auc")]
    heads += [label("top", lang).format(k=k) for k in ("10", "25")]
    heads.append(f"{label('x_random', lang)} (25 %)")
    for col in heads:
        table.add_column(col, overflow="fold")
    for s in result.scores:
        table.add_row(
            ranking_name(s.name, lang),
            label(s.outcome, lang) if s.outcome in LABELS else s.outcome,
            _iv(s.auc, lang),
            _iv(s.gain["10"], lang, pct=True),
            _iv(s.gain["25"], lang, pct=True),
            _iv(s.lift_random["25"], lang, decimals=1),
        )
    console.print(table)
    for line in result.verdicts(lang):
        console.print(f"- {line}", markup=False, highlight=False)
    for line in result.warnings_in(lang):
        prefix = "увага" if lang == "uk" else "warning"
        err_console.print(f"[yellow]{prefix}:[/] {escape(line)}", markup=True, highlight=False)
    if out is not None:
        console.print(label("cli_wrote", lang).format(path=out), markup=False, highlight=False)
