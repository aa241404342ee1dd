"""Attribute checks: required fields, types, enums, dates, ids, text, mapping."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from minemap.validate import validate_layer
from tests.validate._fixtures import BUILDERS, casualties, cleared, farmland, hazards


def _set(gdf, column, i, value):
    values = list(gdf[column]) if column in gdf else [None] * len(gdf)
    values[i] = value
    gdf = gdf.copy()
    gdf[column] = pd.Series(values, index=gdf.index, dtype=object)
    return gdf


@pytest.mark.parametrize("layer", list(BUILDERS))
def test_valid_layers_are_accepted_typed_and_ordered(layer):
    gdf = BUILDERS[layer]()
    gdf["surveyor_note"] = ["a", "b", "c"]
    gdf.index = [10, 20, 30]
    result = validate_layer(gdf, layer, file="ok.geojson")
    assert result.report.ok, result.report.errors
    assert result.report.file == "ok.geojson"
    assert result.report.layer == layer
    out = result.frame
    from minemap.layers import get_schema

    schema = get_schema(layer)
    assert list(out.columns) == [*schema.field_names, "surveyor_note", "geometry"]
    assert list(out.index) == [0, 1, 2]
    assert out.crs.to_epsg() == 4326
    expected = {
        "str": "str",
        "enum": "str",
        "int": "Int64",
        "float": "float64",
        "bool": "boolean",
        "date": "datetime64[ns]",
    }
    for f in schema.fields:
        assert str(out[f.name].dtype) == expected[f.kind], f.name
    assert list(out["surveyor_note"]) == ["a", "b", "c"]


def test_missing_required_column_is_one_file_error_with_map_hint():
    gdf = hazards().drop(columns=["hazard_type"])
    result = validate_layer(gdf, "hazards", file="h.csv")
    [error] = result.report.errors
    assert error.feature == "file"
    assert error.field == "hazard_type"
    assert "required column hazard_type is missing" in error.problem
    assert "--map SRC=hazard_type" in error.fix


def test_missing_required_value_is_per_feature():
    gdf = _set(hazards(), "hazard_type", 2, "  ")
    gdf = _set(gdf, "contamination", 0, None)
    result = validate_layer(gdf, "hazards")
    assert {(e.feature, e.field) for e in result.report.errors} == {
        ("feature 2 (hazard_id H-0002)", "hazard_type"),
        ("feature 0 (hazard_id H-0000)", "contamination"),
    }


def test_user_mapping_wins_and_is_recorded_and_case_insensitive():
    gdf = hazards().rename(columns={"hazard_type": "Class", "hazard_id": "ID"})
    gdf["Date"] = gdf.pop("date")
    result = validate_layer(gdf, "hazards", mapping={"class": "Hazard_Type"})
    assert result.report.ok, result.report.errors
    assert result.report.column_mapping == {
        "Class": "hazard_type",
        "contamination": "contamination",
        "Date": "date",
        "ID": "hazard_id",
    }
    assert list(result.frame["hazard_type"]) == ["SHA", "CHA", "SHA"]


def test_mapping_errors_name_the_bad_target_and_missing_source():
    result = validate_layer(hazards(), "hazards", mapping={"nosuch": "hazard_type", "date": "when"})
    problems = [e.problem for e in result.report.errors]
    assert any("no column 'nosuch'" in p for p in problems)
    assert any("'when' is not a field of the hazards layer" in p for p in problems)


def test_lower_precedence_column_is_kept_as_extra_with_warning():
    gdf = hazards()
    gdf["id"] = ["x", "y", "z"]
    result = validate_layer(gdf, "hazards")
    assert result.report.ok
    assert list(result.frame["id"]) == ["x", "y", "z"]
    assert list(result.frame["hazard_id"]) == ["H-0000", "H-0001", "H-0002"]
    assert "kept as an extra column" in result.report.warnings[0].problem


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("three", "killed 'three' is not a whole number"),
        ("-1", "killed '-1' is negative"),
        ("2.5", "killed '2.5' is not a whole number"),
        ("5000", "implausibly large"),
        (-3, "is negative"),
        (True, "is not a whole number"),
    ],
)
def test_wrong_counts_are_rejected(value, words):
    result = validate_layer(_set(casualties(), "killed", 1, value), "casualties")
    [error] = result.report.errors
    assert error.field == "killed"
    assert words in error.problem
    assert error.feature == "feature 1 (incident_id I-1)"
    assert pd.isna(result.frame["killed"].iloc[1])


def test_numbers_from_csv_text_are_typed():
    gdf = _set(casualties(), "killed", 0, " 4 ")
    gdf = _set(gdf, "killed", 1, "2.0")
    result = validate_layer(gdf, "casualties")
    assert result.report.ok, result.report.errors
    assert list(result.frame["killed"]) == [4, 2, 0]
    gdf = farmland()
    gdf["value_per_ha"] = ["1200.5", "3e3", ""]
    out = validate_layer(gdf, "farmland").frame["value_per_ha"]
    assert out.iloc[0] == 1200.5
    assert out.iloc[1] == 3000.0
    assert np.isnan(out.iloc[2])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("No", False),
        ("1", True),
        ("0", False),
        ("так", True),
        ("Ні", False),
        ("yes", True),
        (False, False),
        (1, True),
    ],
)
def test_booleans_in_many_spellings(value, expected):
    result = validate_layer(_set(casualties(), "civilian", 0, value), "casualties")
    assert result.report.ok, result.report.errors
    assert bool(result.frame["civilian"].iloc[0]) is expected


def test_unknown_boolean_is_rejected():
    result = validate_layer(_set(casualties(), "civilian", 0, "maybe"), "casualties")
    assert "is not true or false" in result.report.errors[0].problem
    assert "так/ні" in result.report.errors[0].fix


@pytest.mark.parametrize(
    ("layer", "column", "value", "expected"),
    [
        ("hazards", "hazard_type", "cha", "CHA"),
        ("hazards", "hazard_type", "Confirmed Hazardous Area", "CHA"),
        ("hazards", "contamination", "Cluster", "CMR"),
        ("cleared", "method", " Technical_Survey ", "technical survey"),
        ("cleared", "method", "NTS", "non-technical survey"),
        ("cleared", "status", "Canceled", "cancelled"),
        ("farmland", "land_use", "Рілля", "arable"),
    ],
)
def test_enum_values_are_normalised(layer, column, value, expected):
    result = validate_layer(_set(BUILDERS[layer](), column, 0, value), layer)
    assert result.report.ok, result.report.errors
    assert result.frame[column].iloc[0] == expected


def test_unknown_enum_lists_allowed_values():
    result = validate_layer(_set(hazards(), "contamination", 1, "landmines"), "hazards")
    [error] = result.report.errors
    assert "contamination 'landmines' is not one of the allowed values" in error.problem
    assert "AP, AT, CMR, UXO, IED, mixed, unknown" in error.fix


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-04-03", "2023-04-03"),
        ("2023-04-03T22:15:00Z", "2023-04-03"),
        ("2023-04-03 08:00", "2023-04-03"),
        (dt.date(2022, 2, 24), "2022-02-24"),
        (pd.Timestamp("2022-02-24 13:45"), "2022-02-24"),
    ],
)
def test_iso_dates_are_accepted(value, expected):
    result = validate_layer(_set(hazards(), "date", 0, value), "hazards")
    assert result.report.ok, result.report.errors
    assert result.frame["date"].iloc[0] == pd.Timestamp(expected)


def test_datetime_column_is_reduced_to_dates():
    gdf = hazards()
    gdf["date"] = pd.to_datetime(["2024-01-01 10:00", "2024-01-02 23:59", "2024-01-03 00:00"])
    result = validate_layer(gdf, "hazards")
    assert result.report.ok
    assert list(result.frame["date"].dt.strftime("%Y-%m-%d")) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    assert str(result.frame["date"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("03/04/2023", "could be 2023-04-03 (day first) or 2023-03-04 (month first)"),
        ("25.12.2023", "did you mean 2023-12-25?"),
        ("1/2/23", "two-digit year"),
        ("2023-02-30", "not a real calendar date"),
        ("yesterday", "is not an ISO 8601 date"),
        ("1850-01-01", "before 1900"),
        ((dt.date.today() + dt.timedelta(days=1)).isoformat(), "is in the future"),
    ],
)
def test_bad_dates_are_rejected_never_guessed(value, words):
    result = validate_layer(_set(hazards(), "date", 1, value), "hazards")
    [error] = result.report.errors
    assert error.field == "date"
    assert words in error.problem
    assert "YYYY-MM-DD" in error.fix or "check" in error.fix
    assert pd.isna(result.frame["date"].iloc[1])


def test_duplicate_id_with_identical_content_is_rejected_naming_first():
    gdf = hazards()
    gdf = pd.concat([gdf, gdf.iloc[[1]]], ignore_index=True)
    result = validate_layer(gdf, "hazards")
    [error] = result.report.errors
    assert error.feature == "feature 3 (hazard_id H-0001)"
    assert "repeats feature 1 (hazard_id H-0001)" in error.problem


def test_conflicting_ids_reject_every_copy_and_name_the_fields():
    gdf = _set(hazards(), "hazard_id", 2, "H-0000")
    result = validate_layer(gdf, "hazards")
    assert [e.feature for e in result.report.errors] == [
        "feature 0 (hazard_id H-0000)",
        "feature 2 (hazard_id H-0000)",
    ]
    assert "(date, geometry differ)" in result.report.errors[0].problem


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("H-\u200b7", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffH-7", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("H-\x007", "control characters"),
        (" H-7", "leading or trailing whitespace"),
        ("H-7\t", "U+0009"),
    ],
)
def test_ids_with_invisible_characters_are_rejected(value, words):
    result = validate_layer(_set(hazards(), "hazard_id", 1, value), "hazards")
    [error] = result.report.errors
    assert error.field == "hazard_id"
    assert words in error.problem
    for ch in ("\u200b", "\ufeff", "\x00", "\t"):
        assert ch not in str(error)  # escaped, so the message shows what is wrong


def test_overlong_text_is_rejected_not_truncated():
    long = "x" * 1001
    gdf = hazards()
    gdf["evidence"] = ["seen by farmer", long, None]
    result = validate_layer(gdf, "hazards")
    [error] = result.report.errors
    assert "1001 characters long; the limit is 1000" in error.problem
    assert "never truncates" in error.fix


def test_empty_file_is_an_error():
    result = validate_layer(hazards().iloc[:0], "hazards")
    assert "no features" in result.report.errors[0].problem
    assert len(result.frame) == 0


def test_cleared_area_column_is_typed_as_float():
    gdf = cleared()
    gdf["area_m2"] = ["", None, np.nan]
    result = validate_layer(gdf, "cleared")
    assert result.report.ok
    assert result.frame["area_m2"].isna().all()
