"""``minemap report`` run as a real process."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minemap.cli.report import write_output

REPO = Path(__file__).resolve().parents[2]
# registers the command even before the lead's import line in minemap/cli/__init__.py
# (a lone Typer command would run without its name, so a no-op callback keeps the group)
_ENTRY = (
    "import minemap.cli.report\n"
    "from minemap.cli import app, main\n"
    "if len(app.registered_commands) < 2 and app.registered_callback is None:\n"
    "    app.callback()(lambda: None)\n"
    "main()"
)


def run_report(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300", "NO_COLOR": "1"}
    env.pop("MINEMAP_STORE", None)
    return subprocess.run(
        [sys.executable, "-c", _ENTRY, "report", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_unknown_output_format_is_a_usage_error(tmp_path):
    result = run_report("--out", str(tmp_path / "r.docx"))
    assert result.returncode == 2
    assert ".pdf, .xlsx or .csv" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--lang", "de"], "uk or en"),
        (["--from", "2024-13-01"], "YYYY-MM-DD"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, args, needle):
    result = run_report("--out", str(tmp_path / "r.pdf"), *args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_missing_store_is_a_clear_error(tmp_path):
    result = run_report("--out", str(tmp_path / "r.csv"), "--store", str(tmp_path / "no.gpkg"))
    assert result.returncode == 1
    assert "error" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.csv").exists()


def test_write_output_is_atomic(tmp_path):
    target = tmp_path / "r.pdf"
    write_output(target, b"%PDF-1.4 test")
    assert target.read_bytes() == b"%PDF-1.4 test"
    with pytest.raises(FileNotFoundError):
        write_output(tmp_path / "missing" / "r.pdf", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]


def test_report_from_a_real_store_has_figures_and_no_victims(tmp_path):
    store_mod = pytest.importorskip("minemap.store", reason="store branch not merged yet")
    from minemap._report import Report
    from tests.reports.conftest import VICTIM_NAME, make_layers

    store = store_mod.open_store(tmp_path / "s.gpkg")
    for name, frame in make_layers().items():
        data = frame.drop(columns="batch_id")
        sha = hashlib.sha256(name.encode()).hexdigest()
        store.ingest(
            data,
            layer=name,
            report=Report(file=f"{name}.geojson", layer=name),
            file_name=f"{name}.geojson",
            sha256=sha,
        )
    for suffix in ("pdf", "xlsx", "csv"):
        out = tmp_path / f"r.{suffix}"
        result = run_report(
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.gpkg"),
            "--from",
            "2024-01-01",
            "--to",
            "2024-03-31",
            "--lang",
            "uk",
        )
        assert result.returncode == 0, result.stderr
        assert VICTIM_NAME.encode() not in out.read_bytes()
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "450,00" in text
    assert "cleared.geojson" in text


def test_area_defaults_to_the_bundled_oblast_outlines(tmp_path):
    from minemap._report import Report
    from minemap.store import open_store
    from tests.reports.conftest import make_cleared

    store = open_store(tmp_path / "s.gpkg")
    store.ingest(
        make_cleared().drop(columns="batch_id"),
        layer="cleared",
        report=Report(file="c.geojson", layer="cleared"),
        file_name="c.geojson",
        sha256="1" * 64,
    )
    base = ("--store", str(tmp_path / "s.gpkg"), "--plan-top", "0")
    # the fixture's releases lie in Mykolaiv oblast (see conftest.ORIGIN_3035)
    inside = run_report("--out", str(tmp_path / "m.csv"), *base, "--area", "Mykolaiv Oblast")
    assert inside.returncode == 0, inside.stderr
    outside = run_report("--out", str(tmp_path / "k.csv"), *base, "--area", "Kharkiv Oblast")
    assert outside.returncode == 0, outside.stderr

    def released_ha(path):
        for line in path.read_text("utf-8-sig").splitlines():
            if line.startswith("Summary,Land released (all methods),Value,"):
                return float(line.rsplit(",", 1)[1])
        raise AssertionError(f"no released-land row in {path.name}")

    assert released_ha(tmp_path / "m.csv") > 0
    assert released_ha(tmp_path / "k.csv") == 0
    unknown = run_report("--out", str(tmp_path / "x.csv"), *base, "--area", "Atlantis")
    assert unknown.returncode == 1
    assert "Atlantis" in " ".join(unknown.stderr.replace("│", " ").split())
    assert "Traceback" not in unknown.stderr
    assert not (tmp_path / "x.csv").exists()


def test_report_for_an_area_from_a_boundaries_file(tmp_path):
    store_mod = pytest.importorskip("minemap.store", reason="store branch not merged yet")
    pytest.importorskip("minemap.io", reason="io branch not merged yet")
    import geopandas as gpd

    from minemap._report import Report
    from tests.reports.conftest import box_km, make_cleared, to_4326

    store = store_mod.open_store(tmp_path / "s.gpkg")
    cleared = make_cleared().drop(columns="batch_id")
    store.ingest(
        cleared,
        layer="cleared",
        report=Report(file="c.geojson", layer="cleared"),
        file_name="c.geojson",
        sha256="0" * 64,
    )
    admin = gpd.GeoDataFrame(
        {"name_en": ["West", "East"]},
        geometry=to_4326([box_km(-5, -5, 2, 5), box_km(2, -5, 12, 12)]),
        crs="EPSG:4326",
    )
    admin.to_file(tmp_path / "admin.geojson", driver="GeoJSON")
    out = tmp_path / "west.csv"
    result = run_report(
        "--out",
        str(out),
        "--store",
        str(tmp_path / "s.gpkg"),
        "--boundaries",
        str(tmp_path / "admin.geojson"),
        "--area",
        "west",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text("utf-8-sig")
    # only C1 ∪ C2 (150 ha) lies in "West"; R1/X1 are in "East"
    assert "Land released (all methods),Value,150" in text


def test_weights_option_names_the_plan_weights_and_refuses_a_bad_file(tmp_path):
    from minemap._report import Report
    from minemap.store import open_store
    from tests.reports.conftest import make_layers

    store = open_store(tmp_path / "s.gpkg")
    for name, frame in make_layers().items():
        store.ingest(
            frame.drop(columns="batch_id"),
            layer=name,
            report=Report(file=f"{name}.geojson", layer=name),
            file_name=f"{name}.geojson",
            sha256=hashlib.sha256(name.encode()).hexdigest(),
        )
    weights = tmp_path / "field-team.toml"
    default = (REPO / "minemap" / "risk" / "data" / "weights-default.toml").read_text("utf-8")
    weights.write_text(
        default.replace('name = "minemap-default"', 'name = "oblast-board"'), encoding="utf-8"
    )
    common = ["--store", str(tmp_path / "s.gpkg"), "--from", "2024-01-01", "--to", "2024-03-31"]
    out = tmp_path / "r.csv"
    result = run_report("--out", str(out), *common, "--weights", str(weights))
    assert result.returncode == 0, result.stderr
    assert "oblast-board v" in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n[weights]\ncasualty_risk = -1\n', encoding="utf-8")
    out.unlink()
    result = run_report("--out", str(out), *common, "--weights", str(bad))
    assert result.returncode == 1
    assert "bad.toml" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
