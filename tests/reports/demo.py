"""A year of synthetic demo data → the README's report page image.

Regenerate::

    python -m tests.reports.demo artifacts/reports/demo_en.pdf
    pdftoppm -r 60 -png -f 1 -l 1 -singlefile artifacts/reports/demo_en.pdf docs/img/report-page1

Synthetic releases, hazards, farmland and casualties near (36.9 E, 49.7 N); the admin
boundaries are the real OSM hromadas (ODbL) when ../shared/data/real is present.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from minemap.reports import build_report, render_pdf
from tests.conftest import REAL_DATA
from tests.reports.conftest import canonical, make_tasks


def demo_layers(seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    ox, oy = 6_000_000.0, 3_000_000.0
    day = pd.Timestamp("2024-01-01")
    rows, geoms = [], []
    for i in range(60):
        x, y = ox + rng.uniform(0, 40_000), oy + rng.uniform(0, 30_000)
        w, h = rng.uniform(300, 1500), rng.uniform(300, 1500)
        status = str(rng.choice(["cleared", "reduced", "cancelled"], p=[0.2, 0.3, 0.5]))
        rows.append(
            {
                "survey_id": f"S{i}",
                "date": str((day + pd.Timedelta(days=int(rng.integers(0, 365)))).date()),
                "team": "t",
                "operator": "o",
                "status": status,
                "method": "manual",
                "devices_found": int(rng.integers(0, 6)) if status == "cleared" else 0,
                "munition_type": str(rng.choice(["PFM-1", "TM-62M", "9N235", "122 mm shell"])),
            }
        )
        geoms.append(shapely.box(x, y, x + w, y + h))
    cleared = canonical("cleared", rows, gpd.GeoSeries(geoms, crs=3035).to_crs(4326))
    boxes = [
        shapely.box(ox - 5000, oy - 5000, ox + 25000, oy + 20000),
        shapely.box(ox + 20000, oy + 5000, ox + 45000, oy + 35000),
        shapely.box(ox + 5000, oy + 22000, ox + 18000, oy + 40000),
    ]
    hazards = canonical(
        "hazards",
        [
            {
                "hazard_id": f"H{i}",
                "date": "2023-06-01",
                "hazard_type": kind,
                "contamination": "AP",
                "status": "active",
            }
            for i, kind in enumerate(["SHA", "CHA", "SHA"])
        ],
        gpd.GeoSeries(boxes, crs=3035).to_crs(4326),
    )
    parcels = [
        shapely.box(ox + i * 2000, oy + i * 1500, ox + i * 2000 + 3000, oy + i * 1500 + 2000)
        for i in range(20)
    ]
    farmland = canonical(
        "farmland",
        [{"parcel_id": f"P{i}", "land_use": "arable", "value_per_ha": 18_000.0} for i in range(20)],
        gpd.GeoSeries(parcels, crs=3035).to_crs(4326),
    )
    incidents = [
        {
            "incident_id": str(i),
            "date": str((day + pd.Timedelta(days=int(rng.integers(0, 365)))).date()),
            "killed": int(rng.integers(0, 3)),
            "injured": int(rng.integers(0, 4)),
            "civilian": bool(rng.random() < 0.8),
            "activity": str(rng.choice(["farming", "travel", "gathering firewood"])),
            "munition_type": str(rng.choice(["TM-62", "PFM-1", "cluster"])),
            "oblast": "Харківська область",
        }
        for i in range(40)
    ]
    casualties = canonical(
        "casualties", incidents, gpd.GeoSeries([shapely.Point(36.9, 49.7)] * 40, crs=4326)
    )
    return {"cleared": cleared, "hazards": hazards, "farmland": farmland, "casualties": casualties}


def main(out: str, lang: str = "en") -> None:
    hromadas = REAL_DATA / "ua_admin_osm" / "ua_adm3_hromadas.geojson"
    boundaries = gpd.read_file(hromadas) if hromadas.exists() else None
    report = build_report(
        demo_layers(),
        start="2024-01-01",
        end="2024-12-31",
        tasks=make_tasks(),
        boundaries=boundaries,
        weights_version="2024.1",
    )
    Path(out).write_bytes(render_pdf(report, lang=lang))


if __name__ == "__main__":
    main(*sys.argv[1:])
