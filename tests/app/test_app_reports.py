"""AppTest of the Reports page: the generator is hosted, and no personal data gets out."""

from __future__ import annotations

from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "minemap_app" / "app.py"
PLANTED_NAME = "Olena Plantedname"  # as in conftest.seed_files


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_report_is_built_and_carries_no_victim_name(seeded_store, fmt):
    from tests.app.conftest import signed_in

    at = signed_in("planner", timeout=180)
    at.switch_page("views/reports.py").run()
    assert not at.exception, at.exception
    at.radio(key="report_format").set_value(fmt).run()
    at.button(key="report_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    ready_fmt, data = at.session_state["report_ready"]
    assert ready_fmt == fmt
    assert len(data) > 100
    if fmt == "xlsx":  # zipped XML: read the cells, a byte scan would prove nothing
        import io

        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        text = " ".join(
            str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
        )
    else:
        text = data.decode("utf-8")
    assert text.strip()
    assert PLANTED_NAME not in text
    assert [b.label for b in at.get("download_button")] == [f"Завантажити звіт ({fmt.upper()})"]
