"""Synthetic national-scale layers for the risk benchmark (fixed seed, canonical schemas).

Sizes (``L`` is the national scale of issue 3; ``M`` and ``S`` are 1/10 and 1/100 of it):

====  ===========  ========  =======  ========  ==========
size  parcels      strikes   hazards  released  casualties
====  ===========  ========  =======  ========  ==========
S         10,000     1,500      200       500         100
M        100,000    15,000    2,000     5,000       1,000
L      1,000,000   150,000   20,000    50,000      10,000
====  ===========  ========  =======  ========  ==========

Everything lies inside a coarse outline of Ukraine. Evidence clusters near an eastern/southern
"front" line (Kharkiv border – Kupiansk – Bakhmut – Avdiivka – Vuhledar – Orikhiv – the Dnipro
to Kherson), with a thinner spread over the rest of the country:

* strikes come in salvos (1–12 impacts within ~1 km of a salvo centre), 85 % near the front;
  munition types are a mix of catalogue names in Latin and Cyrillic spellings plus unmatched
  free text;
* hazards are irregular polygons (radius median ~300 m, up to ~3 km), 70 % near the front,
  30 % CHA;
* released polygons: 60 % cut into a hazard (partial release), 40 % around strike sites;
* casualties: 80 % near the front, with device types of every casualty-buffer class;
* farmland: blocks of ~500 strip parcels (80–250 m × 0.8–1.5 km, shared edges, a rotation per
  block) laid on a 12 km lattice, more blocks near the front.

Run ``python benchmarks/synth.py --size S --out DIR`` to write GeoParquet files, or import
:func:`generate`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from minemap.layers import get_schema

__all__ = ["SIZES", "generate"]

SEED = 20260323

SIZES: dict[str, dict[str, int]] = {
    "S": {"parcels": 10_000, "strikes": 1_500, "hazards": 200, "released": 500, "casualties": 100},
    "M": {
        "parcels": 100_000,
        "strikes": 15_000,
        "hazards": 2_000,
        "released": 5_000,
        "casualties": 1_000,
    },
    "L": {
        "parcels": 1_000_000,
        "strikes": 150_000,
        "hazards": 20_000,
        "released": 50_000,
        "casualties": 10_000,
    },
}

# coarse outline of Ukraine (lon, lat), incl. Crimea; enough for "inside Ukraine"
_OUTLINE = [
    (22.14, 48.42), (22.64, 49.53), (23.70, 50.40), (24.10, 50.85), (23.60, 51.50),
    (24.40, 51.90), (25.80, 51.93), (27.20, 51.60), (28.30, 51.57), (29.30, 51.37),
    (30.55, 51.25), (30.90, 52.05), (32.20, 52.10), (33.80, 52.35), (34.40, 51.75),
    (35.40, 51.05), (36.20, 50.40), (37.50, 50.30), (38.20, 50.05), (39.20, 49.85),
    (40.15, 49.60), (40.00, 48.80), (39.75, 47.85), (38.25, 47.10), (36.60, 46.75),
    (35.20, 46.35), (34.70, 46.10), (35.40, 45.30), (36.60, 45.40), (34.50, 44.40),
    (33.40, 44.60), (32.50, 45.40), (33.60, 46.10), (31.80, 46.30), (30.80, 46.55),
    (30.20, 45.85), (29.70, 45.25), (28.20, 45.50), (30.00, 46.40), (29.20, 47.50),
    (27.80, 48.30), (26.60, 48.25), (24.90, 47.75), (23.20, 48.00), (22.14, 48.42),
]  # fmt: skip
_FRONT = [
    (36.30, 50.45), (37.60, 49.70), (38.05, 49.00), (38.00, 48.60), (37.75, 48.14),
    (37.30, 47.80), (36.50, 47.60), (35.80, 47.45), (35.00, 47.50), (34.50, 47.45),
    (33.60, 46.85), (32.60, 46.60), (31.90, 46.50),
]  # fmt: skip

_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
_TO_LL = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)

_DTYPES = {
    "str": "object",
    "enum": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
}

STRIKE_TYPES = [
    ("9M55K", 0.12), ("Смерч", 0.08), ("9М27К", 0.08), ("Uragan", 0.06), ("M26", 0.03),
    ("155mm DPICM", 0.06), ("M864", 0.02), ("РБК-500", 0.05), ("PTAB-1M", 0.03),
    ("9M218", 0.03), ("Iskander cluster", 0.01), ("3-O-23", 0.02), ("M30 GMLRS", 0.01),
    ("Grad", 0.15), ("152mm HE shell", 0.12), ("unknown rocket", 0.13),
]  # fmt: skip
CASUALTY_DEVICES = [
    ("PMN-2 anti-personnel mine", 0.2), ("PFM-1 butterfly mine", 0.1), ("TM-62M", 0.2),
    ("9N235 submunition", 0.15), ("артснаряд 152 мм", 0.15), ("IED tripwire", 0.05),
    (None, 0.15),
]  # fmt: skip
LAND_USE = [("arable", 0.75), ("pasture", 0.1), ("hayfield", 0.05), ("orchard", 0.04),
            ("fallow", 0.04), ("vineyard", 0.02)]  # fmt: skip
METHODS = [("manual", 0.3), ("mechanical", 0.3), ("technical survey", 0.2),
           ("non-technical survey", 0.2)]  # fmt: skip
CROPS = [("wheat", 0.4), ("sunflower", 0.3), ("maize", 0.3)]
VALUE = {"arable": 28_000.0, "pasture": 8_000.0, "hayfield": 9_000.0, "orchard": 90_000.0,
         "fallow": 2_000.0, "vineyard": 120_000.0}  # fmt: skip


def _metric(coords: list[tuple[float, float]]) -> np.ndarray:
    lon, lat = np.array(coords).T
    return np.column_stack(_TO_M.transform(lon, lat))


_OUTLINE_M = shapely.Polygon(_metric(_OUTLINE))
_FRONT_M = shapely.LineString(_metric(_FRONT))
shapely.prepare(_OUTLINE_M)


def _inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return shapely.contains_xy(_OUTLINE_M, x, y)


def _near_front(rng: np.random.Generator, n: int, sigma_m: float) -> tuple[np.ndarray, np.ndarray]:
    """n points inside the outline, normally scattered around the front line."""
    xs, ys = [], []
    need = n
    while need > 0:
        k = int(need * 1.6) + 16
        t = rng.random(k) * _FRONT_M.length
        base = shapely.line_interpolate_point(_FRONT_M, t)
        bx, by = shapely.get_x(base), shapely.get_y(base)
        x = bx + rng.normal(0.0, sigma_m, k)
        y = by + rng.normal(0.0, sigma_m, k)
        ok = _inside(x, y)
        xs.append(x[ok][:need])
        ys.append(y[ok][:need])
        need -= len(xs[-1])
    return np.concatenate(xs), np.concatenate(ys)


def _uniform(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = _OUTLINE_M.bounds
    xs, ys = [], []
    need = n
    while need > 0:
        k = int(need * 2.2) + 16
        x = rng.uniform(minx, maxx, k)
        y = rng.uniform(miny, maxy, k)
        ok = _inside(x, y)
        xs.append(x[ok][:need])
        ys.append(y[ok][:need])
        need -= len(xs[-1])
    return np.concatenate(xs), np.concatenate(ys)


def _mix(rng, n, share_front, sigma_m):
    n_front = round(n * share_front)
    fx, fy = _near_front(rng, n_front, sigma_m)
    ux, uy = _uniform(rng, n - n_front)
    x, y = np.concatenate([fx, ux]), np.concatenate([fy, uy])
    perm = rng.permutation(n)
    return x[perm], y[perm]


def _blobs(rng, x, y, radius, *, vertices=16) -> np.ndarray:
    """Irregular star-shaped polygons around (x, y) with mean radius ``radius``."""
    n = len(x)
    ang = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    noise = rng.uniform(0.65, 1.35, (n, vertices))
    r = radius[:, None] * noise
    coords = np.empty((n, vertices + 1, 2))
    coords[:, :-1, 0] = x[:, None] + r * np.cos(ang)[None, :]
    coords[:, :-1, 1] = y[:, None] + r * np.sin(ang)[None, :]
    coords[:, -1] = coords[:, 0]
    return shapely.polygons(coords)


def _to_ll_geoms(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(_TO_LL.transform(*xy.T)))


def _points_ll(x, y) -> np.ndarray:
    lon, lat = _TO_LL.transform(x, y)
    return shapely.points(lon, lat)


def _choice(rng, table, n):
    values = [v for v, _ in table]
    p = np.array([w for _, w in table], dtype=float)
    idx = rng.choice(len(values), size=n, p=p / p.sum())
    return np.array(values, dtype=object)[idx]


def _dates(rng, n, start="2022-02-24", end="2025-06-30") -> pd.Series:
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    days = rng.integers(0, (e - s).days + 1, n)
    return pd.Series(s + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")


def canonical(layer: str, geoms, **columns) -> gpd.GeoDataFrame:
    """A canonical frame of ``layer`` (every schema field; the rest NA), EPSG:4326."""
    n = len(geoms)
    data = {}
    for field in get_schema(layer).fields:
        dtype = _DTYPES[field.kind]
        if field.name in columns:
            values = columns[field.name]
            if values is None or isinstance(values, (str, int, float, bool)):
                values = [values] * n
            data[field.name] = pd.Series(np.asarray(values, dtype=object), dtype=dtype)
        else:
            data[field.name] = pd.Series([None] * n, dtype=dtype)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def _strikes(rng, n):
    n_salvo = max(1, n // 5)
    sx, sy = _mix(rng, n_salvo, 0.85, 20_000.0)
    salvo = rng.integers(0, n_salvo, n)
    x = sx[salvo] + rng.normal(0, 500.0, n)
    y = sy[salvo] + rng.normal(0, 500.0, n)
    types = _choice(rng, STRIKE_TYPES, n)
    cluster = ~np.isin(types, ["Grad", "152mm HE shell"]) & (rng.random(n) < 0.95)
    uxo = np.where(rng.random(n) < 0.1, rng.integers(1, 20, n), None)
    return canonical(
        "strikes",
        _points_ll(x, y),
        strike_id=[f"S{i:07d}" for i in range(n)],
        date=_dates(rng, n),
        munition_type=types,
        cluster_munition=cluster,
        uxo_reported=uxo,
        status="reported",
        source="synthetic",
    ), (x, y)


def _hazards(rng, n):
    x, y = _mix(rng, n, 0.7, 30_000.0)
    radius = np.clip(rng.lognormal(np.log(300.0), 0.8, n), 50.0, 3000.0)
    geoms = _blobs(rng, x, y, radius, vertices=int(rng.integers(12, 25)))
    kind = np.where(rng.random(n) < 0.3, "CHA", "SHA")
    return canonical(
        "hazards",
        _to_ll_geoms(geoms),
        hazard_id=[f"H{i:06d}" for i in range(n)],
        date=_dates(rng, n),
        hazard_type=kind,
        contamination=_choice(rng, [("CMR", 0.4), ("UXO", 0.3), ("AP", 0.15), ("AT", 0.15)], n),
        status="active",
    ), (x, y, radius)


def _released(rng, n, hz_xyr, strike_xy):
    hx, hy, hr = hz_xyr
    sx, sy = strike_xy
    n_h = int(n * 0.6)
    pick = rng.integers(0, len(hx), n_h)
    ang = rng.uniform(0, 2 * np.pi, n_h)
    off = hr[pick] * rng.uniform(0.0, 1.0, n_h)
    x1 = hx[pick] + off * np.cos(ang)
    y1 = hy[pick] + off * np.sin(ang)
    r1 = hr[pick] * rng.uniform(0.3, 1.0, n_h)
    n_s = n - n_h
    pick_s = rng.integers(0, len(sx), n_s)
    x2 = sx[pick_s] + rng.normal(0, 150.0, n_s)
    y2 = sy[pick_s] + rng.normal(0, 150.0, n_s)
    r2 = rng.uniform(100.0, 300.0, n_s)
    x, y, r = np.concatenate([x1, x2]), np.concatenate([y1, y2]), np.concatenate([r1, r2])
    geoms = _blobs(rng, x, y, r, vertices=10)
    return canonical(
        "cleared",
        _to_ll_geoms(geoms),
        survey_id=[f"R{i:06d}" for i in range(n)],
        date=_dates(rng, n, start="2022-06-01"),
        team=[f"team {i % 40}" for i in range(n)],
        operator=_choice(rng, [("SESU", 0.5), ("HALO", 0.2), ("FSD", 0.15), ("DRC", 0.15)], n),
        status=_choice(rng, [("cleared", 0.3), ("reduced", 0.3), ("cancelled", 0.4)], n),
        method=_choice(
            rng,
            [
                ("manual", 0.3),
                ("mechanical", 0.3),
                ("technical survey", 0.2),
                ("non-technical survey", 0.2),
            ],
            n,
        ),
    )


def _casualties(rng, n):
    x, y = _mix(rng, n, 0.8, 25_000.0)
    killed = rng.binomial(2, 0.25, n)
    injured = np.maximum(rng.binomial(3, 0.4, n), (killed == 0).astype(int))
    return canonical(
        "casualties",
        _points_ll(x, y),
        incident_id=[f"I{i:06d}" for i in range(n)],
        date=_dates(rng, n),
        killed=killed,
        injured=injured,
        civilian=rng.random(n) < 0.8,
        munition_type=_choice(rng, CASUALTY_DEVICES, n),
    )


def _farmland(rng, n):
    cols, rows = 50, 10
    per_block = cols * rows
    n_blocks = math.ceil(n / per_block)
    cell = 12_000.0
    minx, miny, maxx, maxy = _OUTLINE_M.bounds
    gx = np.arange(minx + cell / 2, maxx, cell)
    gy = np.arange(miny + cell / 2, maxy, cell)
    cx, cy = (a.ravel() for a in np.meshgrid(gx, gy))
    ok = _inside(cx, cy)
    cx, cy = cx[ok], cy[ok]
    dist = shapely.distance(_FRONT_M, shapely.points(cx, cy))
    weight = np.exp(-dist / 40_000.0) + 0.02
    pick = rng.choice(len(cx), size=min(n_blocks, len(cx)), replace=False, p=weight / weight.sum())
    polys = []
    for b in pick:
        widths = rng.uniform(80.0, 250.0, (rows, cols))
        widths *= 7_500.0 / widths.sum(axis=1, keepdims=True)  # each row is 7.5 km wide
        lengths = rng.uniform(800.0, 1_100.0, rows)
        x0 = np.concatenate([np.zeros((rows, 1)), np.cumsum(widths, axis=1)[:, :-1]], axis=1)
        y0 = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])[:, None] * np.ones((1, cols))
        x1 = x0 + widths
        y1 = y0 + lengths[:, None]
        corners = np.stack(
            [np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x1, y1], -1),
             np.stack([x0, y1], -1), np.stack([x0, y0], -1)],
            axis=2,
        ).reshape(-1, 5, 2)  # fmt: skip
        corners -= corners.reshape(-1, 2).mean(axis=0)
        theta = rng.uniform(-0.5, 0.5)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        corners = corners @ rot.T + np.array([cx[b], cy[b]])
        polys.append(corners)
    coords = np.concatenate(polys)[:n]
    geoms = shapely.polygons(coords)
    use = _choice(rng, LAND_USE, len(geoms))
    crop = np.where(use == "arable", _choice(rng, CROPS, len(geoms)), None)
    value = np.array([VALUE[u] for u in use]) * rng.uniform(0.8, 1.2, len(geoms))
    return canonical(
        "farmland",
        _to_ll_geoms(geoms),
        parcel_id=[f"UA-{i:07d}" for i in range(len(geoms))],
        land_use=use,
        crop=crop,
        value_per_ha=value,
    )


def generate(size: str = "S", *, seed: int = SEED) -> dict[str, gpd.GeoDataFrame]:
    """Canonical layers ``strikes``, ``hazards``, ``cleared``, ``casualties``, ``farmland``."""
    try:
        n = SIZES[size.upper()]
    except KeyError:
        raise ValueError(f"size must be one of {', '.join(SIZES)}; got {size!r}") from None
    rng = np.random.default_rng(seed)
    strikes, strike_xy = _strikes(rng, n["strikes"])
    hazards, hz_xyr = _hazards(rng, n["hazards"])
    released = _released(rng, n["released"], hz_xyr, strike_xy)
    casualties = _casualties(rng, n["casualties"])
    farmland = _farmland(rng, n["parcels"])
    return {
        "strikes": strikes,
        "hazards": hazards,
        "cleared": released,
        "casualties": casualties,
        "farmland": farmland,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", choices=list(SIZES))
    parser.add_argument("--out", type=Path, required=True, help="directory for .parquet files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in generate(args.size).items():
        frame.to_parquet(args.out / f"{name}.parquet")
        print(f"{name}: {len(frame):,} rows")


if __name__ == "__main__":
    main()
