"""Back-test page (planners): how well the ranking anticipated later findings and harm."""

from __future__ import annotations

import math
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from minemap.backtest.pdf import render_pdf
from minemap.backtest.verdict import ranking_name, render
from minemap_app import cache, i18n, settings, ui

ui.require(*settings.BACKTEST_ACTIONS)
ui.page_header("bt")
lang = ui.lang()
path = cache.store_path()
role = ui.current_role()
most = settings.BACKTEST_MAX_WEIGHTS

version = cache.data_version(path)
summary = cache.layer_summary(path, version, role) if version else {}
firsts = [first for _, first, _ in summary.values() if first is not None]
lasts = [last for _, _, last in summary.values() if last is not None]
if not firsts:
    st.info(ui.tr("bt.no_data"))
    st.stop()
first, last = min(firsts), max(lasts)
date_format = "DD.MM.YYYY" if lang == "uk" else "YYYY-MM-DD"
middle = first + (last - first) / 2

columns = st.columns(2)
as_of = columns[0].date_input(
    ui.tr("bt.as_of"),
    value=middle,
    min_value=first,
    max_value=last,
    format=date_format,
    key="bt_as_of",
)
until = columns[1].date_input(
    ui.tr("bt.until"),
    value=last + timedelta(days=1),
    min_value=first,
    max_value=last + timedelta(days=1),
    format=date_format,
    key="bt_until",
)
use_default = st.checkbox(
    ui.tr("bt.default_weights"),
    value=True,
    key="bt_default",
    help=ui.tr("bt.weights", n=most),
)
files = list(
    st.file_uploader(
        ui.tr("bt.upload_weights"), type=["toml"], accept_multiple_files=True, key="bt_files"
    )
    or []
)
weights: list[tuple[str, str | None]] = [(ui.tr("bt.default_weights"), None)] if use_default else []
for f in files:
    try:
        weights.append((f.name, f.getvalue().decode("utf-8")))
    except UnicodeDecodeError as exc:
        st.error(ui.tr("bt.bad_weights", file=ui.md_escape(f.name), problem=ui.md_escape(exc)))
if len(weights) > most:
    st.warning(ui.tr("bt.too_many", n=most))
    weights = weights[:most]

blocks_on = st.checkbox(
    ui.tr("bt.blocks"), value=False, key="bt_blocks", help=ui.tr("bt.blocks_help")
)
n_folds: int | None = None
block_km = 10.0
if blocks_on:
    columns = st.columns(2)
    n_folds = int(
        columns[0].number_input(
            ui.tr("bt.folds"), min_value=2, max_value=20, value=5, step=1, key="bt_folds"
        )
    )
    block_km = float(
        columns[1].number_input(
            ui.tr("bt.block_km"),
            min_value=0.5,
            max_value=200.0,
            value=10.0,
            step=0.5,
            key="bt_block_km",
        )
    )

if st.button(ui.tr("bt.run"), type="primary", key="bt_run", disabled=not weights):
    ui.require(*settings.BACKTEST_ACTIONS)
    st.session_state["bt_request"] = (as_of, until, tuple(weights), n_folds, block_km)

request = st.session_state.get("bt_request")
if request is None:
    st.stop()
as_of, until, chosen, *spatial = request
n_folds, block_km = (*spatial, None, 10.0)[:2]  # requests from before blocks: none
if until is not None and until <= as_of:
    st.error(ui.tr("bt.bad_period"))
    st.stop()
try:
    with st.spinner(ui.tr("bt.run")):
        result = cache.backtest(
            path,
            version,
            role,
            as_of=as_of,
            until=until,
            weights=chosen,
            n_boot=settings.BACKTEST_BOOTSTRAP,
            n_folds=n_folds,
            block_size_m=float(block_km) * 1000.0,
        )
except Exception as exc:  # the engine's message (bad TOML, nothing to rank), escaped
    ui.show_error("bt.failed", exc)
    st.stop()

# incl. the over-fitting warning for several weight sets, in the page's language
for note in result["warning_facts"]:
    st.warning(ui.md_escape(render(note, lang)))


def name(text: str) -> str:
    return ranking_name(text, lang)


def pct(iv: dict) -> str:
    if not math.isfinite(iv["estimate"]):
        return "–"
    return (
        f"{i18n.fmt_number(iv['estimate'] * 100, lang)} % "
        f"({i18n.fmt_number(iv['low'] * 100, lang)}–{i18n.fmt_number(iv['high'] * 100, lang)} %)"
    )


def num(iv: dict, decimals: int = 2) -> str:
    if not math.isfinite(iv["estimate"]):
        return "–"
    f = i18n.fmt_number
    return (
        f"{f(iv['estimate'], lang, decimals=decimals)} "
        f"({f(iv['low'], lang, decimals=decimals)}–{f(iv['high'], lang, decimals=decimals)})"
    )


scores = result["scores"]
for outcome in ("findings", "harm"):
    rows = []
    for score in (s for s in scores if s["outcome"] == outcome):
        curve = score["curve"]
        rows += [
            {"x": x, "y": y, "series": name(score["name"])}
            for x, y in zip(curve["x"], curve["y"], strict=True)
        ]
        area_series = ui.tr("bt.area_only")
        if not any(r["series"] == area_series for r in rows):
            rows += [
                {"x": x, "y": y, "series": area_series}
                for x, y in zip(curve["x"], curve["area_y"], strict=True)
            ]
            rows += [{"x": x, "y": x, "series": ui.tr("bt.random")} for x in curve["x"]]
    if not rows:
        continue
    st.subheader(ui.tr("bt.curve", outcome=ui.tr(f"bt.outcome.{outcome}")))
    judged = [s for s in scores if s["outcome"] == outcome and s["n_items_with_outcome"] > 0]
    if not judged:  # nothing happened in the period to judge the ranking by
        st.caption(ui.tr("bt.nothing", outcome=ui.tr(f"bt.outcome.{outcome}")))
        continue
    frame = pd.DataFrame(rows)
    chart = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("x:Q", title=ui.tr("bt.x"), axis=alt.Axis(format="%")),
            y=alt.Y("y:Q", title=ui.tr("bt.y"), axis=alt.Axis(format="%")),
            color=alt.Color("series:N", title=None),
        )
    )
    st.altair_chart(chart, width="stretch", key=f"bt_curve_{outcome}")

st.subheader(ui.tr("bt.table"))
keys = sorted({k for s in scores for k in s["gain"]}, key=float)
table = pd.DataFrame(
    {
        ui.tr("bt.col.ranking"): [name(s["name"]) for s in scores],
        ui.tr("bt.col.outcome"): [ui.tr(f"bt.outcome.{s['outcome']}") for s in scores],
        ui.tr("bt.col.auc"): [num(s["auc"]) for s in scores],
        **{
            ui.tr("bt.col.gain", k=k): [
                pct(s["gain"][k]) if k in s["gain"] else "–" for s in scores
            ]
            for k in keys
        },
        **{
            ui.tr("bt.col.lift", k=k): [
                num(s["lift_random"][k], 1) if k in s["lift_random"] else "–" for s in scores
            ]
            for k in keys
        },
    }
)
st.dataframe(table, hide_index=True, width="stretch", key="bt_table")

st.subheader(ui.tr("bt.verdicts"))
for facts in result["verdict_facts"]:
    st.markdown(f"- {ui.md_escape(render(facts, lang))}")

blocks = result.get("blocks")
if blocks:
    st.subheader(ui.tr("bt.blocks_title"))
    st.caption(
        ui.tr(
            "bt.blocks_caption",
            n_blocks=i18n.fmt_number(blocks["n_blocks"], lang),
            size=i18n.fmt_number(blocks["block_size_m"] / 1000, lang, decimals=1),
            folds=i18n.fmt_number(blocks["n_folds"], lang),
        )
    )
    fold_rows = [
        {
            ui.tr("bt.col.fold"): fold["fold"] + 1,
            ui.tr("bt.col.tasks"): fold["tasks"],
            ui.tr("bt.col.blocks"): fold["blocks"],
            ui.tr("bt.col.ranking"): name(fig["name"]),
            ui.tr("bt.col.outcome"): ui.tr(f"bt.outcome.{fig['outcome']}"),
            ui.tr("bt.col.auc"): (
                i18n.fmt_number(fig["auc"], lang, decimals=2) if math.isfinite(fig["auc"]) else "–"
            ),
            ui.tr("bt.col.gain25"): (
                f"{i18n.fmt_number(fig['gain25'] * 100, lang)} %"
                if math.isfinite(fig["gain25"])
                else "–"
            ),
        }
        for fold in blocks["folds"]
        for fig in fold["figures"]
    ]
    st.dataframe(pd.DataFrame(fold_rows), hide_index=True, width="stretch", key="bt_folds_table")

try:
    pdf = render_pdf(result, lang=lang)
except Exception as exc:  # a rendering failure must not take the page down
    ui.show_error("bt.failed", exc)
else:
    st.download_button(
        ui.tr("bt.download_pdf"),
        data=pdf,
        file_name=f"minemap_backtest_{as_of:%Y-%m-%d}_{lang}.pdf",
        mime="application/pdf",
        key="bt_download_pdf",
        on_click=ui.audit_download,
        args=("backtest", "pdf"),
    )
