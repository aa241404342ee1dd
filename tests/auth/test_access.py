"""What each role may do and read: the matrix, and what never reaches non-planners."""

from __future__ import annotations

import pickle
import re

import h3
import pandas as pd
import pytest
import shapely

from minemap import _errors
from minemap.auth import (
    ACTIONS,
    COUNT_BANDS,
    ROLES,
    AccessDenied,
    aggregate_layer,
    audit_log_for,
    batches_for,
    can,
    count_band,
    layer_access,
    read_layer_for,
    report_inputs_for,
    require,
)
from minemap.layers import LAYER_NAMES, get_schema
from minemap.store import open_store
from tests.auth.conftest import CASUALTY_POINTS, HAZARD_CORNER, INFORMANT, VICTIM_AGE, VICTIM_NAME

# The expected matrix, written from issue 6 (not from the code under test):
# planner everything; field uploads, own batches, hazards and tasks, no personal data;
# funder reports and aggregate dashboards only; admin users and the audit log.
EXPECTED_ACTIONS = {
    "planner": {
        "view_map", "view_tasks", "view_reports", "download_reports", "download_layers",
        "upload", "view_own_batches", "view_batches", "undo_batch", "change_weights",
        "read_personal",
    },
    "field": {
        "view_map", "view_tasks", "view_reports", "download_reports", "download_layers",
        "upload", "view_own_batches",
    },
    "funder": {"view_map", "view_reports", "download_reports"},
    "admin": {"view_map", "view_reports", "view_audit", "export_audit", "manage_users"},
}  # fmt: skip
EXPECTED_LAYERS = {
    "planner": dict.fromkeys(LAYER_NAMES, "full"),
    "field": dict.fromkeys(LAYER_NAMES, "exact"),
    "funder": {
        "casualties": "aggregate", "strikes": "aggregate", "hazards": "aggregate",
        "cleared": "exact", "farmland": "exact", "settlements": "exact",
    },
    "admin": {
        "casualties": "aggregate", "strikes": "aggregate", "hazards": "aggregate",
        "cleared": "exact", "farmland": "exact", "settlements": "exact",
    },
}  # fmt: skip
SENSITIVE = ("casualties", "strikes", "hazards")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_can_matrix(role, action):
    assert can(role, action) is (action in EXPECTED_ACTIONS[role])


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", [None, "", "superuser", "Planner"])
def test_nobody_and_unknown_roles_may_do_nothing(role, action):
    assert can(role, action) is False
    with pytest.raises(AccessDenied) as info:
        require(role, action)
    assert isinstance(info.value, PermissionError)
    assert isinstance(info.value, _errors.MinemapError)


def test_require_messages_are_clear():
    require("planner", "undo_batch")  # allowed: no error
    with pytest.raises(AccessDenied, match=r"the funder role may not undo an import batch; "
                       r"allowed for: planner$"):  # fmt: skip
        require("funder", "undo_batch")
    with pytest.raises(AccessDenied, match="sign in first"):
        require(None, "view_map")
    with pytest.raises(AccessDenied, match="'superuser' is not a minemap role"):
        require("superuser", "view_map")


def test_unknown_action_is_a_programming_error_not_a_silent_no():
    with pytest.raises(ValueError, match="unknown action 'undo_batches'"):
        can("planner", "undo_batches")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("layer", LAYER_NAMES)
def test_layer_access_matrix(role, layer):
    assert layer_access(role, layer) == EXPECTED_LAYERS[role][layer]


@pytest.fixture(scope="module")
def data_store(data_store_path):
    with open_store(data_store_path) as store:
        yield store


def _dump(frame) -> bytes:
    """Everything a frame could leak: its JSON, its pickle, its repr."""
    return _json(frame).encode() + pickle.dumps(frame) + repr(frame).encode()


def _json(frame) -> str:
    return frame.to_json(default=str)


@pytest.mark.parametrize("role", ["field", "funder", "admin"])
@pytest.mark.parametrize("layer", LAYER_NAMES)
def test_non_planners_never_get_personal_data(data_store, role, layer):
    frame = read_layer_for(data_store, layer, role=role)
    personal = set(get_schema(layer).personal_fields)
    assert personal.isdisjoint(frame.columns)
    assert "informant" not in frame.columns  # unvetted extra columns: planner only
    dumped = _dump(frame)
    for secret in (VICTIM_NAME, INFORMANT, "Zzyzx", "Testvictim"):
        assert secret.encode() not in dumped
    if layer == "casualties":
        assert not re.search(rf":\s*{VICTIM_AGE}\s*[,}}]", _json(frame))


def test_planner_reads_everything(data_store):
    frame = read_layer_for(data_store, "casualties", role="planner")
    assert list(frame["victim_name"]) == [VICTIM_NAME] * 3
    assert list(frame["victim_age"]) == [VICTIM_AGE] * 3
    assert list(frame["informant"]) == [INFORMANT] * 3
    raw = data_store.read_layer("casualties", include_personal=True)
    assert frame.equals(raw)


def test_field_gets_exact_geometry_without_personal_fields(data_store):
    planner = read_layer_for(data_store, "casualties", role="planner")
    field = read_layer_for(data_store, "casualties", role="field")
    assert field.geometry.geom_equals_exact(planner.geometry, tolerance=0).all()
    expected = [c for c in get_schema("casualties").field_names if c not in
                ("victim_name", "victim_age", "victim_sex")] + ["batch_id", "geometry"]  # fmt: skip
    assert list(field.columns) == expected


@pytest.mark.parametrize("role", ["funder", "admin"])
def test_funder_never_gets_exact_casualty_points(data_store, role):
    frame = read_layer_for(data_store, "casualties", role=role)
    text = _json(frame)
    for x, y in CASUALTY_POINTS:
        assert x not in text
        assert y not in text
    assert set(frame.geom_type) == {"Polygon"}
    # every geometry is exactly the H3 hexagon named in the row, nothing finer
    for cell, geom in zip(frame["h3_cell"], frame.geometry, strict=True):
        hexagon = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
        assert geom.equals(hexagon)
        assert h3.get_resolution(cell) == 5
    # two of the three points share a cell; people are only counted in bands
    assert list(frame.columns) == ["h3_cell", "incidents_band", "casualties_band", "geometry"]
    assert sorted(frame["incidents_band"]) == ["1-4", "1-4"]
    # killed + injured per cell: 1 + 3 = 4 and 2 + 1 = 3 (cells sorted by id)
    assert set(frame["casualties_band"]) == {"1-4"}


@pytest.mark.parametrize("role", ["funder", "admin"])
@pytest.mark.parametrize("layer", SENSITIVE)
def test_funder_gets_no_uncleared_hazard_geometry(data_store, role, layer):
    exact = read_layer_for(data_store, layer, role="field")
    frame = read_layer_for(data_store, layer, role=role)
    assert frame.columns[0] == "h3_cell"
    if layer != "casualties":
        assert frame["features"].sum() == len(exact)
    for geom in frame.geometry:
        assert not any(geom.equals(g) for g in exact.geometry)
        # a coarse cell: far larger than any stored feature's bounding box
        assert shapely.area(geom) > 50 * max(shapely.area(shapely.envelope(g))
                                              for g in exact.geometry)  # fmt: skip
    if layer == "hazards":
        for value in HAZARD_CORNER:
            assert value not in _json(frame)


@pytest.mark.parametrize("layer", LAYER_NAMES)
def test_nobody_signed_in_reads_nothing(data_store, layer):
    with pytest.raises(AccessDenied, match="sign in first"):
        read_layer_for(data_store, layer, role=None)
    with pytest.raises(AccessDenied):
        read_layer_for(data_store, layer, role="guest")


def test_aggregate_counts_match_an_independent_count():
    import geopandas as gpd

    points = [shapely.Point(30.0 + i * 0.001, 50.0) for i in range(5)] + [shapely.Point(24, 48.5)]
    frame = gpd.GeoDataFrame({"strike_id": [str(i) for i in range(6)]},
                             geometry=points, crs="EPSG:4326")  # fmt: skip
    frame.loc[len(frame)] = ["no geometry", None]  # cannot be placed: left out
    out = aggregate_layer(frame, "strikes")
    expected = {}
    for p in points:
        cell = h3.latlng_to_cell(p.y, p.x, 5)
        expected[cell] = expected.get(cell, 0) + 1
    assert dict(zip(out["h3_cell"], out["features"], strict=True)) == expected
    assert sorted(expected.values()) == [1, 5]


@pytest.mark.parametrize(
    ("incidents", "people", "bands"),
    [(1, [0], ("1-4", "0")), (4, [1, 1, 1, 1], ("1-4", "1-4")), (5, [2] * 5, ("5-9", "10-49")),
     (12, [5] * 12, ("10-49", "50+"))],
)  # fmt: skip
def test_casualty_aggregates_band_people_counts(incidents, people, bands):
    import geopandas as gpd

    points = [shapely.Point(30.0 + i * 0.0001, 50.0) for i in range(incidents)]
    frame = gpd.GeoDataFrame({"killed": people, "injured": [0] * incidents},
                             geometry=points, crs="EPSG:4326")  # fmt: skip
    out = aggregate_layer(frame, "casualties")
    assert len(out) == 1
    assert (out["incidents_band"].iloc[0], out["casualties_band"].iloc[0]) == bands
    # no number anywhere but the hexagon: every attribute is a text label
    assert all(pd.api.types.is_string_dtype(t) for t in out.drop(columns="geometry").dtypes)


def test_first_band_ends_below_the_reports_small_count_threshold():
    from minemap.reports.privacy import THRESHOLD

    assert COUNT_BANDS[0][:2] == (1, THRESHOLD - 1)
    assert count_band(THRESHOLD - 1) != count_band(THRESHOLD)


def test_report_inputs_are_exact_but_never_personal(data_store):
    for role in ("planner", "field", "funder", "admin"):
        frames = report_inputs_for(data_store, role=role)
        assert set(frames) == set(LAYER_NAMES)
        dumped = b"".join(_dump(f) for f in frames.values())
        assert VICTIM_NAME.encode() not in dumped
        assert INFORMANT.encode() not in dumped
        assert len(frames["casualties"]) == len(CASUALTY_POINTS)
    with pytest.raises(AccessDenied):
        report_inputs_for(data_store, role=None)


def test_audit_log_is_for_admins_only(data_store):
    log = audit_log_for(data_store, role="admin")
    assert "ingest" in set(log["action"])
    for role in ("planner", "field", "funder", None):
        with pytest.raises(AccessDenied):
            audit_log_for(data_store, role=role)


def test_the_scans_would_find_the_planted_data(data_store):
    """The negative scans above can fail: the planner's frame shows every planted value."""
    frame = read_layer_for(data_store, "casualties", role="planner")
    dumped = _dump(frame)
    for secret in (VICTIM_NAME, INFORMANT):
        assert secret.encode() in dumped
    assert re.search(rf":\s*{VICTIM_AGE}\s*[,}}]", _json(frame))
    for x, y in CASUALTY_POINTS:
        assert x in _json(frame)
        assert y in _json(frame)
    hazards = read_layer_for(data_store, "hazards", role="field")
    assert all(value in _json(hazards) for value in HAZARD_CORNER)


def test_batches_planner_all_field_own_others_none(tmp_path):
    from tests.auth.conftest import build_store

    path = build_store(tmp_path / "s.gpkg")  # every batch imported by "loader"
    with open_store(path) as store:
        every = store.list_batches()
        planner = batches_for(store, role="planner", user="someone")
        assert len(planner) == len(every) == len(LAYER_NAMES)
        assert batches_for(store, role="field", user="loader") == every
        assert batches_for(store, role="field", user="taras") == []
        assert batches_for(store, role="field", user=None) == []
        for role in ("funder", "admin", None):
            with pytest.raises(AccessDenied):
                batches_for(store, role=role, user="loader")


@pytest.mark.parametrize("role", ["field", "funder", "admin"])
def test_personal_columns_are_never_even_selected_for_non_planners(data_store_path, role):
    """White-box: watch the SQL the store runs; no statement names a personal field."""
    statements: list[str] = []
    with open_store(data_store_path) as store:
        store._db.set_trace_callback(statements.append)
        for layer in LAYER_NAMES:
            read_layer_for(store, layer, role=role)
        store._db.set_trace_callback(None)
        planner: list[str] = []
        store._db.set_trace_callback(planner.append)
        read_layer_for(store, "casualties", role="planner")
        store._db.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert any('"incident_id"' in s for s in selects)  # the casualties read was traced
    for name in ("victim_name", "victim_age", "victim_sex"):
        assert not any(name in s for s in statements)
        assert any(name in s for s in planner)
