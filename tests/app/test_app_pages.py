"""AppTest runs of the web app's pages (headless, no browser)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from minemap_app import cache, i18n, settings
from tests.app.conftest import seed_accounts, signed_in

APP = Path(__file__).resolve().parents[2] / "minemap_app"


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    """A planner signed in on a store with accounts but no data yet."""
    store = tmp_path / "store.gpkg"
    seed_accounts(store)
    monkeypatch.setenv("MINEMAP_STORE", str(store))
    return signed_in("planner", timeout=60)


def test_starts_in_ukrainian_and_switches_to_english(app):
    assert app.title[0].value == i18n.t("map.title", "uk")
    app.sidebar.radio(key="lang").set_value("en").run()
    assert not app.exception
    assert app.title[0].value == i18n.t("map.title", "en")
    assert app.sidebar.selectbox(key="map_oblast__en").options[0] == "All of Ukraine"


def test_map_page_says_the_store_is_empty(app):
    assert i18n.t("map.empty", "uk") in [i.value for i in app.info]


def test_map_filters_offer_every_oblast_and_layer(app):
    oblasts = app.sidebar.selectbox(key="map_oblast__uk").options
    assert len(oblasts) == 27  # "all" + 26 bundled outlines
    assert "Харківська область" in oblasts
    layers = app.sidebar.multiselect(key="map_layers__uk")
    assert set(layers.value) == set(settings.DEFAULT_VISIBLE_LAYERS)


@pytest.mark.parametrize(
    ("page", "title_key"),
    [
        ("views/priorities.py", "prio.title"),
        ("views/upload.py", "upload.title"),
        ("views/reports.py", "reports.title"),
        ("views/quality.py", "quality.title"),
        ("views/backtest.py", "bt.title"),
    ],
)
def test_every_page_renders_without_error(app, page, title_key):
    app.switch_page(page).run()
    assert not app.exception, app.exception
    assert app.title[0].value == i18n.t(title_key, "uk")


def test_reports_page_says_there_is_nothing_to_report_yet(app):
    app.switch_page("views/reports.py").run()
    assert i18n.t("map.empty", "uk") in [i.value for i in app.info]


def test_both_languages_define_the_same_texts():
    assert set(i18n.TEXTS["uk"]) == set(i18n.TEXTS["en"])
    untranslated = [k for k, v in i18n.TEXTS["uk"].items() if v == i18n.TEXTS["en"][k]]
    assert set(untranslated) <= {
        "app.language",
        "map.layer.h3",
        "map.field.id",
        "bt.col.auc",  # "ROC AUC" in both
        "map.agg.features",  # placeholders only
    } | {k for k in untranslated if k.startswith("map.unit.")}


def test_localised_formats():
    assert i18n.fmt_area(2_500_000, "uk") == "2,50 км²"
    assert i18n.fmt_area(25_000, "en") == "2.5 ha"
    assert i18n.fmt_area(250, "en") == "250 m²"
    from datetime import date

    assert i18n.fmt_date(date(2024, 3, 5), "uk") == "5 бер. 2024"
    assert i18n.fmt_date(date(2024, 3, 5), "en") == "5 Mar 2024"


def test_server_config_hides_tracebacks_and_serves_assets():
    config = tomllib.loads((APP / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableStaticServing"] is True
    assert config["server"]["maxUploadSize"] == settings.MAX_UPLOAD_MB
    assert config["browser"]["gatherUsageStats"] is False


def test_selections_survive_a_language_switch(app):
    app.sidebar.selectbox(key="map_oblast__uk").set_value("Kharkiv Oblast")
    app.sidebar.radio(key="map_view__uk").set_value("detail")
    app.sidebar.multiselect(key="map_layers__uk").set_value(["hazards"])
    app.run()
    app.sidebar.radio(key="lang").set_value("en").run()
    assert not app.exception
    assert app.sidebar.selectbox(key="map_oblast__en").value == "Kharkiv Oblast"
    assert app.sidebar.radio(key="map_view__en").value == "detail"
    assert app.sidebar.multiselect(key="map_layers__en").value == ["hazards"]
    app.sidebar.radio(key="lang").set_value("uk").run()
    assert app.sidebar.selectbox(key="map_oblast__uk").value == "Kharkiv Oblast"


def test_store_location_file_made_absolute_url_kept(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINEMAP_STORE", "rel.gpkg")
    assert cache.store_path() == str(tmp_path / "rel.gpkg")
    monkeypatch.setenv("MINEMAP_STORE", "postgresql://planner@db.example/minemap")
    assert cache.store_path() == "postgresql://planner@db.example/minemap"
