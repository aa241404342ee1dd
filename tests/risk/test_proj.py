"""The compiled LAEA projection kernels (minemap.risk._proj_kernels) against pyproj/PROJ.

Every 4326 ↔ metric transform of the risk core goes through ``_spatial._transformer``; for
EPSG:3035 and the custom LAEA CRSs of ``equal_area_crs_for`` it runs the kernels. These tests
compare it, point by point, with a pyproj Transformer built here (PROJ's own numbers).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from minemap.risk import _spatial

ROOT = Path(__file__).resolve().parents[2]
WGS84 = "EPSG:4326"

# (CRS, centre lon, centre lat): EPSG:3035 and custom LAEA centres as equal_area_crs_for
# builds them (Ukraine, southern hemisphere, equator, near and at both poles, date line)
CENTRES = [
    ("EPSG:3035", 10.0, 52.0),
    *[
        (_spatial._crs_key(_spatial.equal_area_crs_for((lon - 1, lat - 1, lon + 1, lat + 1))),
         lon, lat)
        for lon, lat in [(31.2, 48.5), (18.4, -33.9), (-74.1, 4.6), (-60.0, 0.0), (179.5, -17.0)]
    ],
    *[
        (f"+proj=laea +lat_0={lat} +lon_0={lon} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
         lon, lat)
        for lon, lat in [(0.0, 90.0), (0.0, -90.0), (45.0, 89.5), (-30.0, -88.0)]
    ],
]  # fmt: skip

FWD_TOL_M = 1e-6
INV_TOL_DEG = 1e-9


def _pyproj_xy(src: str, dst: str, xy: np.ndarray) -> np.ndarray:
    t = Transformer.from_crs(src, dst, always_xy=True)
    return np.column_stack(t.transform(xy[:, 0], xy[:, 1]))


def _points(rng: np.random.Generator, lon0: float, lat0: float) -> np.ndarray:
    """Lon/lat points: near the centre (Europe/Ukraine scale), over the whole globe (up to the
    projection's edge) and within ~1° of the antipode."""
    near = np.column_stack(
        [lon0 + rng.uniform(-20, 20, 20_000), lat0 + rng.uniform(-15, 15, 20_000)]
    )
    near[:, 1] = np.clip(near[:, 1], -90, 90)
    near[:, 0] = (near[:, 0] + 180) % 360 - 180
    world = np.column_stack(
        [rng.uniform(-180, 180, 40_000), np.degrees(np.arcsin(rng.uniform(-1, 1, 40_000)))]
    )
    anti = np.column_stack(
        [
            ((lon0 + 360) % 360 - 180) + rng.uniform(-1, 1, 2000),
            np.clip(-lat0 + rng.uniform(-1, 1, 2000), -90, 90),
        ]
    )
    return np.concatenate([near, world, anti])  # fmt: skip


def _lon_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize(("crs", "lon0", "lat0"), CENTRES)
def test_kernels_match_pyproj_forward_and_inverse(crs, lon0, lat0):
    rng = np.random.default_rng(7)
    fwd = _spatial._transformer(WGS84, crs)
    inv = _spatial._transformer(crs, WGS84)
    assert fwd.is_compiled  # the kernels, not pyproj, are under test
    assert inv.is_compiled
    ll = _points(rng, lon0, lat0)
    got = fwd.transform_xy(ll)
    want = _pyproj_xy(WGS84, crs, ll)
    fin = np.isfinite(want).all(axis=1)
    np.testing.assert_array_equal(np.isfinite(got).all(axis=1), fin)
    assert fin.mean() > 0.95  # (points exactly at the antipode have no image)
    assert np.abs(got[fin] - want[fin]).max() <= FWD_TOL_M
    # inverse, on the exact projected points pyproj made
    back = inv.transform_xy(want[fin])
    back_ref = _pyproj_xy(crs, WGS84, want[fin])
    ok = np.isfinite(back_ref).all(axis=1)
    np.testing.assert_array_equal(np.isfinite(back).all(axis=1), ok)
    near_pole = np.abs(back_ref[ok, 1]) > 89.999999  # longitude is meaningless at a pole
    assert _lon_diff(back[ok, 0], back_ref[ok, 0])[~near_pole].max() <= INV_TOL_DEG
    assert np.abs(back[ok, 1] - back_ref[ok, 1]).max() <= INV_TOL_DEG


@pytest.mark.parametrize(("crs", "lon0", "lat0"), CENTRES[:3])
def test_round_trip_within_the_authalic_series_error(crs, lon0, lat0):
    """lon/lat → metric → lon/lat comes back within PROJ's own inverse-series error
    (~1.4e-8° in latitude, ~1.5 mm; longitude is exact) for points within ~2,000 km."""
    rng = np.random.default_rng(3)
    ll = np.column_stack([lon0 + rng.uniform(-15, 15, 50_000), lat0 + rng.uniform(-15, 15, 50_000)])
    fwd = _spatial._transformer(WGS84, crs)
    inv = _spatial._transformer(crs, WGS84)
    back = inv.transform_xy(fwd.transform_xy(ll))
    assert _lon_diff(back[:, 0], ll[:, 0]).max() < 1e-11
    assert np.abs(back[:, 1] - ll[:, 1]).max() < 2e-8
    # pyproj's own round trip: the same error (the kernels keep PROJ's series)
    ref = _pyproj_xy(crs, WGS84, _pyproj_xy(WGS84, crs, ll))
    assert np.abs(back[:, 1] - ref[:, 1]).max() <= INV_TOL_DEG


@pytest.mark.parametrize("crs", ["EPSG:3035", CENTRES[2][0], CENTRES[6][0]])
def test_nan_inf_and_out_of_range_as_pyproj(crs):
    lon = np.array([np.nan, 10.0, np.inf, 10.0, 10.0, 190.0, 370.0, -180.0, 180.0, 10.0, -np.inf])
    lat = np.array([50.0, np.nan, 50.0, 91.0, 90.0, 50.0, 50.0, 45.0, -45.0, -90.0, 0.0])
    ll = np.column_stack([lon, lat])
    x, y = _spatial._transformer(WGS84, crs).transform(lon, lat)
    np.testing.assert_array_equal(np.column_stack([x, y]), _pyproj_xy(WGS84, crs, ll))
    r = 12_000_000.0
    xy = np.array(
        [[np.nan, 0.0], [0.0, np.nan], [np.inf, 0.0], [1e8, 1e8], [r, 0.0], [0.0, -r],
         [-1e7, 1e7], [0.0, 0.0]]
    )  # fmt: skip
    got = _spatial._transformer(crs, WGS84).transform_xy(xy)
    np.testing.assert_array_equal(got, _pyproj_xy(crs, WGS84, xy))


def test_one_and_two_threads_give_identical_bytes():
    rng = np.random.default_rng(11)
    ll = np.column_stack([rng.uniform(22, 40, 400_000), rng.uniform(44, 52, 400_000)])
    t = _spatial._transformer(WGS84, "EPSG:3035")
    one = t.transform_xy(ll, n_threads=1)
    two = t.transform_xy(ll, n_threads=2)
    assert one.tobytes() == two.tobytes()
    inv = _spatial._transformer("EPSG:3035", WGS84)
    assert (
        inv.transform_xy(one, n_threads=1).tobytes() == inv.transform_xy(one, n_threads=2).tobytes()
    )


def test_project_of_geometries_uses_the_same_numbers():
    """project() / to_storage() / circles_to_storage's linearisation: the kernels' numbers,
    equal to pyproj's vertex by vertex."""
    polys = np.array(
        [shapely.box(30.0 + i * 0.01, 48.0, 30.005 + i * 0.01, 48.004) for i in range(50)]
    )
    metric = _spatial.project(polys, WGS84, "EPSG:3035")
    want = _pyproj_xy(WGS84, "EPSG:3035", shapely.get_coordinates(polys))
    assert np.abs(shapely.get_coordinates(metric) - want).max() <= FWD_TOL_M
    back = _spatial.to_storage(metric, CRS.from_epsg(3035))
    ref = _pyproj_xy("EPSG:3035", WGS84, shapely.get_coordinates(metric))
    assert np.abs(shapely.get_coordinates(back) - ref).max() <= INV_TOL_DEG
    # a circle of 100 m drawn in the metric CRS: its linearised lon/lat vertices lie on the
    # pyproj-projected circle within the linearisation's error (r²/2R ≈ 1 mm)
    cx, cy = want[0]
    circle = _spatial.circles_to_storage(
        np.array([cx]), np.array([cy]), np.array([100.0]), "EPSG:3035"
    )
    exact = _pyproj_xy(
        "EPSG:3035",
        WGS84,
        shapely.get_coordinates(_spatial.circles(np.array([cx]), np.array([cy]), 100.0)),
    )
    assert np.abs(shapely.get_coordinates(circle[0]) - exact).max() < 1e-7  # degrees: < 1 cm


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:32636",  # UTM: another projection
        "+proj=laea +lat_0=48 +lon_0=31 +ellps=intl +towgs84=-87,-98,-121 +units=m +no_defs",
        "+proj=laea +lat_0=48 +lon_0=31 +R=6371000 +units=m +no_defs",  # a sphere
        "+proj=laea +lat_0=48 +lon_0=31 +datum=WGS84 +units=km +no_defs",  # not metres
    ],
)
def test_other_crs_pairs_stay_with_pyproj(crs):
    fwd = _spatial._transformer(WGS84, crs)
    assert not fwd.is_compiled
    ll = np.array([[30.0, 48.0], [31.5, 49.0]])
    np.testing.assert_array_equal(fwd.transform_xy(ll), _pyproj_xy(WGS84, crs, ll))


def test_pipeline_parser_takes_only_plain_laea():
    plain = (
        "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad step proj=laea lat_0=52 "
        "lon_0=10 x_0=4321000 y_0=3210000 ellps=GRS80"
    )
    assert _spatial._laea_params_of(plain) == (
        False,
        {"lat_0": "52", "lon_0": "10", "x_0": "4321000", "y_0": "3210000", "ellps": "GRS80"},
    )
    inverse = (
        "proj=pipeline step inv proj=laea lat_0=52 lon_0=10 x_0=4321000 y_0=3210000 "
        "ellps=GRS80 step proj=unitconvert xy_in=rad xy_out=deg"
    )
    assert _spatial._laea_params_of(inverse)[0] is True
    assert _spatial._laea_params_of(plain + " over") is None  # a flag
    assert _spatial._laea_params_of(plain.replace("ellps=GRS80", "ellps=GRS80 k_0=0.9")) is None
    assert _spatial._laea_params_of(plain.replace("proj=laea", "proj=aea")) is None
    assert _spatial._laea_params_of(plain + " step proj=axisswap order=2,1") is None


def _python(code: str, **kwargs: object) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this tree's minemap."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        **kwargs,
    )


def test_import_minemap_risk_does_not_import_numba():
    """The kernels (numba) are imported on first use only: ``import minemap`` stays light."""
    code = (
        "import sys, minemap, minemap.risk, minemap.risk._spatial, minemap.risk.surface, "
        "minemap.risk.tasks; print('numba' in sys.modules)"
    )
    assert _python(code).stdout.strip() == "False"


def test_pyproj_fallback_runs_on_persistent_threads_also_after_fork():
    """The pyproj path (pairs the kernels do not take) runs on the process's persistent PROJ
    threads — the same threads call after call, so pyproj's per-thread PROJ objects are built
    once — and a forked child (which inherits the pool object, not its threads) gets its own."""
    code = """
import os, threading
import numpy as np
from minemap.risk import _spatial
t = _spatial._transformer("EPSG:4326", "EPSG:32636")
assert not t.is_compiled
ll = np.column_stack([np.linspace(30, 33, 300_000), np.linspace(46, 50, 300_000)])
first = t.transform_xy(ll, n_threads=2)
names = {th.name for th in threading.enumerate() if th.name.startswith("minemap-proj")}
t.transform_xy(ll, n_threads=2)
again = {th.name for th in threading.enumerate() if th.name.startswith("minemap-proj")}
assert names and names == again, (names, again)
pid = os.fork()
if pid == 0:
    ok = np.array_equal(t.transform_xy(ll[:1000]), first[:1000])
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""
    out = _python(code, timeout=120)
    assert out.stdout.strip() == "child 0"
