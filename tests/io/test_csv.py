"""CSV uploads: delimiters, encodings, decimal commas, DMS, WKT, line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from minemap import UploadError
from minemap.io import read_upload
from minemap.io._csv import parse_coordinate


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "u.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_plain_csv_points_strings_and_line_labels(tmp_path):
    path = write(tmp_path, "incident_id,lat,lon,killed\nA1,48.5,37.25,2\nA2,49.0,36.0,\n")
    result = read_upload(path)
    assert result.format == "csv"
    assert list(result.frame.columns) == ["incident_id", "lat", "lon", "killed", "geometry"]
    assert result.frame["killed"].iloc[0] == "2"  # values stay strings
    assert result.frame["killed"].isna().iloc[1]  # empty cell → missing
    assert result.frame.geometry.iloc[0].equals(shapely.Point(37.25, 48.5))
    assert result.labels.tolist() == ["CSV line 2", "CSV line 3"]
    assert result.report.ok


def test_cp1251_semicolon_decimal_comma(tmp_path):
    text = "ід;широта;довгота;опис\r\n1;48,5;37,25;Поле біля села\r\n2;49,125;36,5;Ліс\r\n"
    result = read_upload(write(tmp_path, text, encoding="cp1251"))
    frame = result.frame
    assert list(frame.columns)[:4] == ["ід", "широта", "довгота", "опис"]
    assert frame["опис"].tolist() == ["Поле біля села", "Ліс"]
    assert frame.geometry.iloc[0].equals(shapely.Point(37.25, 48.5))
    assert frame.geometry.iloc[1].equals(shapely.Point(36.5, 49.125))
    problems = " | ".join(r.problem for r in result.report.repairs)
    assert "Windows-1251" in problems
    assert "separated by ';'" in problems
    assert "decimal comma" in problems
    assert result.report.ok


def test_utf8_bom_and_tab_delimiter(tmp_path):
    text = "\ufeffname\tLatitude\tLongitude\nx\t50.1\t30.2\n"
    result = read_upload(write(tmp_path, text))
    assert result.frame.columns[0] == "name"
    assert result.frame.geometry.iloc[0].equals(shapely.Point(30.2, 50.1))
    problems = " | ".join(r.problem for r in result.report.repairs)
    assert "byte-order mark" in problems
    assert "tab" in problems


def test_dms_converted_with_record(tmp_path):
    text = 'id,lat,lon\n1,"48°30\'15""N","37°15\'0""E"\n2,48 30 15 S,37d15m W\n'
    result = read_upload(write(tmp_path, text))
    assert result.report.ok, result.report.errors
    p1, p2 = result.frame.geometry
    assert p1.y == pytest.approx(48 + 30 / 60 + 15 / 3600)
    assert p1.x == pytest.approx(37.25)
    assert p2.y == pytest.approx(-(48 + 30 / 60 + 15 / 3600))
    assert p2.x == pytest.approx(-37.25)
    dms = [r for r in result.report.repairs if "degrees-minutes-seconds" in r.problem]
    assert {r.field for r in dms} == {"lat", "lon"}


@pytest.mark.parametrize(
    ("text", "axis", "expected"),
    [
        ("48.5", "lat", 48.5),
        (" -37,25 ", "lon", -37.25),
        ("48°30'N", "lat", 48.5),
        ("N48°30'15\"", "lat", 48 + 30 / 60 + 15 / 3600),
        ("48º 30′ 15.5″ N", "lat", 48 + 30 / 60 + 15.5 / 3600),
        ("-48°30'", "lat", -48.5),
        ("37° 30.5' E", "lon", 37 + 30.5 / 60),
    ],
)
def test_parse_coordinate(text, axis, expected):
    assert parse_coordinate(text, axis)[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "axis", "reason"),
    [
        ("48°30'15\"E", "lat", "swapped"),
        ("48°75'N", "lat", "below 60"),
        ("abc", "lat", "not a number"),
        ("nan", "lon", "finite"),
        ("-48°30'S", "lat", "sign and a hemisphere"),
    ],
)
def test_parse_coordinate_refuses(text, axis, reason):
    with pytest.raises(ValueError, match=reason):
        parse_coordinate(text, axis)


def test_unparseable_values_are_errors_with_line_numbers(tmp_path):
    text = 'id,lat,lon\n1,48.5,37.2\n2,"forty, eight",37.1\n\n3,48.6,\n4,48.7,37.3\n'
    result = read_upload(write(tmp_path, text))
    errors = result.report.errors
    assert [(e.feature, e.field) for e in errors] == [("CSV line 3", "lat"), ("CSV line 5", "lon")]
    assert "forty, eight" in errors[0].problem
    assert result.labels.tolist() == ["CSV line 2", "CSV line 3", "CSV line 5", "CSV line 6"]
    geoms = result.frame.geometry
    assert geoms.iloc[1] is None
    assert geoms.iloc[2] is None
    assert geoms.iloc[3].equals(shapely.Point(37.3, 48.7))


def test_multiline_quoted_field_keeps_line_numbers(tmp_path):
    text = 'id,note,lat,lon\n1,"two\nlines",48.5,37.2\n2,x,bad,37.0\n'
    result = read_upload(write(tmp_path, text))
    assert result.labels.tolist() == ["CSV line 2", "CSV line 4"]
    assert result.report.errors[0].feature == "CSV line 4"
    assert result.frame["note"].iloc[0] == "two\nlines"


def test_row_with_wrong_number_of_values(tmp_path):
    text = "id,lat,lon\n1,48.5,37.2,extra\n2,48.6,37.3,,\n"
    result = read_upload(write(tmp_path, text))
    assert [e.feature for e in result.report.errors] == ["CSV line 2"]
    assert "4 values but the header has 3" in result.report.errors[0].problem
    assert result.frame.geometry.iloc[1].equals(shapely.Point(37.3, 48.6))


def test_wkt_column_with_z_dropped(tmp_path):
    text = (
        'hazard_id;wkt\nH1;"POLYGON ((30 50, 30.1 50, 30.1 50.1, 30 50))"\n'
        "H2;POINT Z (31 51 100)\nH3;POLYGON ((broken\n"
    )
    result = read_upload(write(tmp_path, text))
    geoms = result.frame.geometry
    assert geoms.iloc[0].equals(shapely.from_wkt("POLYGON ((30 50, 30.1 50, 30.1 50.1, 30 50))"))
    assert geoms.iloc[1].equals(shapely.Point(31, 51))
    assert geoms.iloc[2] is None
    assert [e.feature for e in result.report.errors] == ["CSV line 4"]
    assert any("3-D" in r.problem for r in result.report.repairs)
    assert "wkt" in result.frame.columns  # source column kept


def test_no_coordinate_columns_rejected_listing_columns(tmp_path):
    with pytest.raises(UploadError, match=r"no coordinate columns.*'name', 'value'"):
        read_upload(write(tmp_path, "name,value\na,1\n"))


def test_single_column_text_is_not_csv(tmp_path):
    with pytest.raises(UploadError, match="not a recognisable CSV"):
        read_upload(write(tmp_path, "just some text\nwithout delimiters\n"))


def test_duplicate_header_rejected(tmp_path):
    with pytest.raises(UploadError, match="'lat' twice"):
        read_upload(write(tmp_path, "lat,lat,lon\n1,2,3\n"))


def test_undecodable_bytes_rejected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"lat,lon,name\n48.5,37.2,\x81\x98\x81\n")
    with pytest.raises(UploadError, match="not valid UTF-8"):
        read_upload(path)
