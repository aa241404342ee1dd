"""Build minemap's demo data set (``data/demo/``) for one region of Donetsk oblast.

Region: the six hromadas (Ilovaisk, Amvrosiivka, Snizhne, Novoazovsk, Kalmiuske, Sartana)
that contain the 2014 artillery crater fields mapped by MapInvestigation/Bellingcat and
published in the ARCADE repository. Real, openly licensed inputs (read from
``../shared/data/real``; see ``data/README.md`` for licences):

* OSM administrative boundaries (ODbL 1.0) → ``admin.geojson`` (hromadas and raions);
* ARCADE crater fields (BSD licence) → the real SHA polygons in ``hazards.geojson``;
* UCDP GED events (CC BY 4.0) → only *where* synthetic strikes cluster (no UCDP row is copied).

Everything else (strikes, casualties, further hazards, released land, farmland) is
synthetic, generated here from a fixed seed and labelled ``synthetic (minemap demo, seed N)``.
Running the script twice gives byte-identical files (own GeoJSON writer, sorted outputs,
coordinates rounded to 1e-6°).

Usage::

    python scripts/make_demo_data.py [--out data/demo] [--real-data ../shared/data/real]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon, box, mapping

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO))

from minemap.geometry import area_m2  # noqa: E402
from minemap.layers import LAYERS  # noqa: E402
from minemap.settings import AREA_CRS, STORAGE_CRS  # noqa: E402

SEED = 2014
SYNTHETIC = f"synthetic (minemap demo, seed {SEED})"
DEFAULT_REAL_DATA = Path(
    os.environ.get("MINEMAP_REAL_DATA", REPO.parent / "shared" / "data" / "real")
)
DEFAULT_OUT = REPO / "minemap" / "data" / "demo"

OSM_ATTRIBUTION = (
    "© OpenStreetMap contributors, ODbL 1.0 (via darmat1/ukraine-geo-data, "
    "simplified; name_en completed by minemap where OSM had none)"
)
ARCADE_ATTRIBUTION = (
    "ARCADE crater fields (© 2015 Rudiment.info, BSD licence, see data/README.md) from "
    "MapInvestigation/Bellingcat imagery analysis 2014, source_id {source_id}"
)

# The region: OSM relation ids of the hromadas holding the Donetsk-oblast crater fields.
REGION_HROMADAS: dict[str, str] = {
    "relation/17963403": "Ilovaisk Urban Hromada",
    "relation/17966577": "Amvrosiivka Urban Hromada",
    "relation/17963718": "Snizhne Urban Hromada",
    "relation/17962976": "Novoazovsk Urban Hromada",
    "relation/17963002": "Kalmiuske Urban Hromada",
    "relation/13285133": "Sartana Settlement Hromada",
}
RAION_NAMES_EN: dict[str, str] = {
    "Донецький район": "Donetsk Raion",
    "Горлівський район": "Horlivka Raion",
    "Кальміуський район": "Kalmiuske Raion",
    "Маріупольський район": "Mariupol Raion",
}
REGION_NAME = "Amvrosiivka–Snizhne–Novoazovsk border area, Donetsk Oblast"
OBLAST_EN = "Donetsk Oblast"

# Target counts (brief: ~2,000–4,000 parcels, ~150 strikes, ~60 casualties, ~40 extra
# hazards, ~80 released polygons).
N_PARCELS = 3000
N_STRIKES = 150
N_CASUALTIES = 60
N_MINE_STRIPS = 6
N_STRIKE_HAZARDS = 34
N_REDUCED, N_CLEARED, N_CANCELLED = 20, 32, 28

WAR_START = dt.date(2022, 2, 24)
STRIKES_END = dt.date(2025, 6, 30)
RECORDS_END = dt.date(2025, 10, 31)

# (munition_type, cluster_munition, submunitions per item (DOMAIN.md) or None, footprint
# radius in m, relative frequency). Submunition counts only where DOMAIN.md gives them.
MUNITIONS: tuple[tuple[str, bool, int | None, float, float], ...] = (
    ("9M55K (Smerch 300 mm, 9N235 submunitions)", True, 72, 350.0, 0.17),
    ("9M27K (Uragan 220 mm, 9N210/9N235 submunitions)", True, 30, 250.0, 0.17),
    ("9M218 (Uragan 220 mm cluster rocket)", True, None, 250.0, 0.08),
    ("M26 (227 mm MLRS, M77 submunitions; reported)", True, 644, 500.0, 0.03),
    ("RBK-500 (air-dropped cluster bomb, variant unknown)", True, None, 300.0, 0.07),
    ("122 mm HE rocket (BM-21 Grad)", False, None, 150.0, 0.22),
    ("152 mm HE artillery shell", False, None, 120.0, 0.16),
    ("120 mm mortar bomb", False, None, 100.0, 0.10),
)
SUBMUNITION_NAME = {
    "9M55K": "9N235 submunition",
    "9M27K": "9N210/9N235 submunition",
    "9M218": "9N235 submunition",
    "M26 (": "M77 submunition",
    "RBK-5": "cluster submunition, type unknown",
}
MINE_DEVICES = (
    ("TM-62M anti-tank mine", "AT"),
    ("PFM-1 anti-personnel mine", "AP"),
    ("POM-3 anti-personnel mine", "AP"),
)
CROPS = (("wheat", 0.36, 24_000.0), ("sunflower", 0.30, 33_000.0), ("maize", 0.14, 34_000.0))
CROPS += (("barley", 0.20, 19_000.0),)
ORCHARD_CROPS = ("apple", "cherry", "apricot", "walnut")
OPERATORS = (
    "Stepove Demining (fictional)",
    "Azov Land Release Group (fictional)",
    "Demo Mine Action NGO (fictional)",
    "Kalmius Survey Services (fictional)",
)


# --------------------------------------------------------------------------- helpers


def _day(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    """A uniformly random day in [start, end]."""
    return start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))


def _after(
    rng: np.random.Generator, base: dt.date, lo: int, hi: int, start: dt.date, end: dt.date
) -> dt.date | None:
    """A random day ``lo``–``hi`` days after ``base`` inside [start, end]; None if impossible."""
    first = max(base + dt.timedelta(days=lo), start)
    last = min(base + dt.timedelta(days=hi), end)
    return _day(rng, first, last) if first <= last else None


def _sentence(text: str) -> str:
    """``text`` stripped, ending in exactly one full stop."""
    return text.strip().rstrip(".").rstrip() + "."


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [_round_coords(o) for o in obj]
    return obj


def _finish_geometries(geoms: Sequence[shapely.Geometry], crs: str) -> gpd.GeoSeries:
    """Project to EPSG:4326, snap to a 1e-6° grid (keeps validity), orient rings (RFC 7946)."""
    series = gpd.GeoSeries(list(geoms), crs=crs).to_crs(STORAGE_CRS)
    arr = shapely.set_precision(series.array, 1e-6)
    arr = shapely.orient_polygons(arr)
    return gpd.GeoSeries(arr, crs=STORAGE_CRS)


def write_geojson(
    path: Path, name: str, rows: Iterable[dict[str, Any]], geoms: Iterable[shapely.Geometry]
) -> None:
    """Write a FeatureCollection deterministically: one feature per line, 1e-6° coordinates."""
    lines = []
    for props, geom in zip(rows, geoms, strict=True):
        feature = {
            "type": "Feature",
            "properties": props,
            "geometry": {
                "type": geom.geom_type,
                "coordinates": _round_coords(mapping(geom)["coordinates"]),
            },
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False)[:-1]
    text = head + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _random_point_in(
    rng: np.random.Generator, poly: shapely.Geometry, *, tries: int = 200
) -> Point | None:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(tries):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            return p
    return None


def _rect(cx: float, cy: float, width: float, length: float, angle: float) -> Polygon:
    """A width×length rectangle centred on (cx, cy), its long axis rotated by ``angle`` °."""
    r = box(-length / 2, -width / 2, length / 2, width / 2)
    return affinity.translate(affinity.rotate(r, angle, origin=(0, 0)), cx, cy)


# --------------------------------------------------------------------------- real inputs


def load_region(real: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Hromadas of the region and their raions (OSM), with English names completed."""
    hrom = gpd.read_file(real / "ua_admin_osm" / "ua_adm3_hromadas.geojson")
    hrom = hrom[hrom["osm_id"].isin(list(REGION_HROMADAS))].copy()
    if len(hrom) != len(REGION_HROMADAS):
        raise SystemExit("ua_admin_osm: region hromadas missing from ua_adm3_hromadas.geojson")
    hrom["name_en"] = hrom["osm_id"].map(REGION_HROMADAS)
    hrom["raion_en"] = hrom["raion_uk"].map(RAION_NAMES_EN)
    hrom = hrom.sort_values("katotth").reset_index(drop=True)
    raions = gpd.read_file(real / "ua_admin_osm" / "ua_adm2_raions.geojson")
    raions = raions[raions["name_uk"].isin(list(hrom["raion_uk"]))].copy()
    raions["name_en"] = raions["name_uk"].map(RAION_NAMES_EN)
    raions = raions.sort_values("katotth").reset_index(drop=True)
    return hrom, raions


def load_crater_fields(real: Path, region_4326: shapely.Geometry) -> gpd.GeoDataFrame:
    """ARCADE crater fields inside Ukraine whose representative point is in the region."""
    cf = gpd.read_file(real / "ua_artillery_crater_fields_2014" / "crater_fields_2014.geojson")
    cf = cf[cf["in_ukraine"].astype(bool)]
    cf = cf[cf.geometry.representative_point().within(region_4326)]
    return cf.sort_values("source_id").reset_index(drop=True)


def load_ucdp_sites(real: Path, region_4326: shapely.Geometry) -> pd.DataFrame:
    """Distinct, precisely located (where_prec ≤ 2) UCDP GED event sites in the region."""
    ged = pd.read_csv(real / "ua_ucdp_ged_2014_2021" / "ucdp_ged_ukraine_2014_2021.csv")
    ged = ged[ged["where_prec"] <= 2]
    pts = gpd.GeoSeries(gpd.points_from_xy(ged["longitude"], ged["latitude"]), crs=STORAGE_CRS)
    ged = ged[np.asarray(pts.within(region_4326))]
    sites = ged.groupby(["longitude", "latitude"]).size().rename("events").reset_index()
    return sites.sort_values(["longitude", "latitude"]).reset_index(drop=True)


# --------------------------------------------------------------------------- synthetic layers


def make_farmland(
    rng: np.random.Generator, region: shapely.Geometry, anchors: Sequence[Point]
) -> tuple[list[dict[str, Any]], list[Polygon]]:
    """Blocks of elongated strip parcels on rotated grids (metres, EPSG:3035)."""
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    parcels: list[Polygon] = []
    rows: list[dict[str, Any]] = []
    anchor_order = list(rng.permutation(len(anchors)))
    block = 0
    while len(parcels) < N_PARCELS and block < 2000:
        if anchor_order:  # first put fields under the real crater fields ("ploughed over")
            c = anchors[anchor_order.pop()]
            cx, cy = c.x + rng.normal(0, 300), c.y + rng.normal(0, 300)
        else:
            cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        block += 1
        kind = rng.choice(["arable", "pasture", "orchard"], p=[0.86, 0.09, 0.05])
        if kind == "orchard":
            width, length = rng.uniform(150, 300), rng.uniform(350, 800)
            n_rows, n_cols = int(rng.integers(1, 3)), int(rng.integers(2, 5))
        else:
            width, length = rng.uniform(220, 600), rng.uniform(900, 2400)
            n_rows, n_cols = int(rng.integers(1, 4)), int(rng.integers(3, 11))
        angle = float(rng.uniform(0, 180))
        theta = math.radians(angle)
        ux, uy = math.cos(theta), math.sin(theta)  # along the strips
        vx, vy = -uy, ux  # across the strips
        road, gap = 25.0, 8.0  # field road between rows, boundary strip between parcels
        candidates = []
        for r in range(n_rows):
            along = (r - (n_rows - 1) / 2) * (length + road)
            for k in range(n_cols):
                across = (k - (n_cols - 1) / 2) * (width + gap)
                w = width * rng.uniform(0.8, 1.2)
                ln = length * rng.uniform(0.85, 1.0)
                px = cx + along * ux + across * vx
                py = cy + along * uy + across * vy
                candidates.append(_rect(px, py, min(w, width + gap - 1), ln, angle))
        tree = shapely.STRtree(parcels) if parcels else None
        for cand in candidates:
            if rng.random() < 0.07:  # gaps: villages, tree belts, gullies
                continue
            if not 5e4 <= cand.area <= 1.5e6 or not region.contains(cand):
                continue
            if tree is not None and len(tree.query(cand, predicate="intersects")):
                continue
            parcels.append(cand)
            if kind == "arable":
                names, probs, values = zip(*CROPS, strict=True)
                i = int(rng.choice(len(names), p=probs))
                crop, value = names[i], values[i] * rng.uniform(0.8, 1.2)
            elif kind == "pasture":
                crop, value = None, rng.uniform(4_000, 8_000)
            else:
                crop, value = str(rng.choice(ORCHARD_CROPS)), rng.uniform(60_000, 120_000)
            rows.append(
                {
                    "parcel_id": f"DEMO-F-{len(parcels):05d}",
                    "land_use": str(kind),
                    "crop": crop,
                    "value_per_ha": float(round(value, -1)),
                    "source": SYNTHETIC,
                }
            )
            if len(parcels) >= N_PARCELS:
                break
    return rows, parcels


def _inside(rng: np.random.Generator, region: shapely.Geometry, x: float, y: float, sd: float):
    for _ in range(100):
        p = Point(x + rng.normal(0, sd), y + rng.normal(0, sd))
        if region.contains(p):
            return p
    return Point(x, y)


def make_strikes(
    rng: np.random.Generator, region: shapely.Geometry, sites: Sequence[Point], weights
) -> tuple[list[dict[str, Any]], list[Point], list[float]]:
    """Strike points clustered around UCDP GED event sites, dates 2022–2025."""
    n_centres = 26
    idx = rng.choice(len(sites), size=n_centres, replace=False, p=weights)
    centre_dates = [_day(rng, WAR_START, STRIKES_END) for _ in range(n_centres)]
    probs = np.array([m[4] for m in MUNITIONS])
    probs = probs / probs.sum()
    rows, points, radii = [], [], []
    for i in range(N_STRIKES):
        c = int(rng.integers(0, n_centres))
        site = sites[int(idx[c])]
        point = _inside(rng, region, site.x, site.y, 1800.0)
        day = _after(rng, centre_dates[c], -60, 60, WAR_START, STRIKES_END)
        name, cluster, subs, radius, _ = MUNITIONS[int(rng.choice(len(MUNITIONS), p=probs))]
        if cluster and subs is not None:
            uxo = int(rng.binomial(subs, rng.uniform(0.01, 0.08)))
        elif cluster:
            uxo = int(rng.integers(0, 8))
        else:
            uxo = int(rng.choice([0, 0, 0, 1]))
        status = str(
            rng.choice(["reported", "confirmed", "surveyed", "cleared"], p=[0.35, 0.35, 0.2, 0.1])
        )
        rows.append(
            {
                "strike_id": f"DEMO-S-{i + 1:03d}",
                "date": day,
                "munition_type": name,
                "cluster_munition": cluster,
                "submunitions": subs,
                "uxo_reported": uxo,
                "status": status,
                "source": SYNTHETIC,
            }
        )
        points.append(point)
        radii.append(radius)
    order = sorted(range(N_STRIKES), key=lambda k: (rows[k]["date"], k))
    rows = [rows[k] for k in order]
    for n, row in enumerate(rows):
        row["strike_id"] = f"DEMO-S-{n + 1:03d}"
    return rows, [points[k] for k in order], [radii[k] for k in order]


def make_mine_strips(
    rng: np.random.Generator, region: shapely.Geometry, parcels: Sequence[Polygon]
) -> list[tuple[Polygon, str, str]]:
    """Thin mined strips along field edges: (polygon, device, contamination)."""
    strips = []
    picks = rng.choice(len(parcels), size=N_MINE_STRIPS, replace=False)
    for j, k in enumerate(picks):
        parcel = parcels[int(k)]
        ring = shapely.get_coordinates(parcel.exterior)
        a, b = ring[0], ring[1]
        if math.dist(a, b) < 500:
            a, b = ring[1], ring[2]
        edge = shapely.LineString([a, b])
        strip = edge.buffer(35.0, cap_style="flat", quad_segs=1)
        strip = shapely.intersection(strip, region)
        device, contamination = MINE_DEVICES[j % len(MINE_DEVICES)]
        strips.append((strip, device, contamination))
    return strips


def make_casualties(
    rng: np.random.Generator,
    strikes: Sequence[dict[str, Any]],
    strike_pts: Sequence[Point],
    strips: Sequence[tuple[Polygon, str, str]],
    parcels: Sequence[Polygon],
    hromadas: gpd.GeoDataFrame,
    region: shapely.Geometry,
) -> tuple[list[dict[str, Any]], list[Point]]:
    """Casualty incidents near strikes (ERW/CMR) and on mined strips; fake personal fields."""
    tree = shapely.STRtree(parcels)
    weights = np.array([3.0 if s["cluster_munition"] else 1.0 for s in strikes])
    weights /= weights.sum()
    records = []
    for i in range(N_CASUALTIES):
        activity = str(
            rng.choice(
                ["agriculture", "travel", "collecting firewood", "herding livestock", "demining"],
                p=[0.5, 0.22, 0.13, 0.09, 0.06],
            )
        )
        if i % 8 == 7:  # a mine incident on one of the mined strips
            strip, device, _ = strips[(i // 8) % len(strips)]
            point = _random_point_in(rng, strip) or strip.representative_point()
            day = _day(rng, dt.date(2022, 6, 1), RECORDS_END)
        else:
            k = int(rng.choice(len(strikes), p=weights))
            strike, sp = strikes[k], strike_pts[k]
            point = None
            if activity == "agriculture":
                near = sorted(tree.query(sp.buffer(1200.0), predicate="intersects"))
                if near:
                    zone = parcels[int(rng.choice(near))].intersection(sp.buffer(1200.0))
                    point = _random_point_in(rng, zone)
            if point is None:
                point = _inside(rng, region, sp.x, sp.y, 350.0)
            day = _after(rng, strike["date"], 3, 700, WAR_START, RECORDS_END)
            key = strike["munition_type"][:5]
            if strike["cluster_munition"]:
                device = SUBMUNITION_NAME[key] + " (unexploded)"
            elif rng.random() < 0.2:
                device = "unknown device"
            else:
                device = "unexploded " + strike["munition_type"].split(" (")[0]
        killed = int(rng.choice([0, 0, 0, 1, 1, 2]))
        injured = int(rng.choice([0, 1, 1, 1, 2, 3]))
        if killed + injured == 0:
            injured = 1
        civilian = activity != "demining" and rng.random() > 0.04
        records.append(
            (
                day,
                {
                    "date": day,
                    "killed": killed,
                    "injured": injured,
                    "civilian": bool(civilian),
                    "activity": activity,
                    "munition_type": device,
                    "source": SYNTHETIC,
                    "victim_age": int(rng.integers(14, 79)),
                    "victim_sex": str(
                        rng.choice(["male", "female", "unknown"], p=[0.76, 0.2, 0.04])
                    ),
                },
                point,
            )
        )
    records.sort(key=lambda r: (r[0], r[2].x))
    pts = gpd.GeoSeries([r[2] for r in records], crs=AREA_CRS)
    hrom_of = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts), hromadas[["name_en", "geometry"]], predicate="within"
    )["name_en"]
    rows = []
    for n, (_, rec, _) in enumerate(records):
        row = {"incident_id": f"DEMO-C-{n + 1:03d}"}
        row.update({k: rec[k] for k in ("date", "killed", "injured", "civilian", "activity")})
        row["munition_type"] = rec["munition_type"]
        row["source"] = SYNTHETIC
        row["victim_name"] = f"Demo Person {n + 1:03d}"
        row["victim_age"] = rec["victim_age"]
        row["victim_sex"] = rec["victim_sex"]
        row["oblast"] = OBLAST_EN
        hits = hrom_of[hrom_of.index == n]
        row["hromada"] = str(hits.iloc[0]) if len(hits) else None
        rows.append(row)
    return rows, [r[2] for r in records]


def make_strike_hazards(
    rng: np.random.Generator,
    strikes: Sequence[dict[str, Any]],
    strike_pts: Sequence[Point],
    radii: Sequence[float],
    strips: Sequence[tuple[Polygon, str, str]],
    casualty_pts: Sequence[Point],
    region: shapely.Geometry,
) -> tuple[list[dict[str, Any]], list[shapely.Geometry], list[list[int]]]:
    """SHA/CHA polygons grown from groups of strikes, plus the mined strips."""
    tree = shapely.STRtree(list(strike_pts))
    cas_tree = shapely.STRtree(list(casualty_pts))
    used: set[int] = set()
    weights = np.array([4.0 if s["cluster_munition"] else 1.0 for s in strikes])
    order = list(
        rng.choice(len(strikes), size=len(strikes), replace=False, p=weights / weights.sum())
    )
    items: list[tuple[dt.date, dict[str, Any], shapely.Geometry, list[int]]] = []
    for seed_k in order:
        if len(items) >= N_STRIKE_HAZARDS:
            break
        if int(seed_k) in used:
            continue
        group = [int(j) for j in sorted(tree.query(strike_pts[int(seed_k)].buffer(1500.0)))]
        group = [j for j in group if j not in used]
        used.update(group)
        poly = shapely.union_all(
            [strike_pts[j].buffer(radii[j] * rng.uniform(1.5, 3.0), quad_segs=4) for j in group]
        )
        poly = poly.convex_hull if rng.random() < 0.7 else poly
        poly = poly.intersection(region)  # hazards stop at the state border
        n_cas = len(cas_tree.query(poly, predicate="intersects"))
        uxo = sum(strikes[j]["uxo_reported"] for j in group)
        clusters = {strikes[j]["cluster_munition"] for j in group}
        contamination = "mixed" if len(clusters) == 2 else ("CMR" if True in clusters else "UXO")
        kinds = sorted({strikes[j]["munition_type"].split(" (")[0] for j in group})
        evidence = (
            f"{len(group)} strike report(s) ({', '.join(kinds)}); {uxo} unexploded item(s) "
            f"reported; {n_cas} casualty incident(s) inside. Synthetic."
        )
        day = _after(rng, max(strikes[j]["date"] for j in group), 10, 200, WAR_START, RECORDS_END)
        items.append(
            (
                day,
                {
                    "hazard_type": "CHA" if n_cas or uxo else "SHA",
                    "evidence": evidence,
                    "contamination": contamination,
                },
                poly,
                group,
            )
        )
    for strip, device, contamination in strips:
        n_cas = len(cas_tree.query(strip, predicate="intersects"))
        evidence = (
            f"Mined strip along a field edge ({device}) reported by local farmers; "
            f"{n_cas} casualty incident(s) inside. Synthetic."
        )
        items.append(
            (
                _day(rng, dt.date(2022, 9, 1), dt.date(2024, 12, 31)),
                {
                    "hazard_type": "CHA" if n_cas else "SHA",
                    "evidence": evidence,
                    "contamination": contamination,
                },
                strip,
                [],
            )
        )
    items.sort(key=lambda it: (it[0], it[2].centroid.x))
    rows, geoms, groups = [], [], []
    for n, (day, attrs, geom, group) in enumerate(items):
        rows.append(
            {
                "hazard_id": f"DEMO-H-{n + 1:03d}",
                "date": day,
                "hazard_type": attrs["hazard_type"],
                "evidence": attrs["evidence"],
                "contamination": attrs["contamination"],
                "status": "active",  # updated from the releases in build()
                "source": SYNTHETIC,
            }
        )
        geoms.append(geom)
        groups.append(group)
    return rows, geoms, groups


def crater_hazards(cf: gpd.GeoDataFrame) -> tuple[list[dict[str, Any]], list[shapely.Geometry]]:
    """Real SHA polygons from the ARCADE crater fields (dates and evidence from the source)."""
    rows = []
    for rec in cf.itertuples():
        parts = [f"Artillery/MLRS crater field seen on satellite imagery: {_sentence(rec.name)}"]
        if isinstance(rec.description, str) and rec.description.strip():
            parts.append(_sentence(rec.description))
        if isinstance(rec.note, str) and rec.note.strip():
            parts.append(f"Note: {_sentence(rec.note)}")
        if pd.isna(rec.image_date):
            day = "2014-08-08"
            parts.append(
                "Image date not specified in the source; dated 2014-08-08, the end of the "
                "period the source report covers (14 July–8 August 2014)."
            )
        else:
            day = pd.Timestamp(rec.image_date).date().isoformat()
        rows.append(
            {
                "hazard_id": f"ARCADE-CF-{int(rec.source_id):03d}",
                "date": day,
                "hazard_type": "SHA",
                "evidence": " ".join(parts)[:1000],
                "contamination": "UXO",
                "status": "active",
                "source": ARCADE_ATTRIBUTION.format(source_id=int(rec.source_id)),
            }
        )
    return rows, list(cf.geometry)


# Synthetic cost of a release, UAH per hectare by method. Clearance: the range of Ukraine's
# 2024 farmland-clearance auctions (UAH ~30,800–59,500/ha, DOMAIN.md); survey: assumed at a
# small fraction of it. Deterministic (no random draw), so the other layers are unchanged.
COST_UAH_PER_HA = {
    "manual": 59_500.0,
    "mechanical": 30_800.0,
    "dog": 45_000.0,
    "technical survey": 6_000.0,
    "non-technical survey": 1_500.0,
}


def make_cleared(
    rng: np.random.Generator,
    hazards: Sequence[dict[str, Any]],
    hazard_geoms: Sequence[shapely.Geometry],
    hazard_groups: Sequence[list[int]],
    strikes: Sequence[dict[str, Any]],
    parcels: Sequence[Polygon],
    strike_pts: Sequence[Point],
    region: shapely.Geometry,
) -> tuple[list[dict[str, Any]], list[shapely.Geometry], list[int | None]]:
    """Released land: TS-reduced rims, cleared cores (some overlapping), NTS-cancelled fields."""
    teams = [f"Team {a}-{n}" for a in "ABCD" for n in (1, 2, 3)]
    items: list[tuple[dt.date, dict[str, Any], shapely.Geometry, int | None]] = []

    def record(day, status, method, hazard_type, geom, devices=0, munition=None, hazard=None):
        """Add one release (``hazard``: index of the hazard it releases part of)."""
        if day is None:  # the hazard was recorded too late to be released by RECORDS_END
            return False
        geom = shapely.make_valid(geom.intersection(region))
        if geom.geom_type == "GeometryCollection":
            geom = shapely.union_all([g for g in geom.geoms if g.area > 0])
        if geom.is_empty or geom.area < 2_000:
            return False
        team = teams[int(rng.integers(0, len(teams)))]
        items.append(
            (
                day,
                {
                    "team": team,
                    "operator": OPERATORS["ABCD".index(team[5])],
                    "hazard_type": hazard_type,
                    "status": status,
                    "method": method,
                    "devices_found": devices,
                    "munition_type": munition,
                },
                geom,
                hazard,
            )
        )
        return True

    start = dt.date(2023, 1, 1)
    synthetic = [i for i, h in enumerate(hazards) if h["hazard_id"].startswith("DEMO-")]
    picks = list(rng.permutation(synthetic))
    n_reduced = n_cleared = 0
    for i in picks:
        if n_reduced >= N_REDUCED and n_cleared >= N_CLEARED:
            break
        h, geom = hazards[i], hazard_geoms[i]
        if h["contamination"] in ("AP", "AT"):  # mined strips: cleared whole, manually
            if n_cleared < N_CLEARED:
                day = _after(rng, h["date"], 90, 500, start, RECORDS_END)
                mine = (
                    "TM-62M anti-tank mines"
                    if h["contamination"] == "AT"
                    else "anti-personnel mines"
                )
                n_cleared += record(
                    day,
                    "cleared",
                    "manual",
                    h["hazard_type"],
                    geom.buffer(5.0, quad_segs=1),
                    int(rng.integers(1, 12)),
                    mine,
                    hazard=int(i),
                )
            continue
        day = _after(rng, h["date"], 60, 400, start, RECORDS_END)
        if day is None:
            continue
        core = geom.buffer(-math.sqrt(geom.area) * rng.uniform(0.12, 0.25))
        if core.is_empty:
            continue
        if n_reduced < N_REDUCED:  # technical survey releases the rim
            n_reduced += record(
                day,
                "reduced",
                "technical survey",
                h["hazard_type"],
                geom.difference(core),
                hazard=int(i),
            )
        if n_cleared < N_CLEARED:  # clearance of the core, task box drawn a little wider
            day2 = _after(rng, day, 20, 300, start, RECORDS_END)
            task = core.envelope.buffer(rng.uniform(10, 60), join_style="mitre")
            if rng.random() < 0.5:
                task = task.intersection(geom.buffer(40.0))
            group = hazard_groups[i]
            uxo = sum(strikes[j]["uxo_reported"] for j in group)
            in_task = [j for j in group if task.intersects(strike_pts[j])]
            devices = int(rng.integers(1, 4 + uxo)) if in_task else 0
            subs = sorted(
                {
                    SUBMUNITION_NAME.get(
                        strikes[j]["munition_type"][:5], strikes[j]["munition_type"].split(" (")[0]
                    )
                    for j in in_task
                }
            )
            devices = max(devices, len(subs))  # at least one item of every type listed
            method = str(rng.choice(["manual", "mechanical", "dog"], p=[0.5, 0.4, 0.1]))
            n_cleared += record(
                day2,
                "cleared",
                method,
                h["hazard_type"],
                task,
                devices,
                "; ".join(subs) or None,
                hazard=int(i),
            )
            if day2 and n_cleared < N_CLEARED and rng.random() < 0.35:  # overlapping re-survey
                shift = affinity.translate(
                    task, rng.uniform(-80, 80), rng.uniform(-80, 80)
                ).intersection(geom)
                day3 = _after(rng, day2, 30, 200, start, RECORDS_END)
                n_cleared += record(
                    day3, "cleared", "mechanical", h["hazard_type"], shift, hazard=int(i)
                )
    # NTS cancellation: farm fields near strikes (and over real crater fields) with no evidence
    tree = shapely.STRtree(parcels)
    all_hazards = shapely.union_all([g for g in hazard_geoms])
    n_cancelled = 0
    candidates = sorted({int(k) for p in strike_pts for k in tree.query(p.buffer(2500.0))})
    for k in rng.permutation(candidates):
        if n_cancelled >= N_CANCELLED:
            break
        parcel = parcels[int(k)]
        overlap = parcel.intersection(all_hazards).area / parcel.area
        if overlap > 0.5:
            continue
        geom = parcel
        if rng.random() < 0.3:  # cancel two neighbouring fields in one record
            near = [int(j) for j in sorted(tree.query(parcel.buffer(30.0))) if int(j) != int(k)]
            if near:
                geom = shapely.union_all([parcel, parcels[near[0]]]).buffer(0.0)
        day = _day(rng, start, RECORDS_END)
        n_cancelled += record(day, "cancelled", "non-technical survey", "SHA", geom)
    items.sort(key=lambda it: (it[0], it[2].centroid.x))
    rows = []
    for n, (day, attrs, _, _) in enumerate(items):
        row = {"survey_id": f"DEMO-R-{n + 1:03d}", "date": day}
        row.update(attrs)
        row["source"] = SYNTHETIC
        rows.append(row)
    return rows, [it[2] for it in items], [it[3] for it in items]


# --------------------------------------------------------------------------- settlements


def make_settlements(
    region: shapely.Geometry, parcels: Sequence[Polygon], strike_pts: Sequence[Point]
) -> tuple[list[dict[str, Any]], list[shapely.Geometry]]:
    """Synthetic settlements: 3 towns (outlines), 24 villages and 13 hamlets (points).

    Drawn from their own random stream (``SEED``, 1), after every other layer, so adding
    them changed no other file. Places sit outside farmland parcels; half the villages lie
    0.8–2.5 km from a strike (shelling hit inhabited places). Populations: towns
    8,000–30,000, villages log-normal (median 600, 80–4,000), hamlets 5–79, rounded.
    """
    rng = np.random.default_rng([SEED, 1])
    tree = shapely.STRtree(list(parcels))
    inner = region.buffer(-1500.0)
    shapely.prepare(inner)

    def free(p: Point) -> bool:
        return region.contains(p) and not len(tree.query(p, predicate="intersects"))

    def random_free(area: shapely.Geometry) -> Point:
        while True:
            p = _random_point_in(rng, area)
            if p is not None and free(p):
                return p

    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []

    def add(kind: str, n: int, geom: shapely.Geometry, population: int) -> None:
        rows.append(
            {
                "settlement_id": f"DEMO-P-{len(rows) + 1:03d}",
                "name": f"Demo {kind} {n:02d}",
                "population": int(population),
                "population_year": 2022,
                "source": SYNTHETIC,
                "settlement_type": kind,
            }
        )
        geoms.append(geom)

    for n in range(1, 4):
        centre = random_free(inner)
        radius = rng.uniform(700.0, 1200.0)
        outline = centre.buffer(radius, quad_segs=4).intersection(region)
        add("town", n, outline, round(rng.uniform(8_000, 30_000), -1))
    for n in range(1, 25):
        if n % 2:
            while True:
                hit = strike_pts[int(rng.integers(len(strike_pts)))]
                angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(800.0, 2500.0)
                p = Point(hit.x + dist * np.cos(angle), hit.y + dist * np.sin(angle))
                if free(p):
                    break
        else:
            p = random_free(region)
        pop = float(np.clip(rng.lognormal(np.log(600.0), 0.8), 80, 4_000))
        add("village", n, p, round(pop, -1))
    for n in range(1, 14):
        add("hamlet", n, random_free(region), int(rng.integers(5, 80)))
    return rows, geoms


# --------------------------------------------------------------------------- assembly


def _canonical(layer: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Canonical fields in schema order (missing → None), then ``source`` if not a field."""
    names = list(LAYERS[layer].field_names)
    extra = [] if "source" in names else ["source"]
    out = []
    for row in rows:
        unknown = set(row) - set(names) - set(extra)
        if unknown:
            raise ValueError(f"{layer}: fields not in the schema: {sorted(unknown)}")
        rec = {}
        for name in names + extra:
            value = row.get(name)
            rec[name] = value.isoformat() if isinstance(value, dt.date) else value
        out.append(rec)
    return out


def build(real: Path, out: Path) -> dict[str, int]:
    """Generate every demo file into ``out``; return feature counts per file."""
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    hrom, raions = load_region(real)
    region_4326 = shapely.union_all(hrom.geometry.array)
    region = gpd.GeoSeries([region_4326], crs=STORAGE_CRS).to_crs(AREA_CRS).iloc[0]
    region = region.buffer(0)
    shapely.prepare(region)

    cf = load_crater_fields(real, region_4326)
    cf_3035 = cf.to_crs(AREA_CRS)
    sites = load_ucdp_sites(real, region_4326)
    site_pts = list(
        gpd.GeoSeries(gpd.points_from_xy(sites["longitude"], sites["latitude"]), crs=STORAGE_CRS)
        .to_crs(AREA_CRS)
        .array
    )
    site_w = np.sqrt(sites["events"].to_numpy(dtype="float64"))
    site_w /= site_w.sum()

    farm_rows, parcels = make_farmland(rng, region, list(cf_3035.geometry.centroid.array))
    strike_rows, strike_pts, radii = make_strikes(rng, region, site_pts, site_w)
    strips = make_mine_strips(rng, region, parcels)
    hrom_3035 = hrom.to_crs(AREA_CRS)
    cas_rows, cas_pts = make_casualties(
        rng, strike_rows, strike_pts, strips, parcels, hrom_3035, region
    )
    syn_rows, syn_geoms, groups = make_strike_hazards(
        rng, strike_rows, strike_pts, radii, strips, cas_pts, region
    )
    real_rows, real_geoms = crater_hazards(cf_3035)
    hazard_rows = real_rows + syn_rows
    hazard_geoms = list(real_geoms) + syn_geoms
    hazard_groups = [[] for _ in real_rows] + groups
    cleared_rows, cleared_geoms, released = make_cleared(
        rng, hazard_rows, hazard_geoms, hazard_groups, strike_rows, parcels, strike_pts, region
    )
    for i, (row, geom) in enumerate(zip(hazard_rows, hazard_geoms, strict=True)):
        done = [g for g, k in zip(cleared_geoms, released, strict=True) if k == i]
        if done:
            covered = shapely.union_all(done).intersection(geom).area / geom.area
            row["status"] = "closed" if covered >= 0.95 else "in_progress"
    settlement_rows, settlement_geoms = make_settlements(region, parcels, strike_pts)

    counts: dict[str, int] = {}
    layers = {
        "casualties": (cas_rows, cas_pts),
        "strikes": (strike_rows, strike_pts),
        "hazards": (hazard_rows, hazard_geoms),
        "cleared": (cleared_rows, cleared_geoms),
        "farmland": (farm_rows, parcels),
        "settlements": (settlement_rows, settlement_geoms),
    }
    all_bounds = [region_4326.bounds]
    for layer, (rows, geoms) in layers.items():
        final = _finish_geometries(geoms, AREA_CRS)
        rows = _canonical(layer, rows)
        if layer == "cleared":
            areas = area_m2(final)
            for row, a in zip(rows, areas, strict=True):
                row["area_m2"] = round(float(a), 1)
                row["cost_uah"] = round(float(a) / 10_000 * COST_UAH_PER_HA[row["method"]], -2)
        write_geojson(out / f"{layer}.geojson", layer, rows, final.array)
        counts[layer] = len(rows)
        all_bounds.append(tuple(final.total_bounds))

    admin_rows, admin_geoms = [], []
    for rec in raions.itertuples():
        admin_rows.append(
            {
                "admin_id": rec.katotth,
                "level": "raion",
                "name_uk": rec.name_uk,
                "name_en": rec.name_en,
                "raion_uk": None,
                "raion_en": None,
                "oblast_uk": rec.oblast_uk,
                "oblast_en": OBLAST_EN,
                "osm_id": rec.osm_id,
                "in_region": False,
                "source": OSM_ATTRIBUTION,
            }
        )
        admin_geoms.append(rec.geometry)
    for rec in hrom.itertuples():
        admin_rows.append(
            {
                "admin_id": rec.katotth,
                "level": "hromada",
                "name_uk": rec.name_uk,
                "name_en": rec.name_en,
                "raion_uk": rec.raion_uk,
                "raion_en": rec.raion_en,
                "oblast_uk": rec.oblast_uk,
                "oblast_en": OBLAST_EN,
                "osm_id": rec.osm_id,
                "in_region": True,
                "source": OSM_ATTRIBUTION,
            }
        )
        admin_geoms.append(rec.geometry)
    admin = _finish_geometries(
        [shapely.simplify(g, 0.0005, preserve_topology=True) for g in admin_geoms], STORAGE_CRS
    )
    write_geojson(out / "admin.geojson", "admin", admin_rows, admin.array)
    counts["admin"] = len(admin_rows)

    b = np.array(all_bounds)
    bbox = [
        math.floor(b[:, 0].min() * 1e3) / 1e3,
        math.floor(b[:, 1].min() * 1e3) / 1e3,
        math.ceil(b[:, 2].max() * 1e3) / 1e3,
        math.ceil(b[:, 3].max() * 1e3) / 1e3,
    ]
    region_info = {
        "name": REGION_NAME,
        "oblast": OBLAST_EN,
        "hromadas": list(hrom["name_en"]),
        "bbox": bbox,
        "center": [round((bbox[0] + bbox[2]) / 2, 4), round((bbox[1] + bbox[3]) / 2, 4)],
        "zoom": 9,
        "crs": STORAGE_CRS,
        "seed": SEED,
        "synthetic_label": SYNTHETIC,
        "files": {f"{name}.geojson": n for name, n in counts.items()},
    }
    (out / "region.json").write_text(
        json.dumps(region_info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--real-data", type=Path, default=DEFAULT_REAL_DATA, help="folder of the real inputs"
    )
    args = parser.parse_args(argv)
    counts = build(args.real_data, args.out)
    for name, n in counts.items():
        print(f"{name}: {n} features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
