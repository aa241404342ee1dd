"""Back-test page (planners): how well the ranking anticipated later findings and harm."""

from __future__ import annotations

import math
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

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

if st.button(ui.tr("bt.run"), type="primary", key="bt_run", disabled=not weights):
    ui.require(*settings.BACKTEST_ACTIONS)
    st.session_state["bt_request"] = (as_of, until, tuple(weights))

request = st.session_state.get("bt_request")
if request is None:
    st.stop()
as_of, until, chosen = request
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
        )
except Exception as exc:  # the engine's message (bad TOML, nothing to rank), escaped
    ui.show_error("bt.failed", exc)
    st.stop()

for warning in result["warnings"]:  # incl. the over-fitting warning for several weight sets
    st.warning(ui.md_escape(warning))


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
            {"x": x, "y": y, "series": score["name"]}
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
        ui.tr("bt.col.ranking"): [s["name"] for s in scores],
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
if lang != "en":
    st.caption(ui.tr("bt.verdict_lang"))
for words in result["verdicts"]:
    st.markdown(f"- {ui.md_escape(words)}")
