"""Drawing the aggregate (H3) layers some roles get instead of features.

Funders and admins read casualties, strikes and hazards only as counts per coarse H3
cell (:func:`minemap.auth.aggregate_layer`): no feature geometry, no ids, no exact
counts of people. These frames have none of the columns ``minemap.webmap``'s feature
layers draw, so they are added to the finished map here, as shaded hexagons.
"""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd

from minemap import webmap
from minemap_app import i18n

__all__ = ["add_aggregate_layers"]

_COLOUR = {"hazards": webmap.COLOURS["SHA"], "strikes": webmap.COLOURS["strike"]}


def _tooltips(name: str, frame: gpd.GeoDataFrame, lang: str) -> list[str]:
    label = i18n.t(f"layer.{name}", lang)
    if name == "casualties":
        return [
            i18n.t("map.agg.casualties", lang, label=label, incidents=inc, people=ppl)
            for inc, ppl in zip(frame["incidents_band"], frame["casualties_band"], strict=True)
        ]
    areas = frame["area_ha"] if "area_ha" in frame else [None] * len(frame)
    return [
        i18n.t("map.agg.features", lang, label=label, n=i18n.fmt_number(int(n), lang))
        + ("" if a is None else f", {i18n.fmt_area(float(a) * 10_000, lang)}")
        for n, a in zip(frame["features"], areas, strict=True)
    ]


def add_aggregate_layers(
    fmap: folium.Map,
    cells: Mapping[str, gpd.GeoDataFrame],
    *,
    lang: str,
    fit: bool = False,
) -> folium.Map:
    """Add one toggleable hexagon layer per aggregate frame (tooltips shown as text).

    Parameters
    ----------
    fmap : folium.Map
        A map from :func:`minemap.webmap.build_map` (its layer control lists these too).
    cells : mapping of str to geopandas.GeoDataFrame
        Aggregate frames by layer name (``h3_cell``, counts/bands, hexagon geometry).
    lang : str
        Interface language.
    fit : bool
        Fit the view to the cells (when nothing else set it).
    """
    for name, frame in cells.items():
        if frame.empty:
            continue
        colour = _COLOUR.get(name, webmap.COLOURS["h3"])
        webmap.feature_layer(
            frame.geometry,
            name=f"{i18n.t('map.layer.h3', lang)}: {i18n.t(f'layer.{name}', lang)}",
            tooltips=_tooltips(name, frame, lang),
            styles={"": {"fillColor": colour, "color": colour, "weight": 0.8, "fillOpacity": 0.35}},
            highlight=False,
            tooltip_popup=True,
            precision=4,  # ≈ 10 m: ample for cells of 250 km²
        ).add_to(fmap)
    if fit:
        bounds = [tuple(f.total_bounds) for f in cells.values() if not f.empty]
        if bounds:
            minx = min(b[0] for b in bounds)
            miny = min(b[1] for b in bounds)
            maxx = max(b[2] for b in bounds)
            maxy = max(b[3] for b in bounds)
            fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap
