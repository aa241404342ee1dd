"""AppTest of the Back-test page (planners) on a store filled through the real ingest pipeline.

The seed (tests/app/conftest.py): hazards HZ-1 (2023-05, CHA), the SHA with the hostile id
(2023-06) and HZ-3 (2024-02); released REL-1 (2024-03); casualty CAS-1 (2024-04) inside
HZ-1. Ranked as of 2023-10-01, the later casualty falls in a ranked task.
"""

from __future__ import annotations

from datetime import date

import pytest

from minemap.backtest.verdict import ranking_name
from minemap.risk.weights import default_weights
from minemap_app import i18n
from tests.app.conftest import signed_in

AS_OF = date(2023, 10, 1)
UNTIL = date(2024, 4, 3)


def _default_toml() -> str:
    from importlib import resources

    return (
        resources.files("minemap")
        .joinpath("risk", "data", "weights-default.toml")
        .read_text("utf-8")
    )


def area_heavy_toml() -> str:
    text = _default_toml()
    assert 'name = "minemap-default"' in text
    assert "casualty_risk = 30" in text
    return text.replace('name = "minemap-default"', 'name = "no-casualties"').replace(
        "casualty_risk = 30", "casualty_risk = 0"
    )


@pytest.fixture
def page(seeded_store):
    at = signed_in("planner")
    at.switch_page("views/backtest.py").run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """Text of an escaped markdown message (``ui.md_escape`` adds backslashes)."""
    return markdown.replace("\\", "")


def charts(at) -> list:
    return [e for e in at.get("arrow_vega_lite_chart")] + [e for e in at.get("vega_lite_chart")]


def comparison(at):
    return next(d.value for d in at.dataframe if i18n.t("bt.col.auc", "uk") in d.value.columns)


def test_runs_with_the_default_weights_and_shows_curve_table_and_verdict(page):
    page.date_input(key="bt_as_of").set_value(AS_OF)
    page.date_input(key="bt_until").set_value(UNTIL)
    page.button(key="bt_run").click().run()
    assert not page.exception, page.exception
    assert [e.value for e in page.error] == []
    table = comparison(page)
    outcomes = set(table[i18n.t("bt.col.outcome", "uk")])
    assert outcomes == {i18n.t("bt.outcome.findings", "uk"), i18n.t("bt.outcome.harm", "uk")}
    default = ranking_name("default weights", "uk")
    assert default == "стандартні ваги"
    assert set(table[i18n.t("bt.col.ranking", "uk")]) == {default}
    # Intervals are shown with the estimates: "61 % (52–70 %)".
    gain = table[i18n.t("bt.col.gain", "uk", k="25")]
    assert any("(" in cell and "–" in cell for cell in gain)
    # The casualty fell in a ranked task: its curve is drawn. REL-1 does not say how many
    # devices were found, so there are no findings to judge by — said, not drawn.
    assert len(charts(page)) == 1
    nothing = i18n.t("bt.nothing", "uk", outcome=i18n.t("bt.outcome.findings", "uk"))
    assert nothing in [c.value for c in page.caption]
    # warnings and verdicts in the page's language (Ukrainian by default)
    assert any("не вказано, скільки предметів знайдено" in plain(w.value) for w in page.warning)
    verdicts = [plain(m.value) for m in page.markdown if m.value.startswith("- ")]
    assert len(verdicts) == len(table)
    assert all(v.startswith(f"- {default}: ") for v in verdicts)
    assert not [v for v in verdicts if "the top quarter" in v or "nothing to judge" in v]
    assert [b.label for b in page.get("download_button")] == [i18n.t("bt.download_pdf", "uk")]
    # no block hold-out asked for: no fold table
    assert not [d for d in page.dataframe if i18n.t("bt.col.fold", "uk") in d.value.columns]
    # One weight set: no over-fitting warning.
    assert not [w for w in page.warning if "compared on the same period" in w.value]


def test_several_weight_sets_are_compared_with_the_over_fitting_warning(page):
    page.session_state["bt_request"] = (
        AS_OF,
        UNTIL,
        (("default", None), ("no-casualties.toml", area_heavy_toml())),
    )
    page.run()
    assert not page.exception, page.exception
    table = comparison(page)
    assert set(table[i18n.t("bt.col.ranking", "uk")]) == {
        "стандартні ваги",
        f"no-casualties v{default_weights().version}",  # a weight file's own name is kept
    }
    assert len(table) == 4  # 2 weight sets × (findings, harm)
    assert [w for w in page.warning if "2 набори ваг порівняно" in plain(w.value)]


def test_a_broken_weight_file_is_a_clear_message(page):
    page.session_state["bt_request"] = (AS_OF, UNTIL, (("broken.toml", "[weights\nx = "),))
    page.run()
    assert not page.exception
    errors = [e.value for e in page.error]
    assert errors
    assert errors[0].startswith(i18n.t("bt.failed", "uk", problem="")[:20])
    assert "broken" in errors[0]


def test_nothing_before_the_ranking_date_is_a_clear_message(page):
    page.date_input(key="bt_as_of").set_value(date(2023, 5, 1))
    page.button(key="bt_run").click().run()
    assert not page.exception
    assert any("nothing to rank" in e.value for e in page.error), [e.value for e in page.error]


def test_the_end_must_come_after_the_ranking_date(page):
    page.date_input(key="bt_as_of").set_value(date(2024, 3, 1))
    page.date_input(key="bt_until").set_value(date(2024, 2, 1))
    page.button(key="bt_run").click().run()
    assert i18n.t("bt.bad_period", "uk") in [e.value for e in page.error]


def folds_table(at):
    col = i18n.t("bt.col.fold", "uk")
    return next(d.value for d in at.dataframe if col in d.value.columns)


def test_spatial_block_hold_out_is_offered_and_its_figures_shown(page):
    page.date_input(key="bt_as_of").set_value(AS_OF)
    page.date_input(key="bt_until").set_value(UNTIL)
    page.checkbox(key="bt_blocks").check().run()
    page.number_input(key="bt_folds").set_value(2).run()
    page.number_input(key="bt_block_km").set_value(5.0).run()
    page.button(key="bt_run").click().run()
    assert not page.exception, page.exception
    assert [e.value for e in page.error] == []
    assert page.session_state["bt_request"][3:] == (2, 5.0)
    folds = folds_table(page)
    assert set(folds[i18n.t("bt.col.fold", "uk")]) <= {1, 2}
    table = comparison(page)
    assert set(folds[i18n.t("bt.col.outcome", "uk")]) == {
        i18n.t("bt.outcome.findings", "uk"),
        i18n.t("bt.outcome.harm", "uk"),
    }
    assert len(table) == 2
    captions = [c.value for c in page.caption]
    assert any("км" in c and "груп" in c for c in captions), captions
    # the same request without blocks has no fold table
    page.checkbox(key="bt_blocks").uncheck().run()
    page.button(key="bt_run").click().run()
    assert not [d for d in page.dataframe if i18n.t("bt.col.fold", "uk") in d.value.columns]


def test_blocks_count_every_ranked_task_once(page, seeded_store):
    """The fold table's tasks add up to the tasks ranked without blocks (same store)."""
    from minemap.backtest.evaluate import backtest
    from minemap.store import open_store

    st = open_store(seeded_store, create=False)
    layers = {n: st.read_layer(n) for n, c in st.counts().items() if c > 0}
    expected = backtest(layers, as_of=AS_OF, until=UNTIL, n_boot=10).scores[0].n_items
    page.session_state["bt_request"] = (AS_OF, UNTIL, (("d", None),), 2, 5.0)
    page.run()
    assert not page.exception, page.exception
    folds = folds_table(page)
    per_fold = folds.groupby(i18n.t("bt.col.fold", "uk"))[i18n.t("bt.col.tasks", "uk")].first()
    assert per_fold.sum() == expected
