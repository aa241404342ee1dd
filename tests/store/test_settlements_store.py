"""The optional settlements layer in both stores: a store made before the layer existed
opens, gains the table (data kept, integrity intact) and round-trips settlements."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from minemap._errors import StoreError
from minemap.layers import LAYER_NAMES
from minemap.store import _gpkg, _postgis, open_store
from tests.store.frames import make_frame
from tests.store.helpers import accepted_report

OLD_LAYERS = ("casualties", "strikes", "hazards", "cleared", "farmland")


def _settlements() -> object:
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {
            "settlement_id": pd.Series(["UA-1", "UA-2", "UA-3"], dtype="str"),
            "name": pd.Series(["Київ-Святошин", "Hamlet «x»", None], dtype="str"),
            "population": pd.Series([250_000, 12, 0], dtype="Int64"),
            "population_year": pd.Series([2021, None, 2022], dtype="Int64"),
            "source": pd.Series(["census", None, "OSM"], dtype="str"),
            "settlement_type": pd.Series(["city", "hamlet", None], dtype="str"),
        },
        geometry=[
            shapely.Point(30.4, 50.45),
            shapely.MultiPolygon([shapely.box(36.1, 49.9, 36.12, 49.91)]),
            shapely.Point(35.0, 48.5),
        ],
        crs="EPSG:4326",
    )


def _pretend_old_minemap(backend, monkeypatch) -> None:
    """This process behaves like the previous minemap: five layers (GeoPackage schema 1,
    PostGIS schema 2)."""
    if backend == "gpkg":
        monkeypatch.setattr(_gpkg, "LAYER_NAMES", OLD_LAYERS)
        monkeypatch.setattr(_gpkg, "SCHEMA_VERSION", 1)
    else:
        monkeypatch.setattr(_postgis, "LAYER_NAMES", OLD_LAYERS)
        monkeypatch.setattr(_postgis, "MIGRATIONS", _postgis.MIGRATIONS[:2])
        monkeypatch.setattr(_postgis, "PG_SCHEMA_VERSION", 2)


def _make_old_store(location, backend, monkeypatch) -> None:
    """A store as the previous minemap made it, with farmland in it."""
    _pretend_old_minemap(backend, monkeypatch)
    with open_store(location) as store:
        store.ingest(
            make_frame("farmland", 5),
            layer="farmland",
            report=accepted_report("f", "farmland"),
            file_name="f",
            sha256="f",
        )
    monkeypatch.undo()


def _has_settlements_table(location, backend) -> bool:
    if backend == "gpkg":
        return "settlements" in dict(pyogrio.list_layers(location))
    import psycopg

    with psycopg.connect(location) as con:
        return con.execute("SELECT to_regclass('settlements') IS NOT NULL").fetchone()[0]


def _schema_version(location, backend) -> int:
    if backend == "gpkg":
        with sqlite3.connect(location) as con:
            row = con.execute("SELECT value FROM minemap_meta WHERE key = 'schema_version'")
            return int(row.fetchone()[0])
    import psycopg

    with psycopg.connect(location) as con:  # read raw: opening the store would upgrade it
        return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]


def test_an_existing_store_gains_the_settlements_table(store_location, backend, monkeypatch):
    _make_old_store(store_location, backend, monkeypatch)
    assert not _has_settlements_table(store_location, backend)
    old_version = _schema_version(store_location, backend)
    with open_store(store_location) as store:
        assert store.counts() == {**dict.fromkeys(LAYER_NAMES, 0), "farmland": 5}
        assert store.integrity_check() == []
        empty = store.read_layer("settlements")
        assert len(empty) == 0
        assert "population" in empty.columns
        assert len(store.read_layer("farmland")) == 5
    assert _has_settlements_table(store_location, backend)
    latest = _gpkg.SCHEMA_VERSION if backend == "gpkg" else _postgis.PG_SCHEMA_VERSION
    assert old_version < latest
    assert _schema_version(store_location, backend) == latest
    # the previous minemap now refuses the store instead of misreading settlements batches
    _pretend_old_minemap(backend, monkeypatch)
    with pytest.raises(StoreError, match="newer minemap"):
        open_store(store_location)


def test_settlements_round_trip(store_location):
    frame = _settlements()
    with open_store(store_location) as store:
        store.ingest(
            frame,
            layer="settlements",
            report=accepted_report("s.geojson", "settlements"),
            file_name="s.geojson",
            sha256="s",
        )
        got = store.read_layer("settlements")
        assert store.integrity_check() == []
    want = frame.copy()
    want.insert(len(want.columns) - 1, "batch_id", got["batch_id"])  # the store adds it
    assert_geodataframe_equal(got, want)
    assert got["population"].tolist() == [250_000, 12, 0]


@pytest.mark.parametrize("layer", ["settlements"])
def test_layer_generated_frame_round_trips(store_location, layer):
    frame = make_frame(layer, 9, seed=3)
    with open_store(store_location) as store:
        store.ingest(
            frame,
            layer=layer,
            report=accepted_report("x", layer),
            file_name="x",
            sha256="x",
        )
        got = store.read_layer(layer, include_personal=True)
    assert len(got) == 9
    assert got["settlement_id"].tolist() == frame["settlement_id"].tolist()
    assert got["population"].tolist() == frame["population"].tolist()
