"""Column-mapping files (``--map-file``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minemap import UploadError
from minemap.io import read_mapping_file


def test_text_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "map.txt"
    path.write_text(
        "# survey export of team 3\nKind = hazard_type\n\nNo.=hazard_id  # id\n", "utf-8"
    )
    assert read_mapping_file(path) == {"Kind": "hazard_type", "No.": "hazard_id"}


def test_toml_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[columns]\n"Тип" = "hazard_type"\nid = "hazard_id"\n', "utf-8")
    assert read_mapping_file(path) == {"Тип": "hazard_type", "id": "hazard_id"}


def test_every_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "map.txt"
    path.write_text("Kind hazard_type\nok=hazard_id\n=date\n", "utf-8")
    with pytest.raises(UploadError, match=r"line 1: .*line 3: ") as info:
        read_mapping_file(path)
    assert "map.txt" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="cannot be read"):
        read_mapping_file(tmp_path / "nope.txt")
