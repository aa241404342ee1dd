"""Only what is in view: the map's bounds and zoom → the features worth sending.

The web app's map reports its bounds and zoom back after every pan or zoom. At national
zoom it shows H3 summaries (:func:`minemap.webmap.h3_summary`); past a zoom threshold it
sends only the features that intersect the (padded) view, simplified for that zoom and
capped per layer, so no view grows without bound. This module is the UI-free part of
that: parse the view, snap it to a grid (so small pans reuse cached answers), query a
spatial index (shapely's STRtree), simplify for the zoom, and the two small folium pieces
the app needs to swap layers without re-creating the Leaflet map (:class:`ZoomSwitch`,
:class:`PluginAssets`). It never imports streamlit.

Positions are EPSG:4326 lon/lat throughout; a frame in any other CRS raises
:class:`minemap.CRSError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template

from minemap import webmap
from minemap.geometry import area_m2, require_storage_crs

__all__ = [
    "METRES_PER_PIXEL_EQUATOR_Z0",
    "GroupControls",
    "PluginAssets",
    "SplitMap",
    "SwapStart",
    "View",
    "ViewIndex",
    "ViewSlice",
    "ZoomSwitch",
    "detach_groups",
    "detach_legend",
    "drop_switched",
    "features_in_view",
    "pad_bounds",
    "parse_leaflet_view",
    "plugin_assets",
    "simplify_tolerance_m",
    "snap_bounds",
    "split_map",
    "swap_start",
    "zoom_for_bounds",
]

Bounds = tuple[float, float, float, float]

METRES_PER_PIXEL_EQUATOR_Z0 = 156_543.033_92
"""Web Mercator ground resolution at zoom 0 on the equator (m per 256-px tile pixel)."""


@dataclass(frozen=True, slots=True)
class View:
    """What the browser's map shows: ``(minlon, minlat, maxlon, maxlat)`` and its zoom."""

    bounds: Bounds
    zoom: int


def _check_bounds(bounds: Sequence[float]) -> Bounds:
    if len(bounds) != 4:
        raise ValueError(f"bounds must be (minlon, minlat, maxlon, maxlat), got {bounds!r}")
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    problems = []
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        problems.append("not all finite")
    elif minx > maxx or miny > maxy:
        problems.append("minimum above maximum")
    elif miny < -90 or maxy > 90:
        problems.append("latitude outside -90..90 (lon/lat order? EPSG:4326 expected)")
    if problems:
        raise ValueError(f"bounds {bounds!r} are not lon/lat bounds: {'; '.join(problems)}")
    return minx, miny, maxx, maxy


def parse_leaflet_view(value: Any) -> View | None:
    """The view reported by Leaflet (``getBounds()`` as JSON and ``getZoom()``).

    Parameters
    ----------
    value : Any
        ``{"bounds": {"_southWest": {"lat", "lng"}, "_northEast": {...}}, "zoom": z}`` as
        streamlit-folium returns it; anything else (``None``, missing or non-finite
        numbers) gives ``None``.

    Returns
    -------
    View or None
        Longitudes clipped to -180..180 and latitudes to -90..90 (Leaflet reports beyond
        them when zoomed far out).
    """
    if not isinstance(value, Mapping):
        return None
    bounds, zoom = value.get("bounds"), value.get("zoom")
    try:
        sw, ne = bounds["_southWest"], bounds["_northEast"]
        minx, miny = float(sw["lng"]), float(sw["lat"])
        maxx, maxy = float(ne["lng"]), float(ne["lat"])
        zoom_level = int(zoom)
    except (TypeError, KeyError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return None
    if minx > maxx or miny > maxy:
        return None
    clipped = (max(minx, -180.0), max(miny, -90.0), min(maxx, 180.0), min(maxy, 90.0))
    return View(bounds=clipped, zoom=zoom_level)


def pad_bounds(bounds: Sequence[float], *, fraction: float = 0.25) -> Bounds:
    """Widen ``bounds`` by ``fraction`` of their width/height on every side.

    A padded query means a short pan still finds its features already sent.
    """
    minx, miny, maxx, maxy = _check_bounds(bounds)
    dx, dy = (maxx - minx) * fraction, (maxy - miny) * fraction
    return (
        max(minx - dx, -180.0),
        max(miny - dy, -90.0),
        min(maxx + dx, 180.0),
        min(maxy + dy, 90.0),
    )


def snap_bounds(bounds: Sequence[float], *, zoom: int) -> Bounds:
    """Widen ``bounds`` outward to a grid of one map tile at ``zoom`` (360° / 2**zoom).

    Views that differ by less than a tile give the same snapped bounds, so a cache keyed
    on them is hit by small pans; the snapped box always covers the input.
    """
    minx, miny, maxx, maxy = _check_bounds(bounds)
    step = 360.0 / 2 ** max(int(zoom), 0)
    snapped = (
        math.floor(minx / step) * step,
        math.floor(miny / step) * step,
        math.ceil(maxx / step) * step,
        math.ceil(maxy / step) * step,
    )
    return (
        max(round(snapped[0], 9), -180.0),
        max(round(snapped[1], 9), -90.0),
        min(round(snapped[2], 9), 180.0),
        min(round(snapped[3], 9), 90.0),
    )


def simplify_tolerance_m(zoom: int, *, latitude: float = 48.5, pixels: float = 0.5) -> float:
    """Douglas–Peucker tolerance (m) invisible at ``zoom``: ``pixels`` of screen at ``latitude``.

    Web Mercator: one pixel is 156,543 m × cos(latitude) / 2**zoom.
    """
    return pixels * METRES_PER_PIXEL_EQUATOR_Z0 * math.cos(math.radians(latitude)) / 2**zoom


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, 85.05112878), -85.05112878)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def zoom_for_bounds(
    bounds: Sequence[float], *, width_px: int, height_px: int, max_zoom: int = 18
) -> int:
    """The largest whole zoom at which ``bounds`` fit in a ``width_px`` × ``height_px`` map.

    Same rule as Leaflet's ``fitBounds`` without padding (256-px tiles, Web Mercator).
    """
    minx, miny, maxx, maxy = _check_bounds(bounds)
    width_frac = max(maxx - minx, 1e-9) / 360.0
    height_frac = max(_mercator_y(maxy) - _mercator_y(miny), 1e-9) / (2 * math.pi)
    zoom = min(math.log2(width_px / 256.0 / width_frac), math.log2(height_px / 256.0 / height_frac))
    return int(max(0, min(max_zoom, math.floor(zoom))))


@dataclass(frozen=True, slots=True)
class ViewSlice:
    """The features of one layer to send for a view.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        At most ``cap`` features intersecting the bounds, simplified, EPSG:4326.
    total : int
        How many features intersect the bounds (before the cap).
    capped : bool
        Whether features were left out (``total > len(frame)``).
    """

    frame: gpd.GeoDataFrame
    total: int

    @property
    def capped(self) -> bool:
        return self.total > len(self.frame)


class ViewIndex:
    """A layer with its spatial index, built once and queried for each view.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer in EPSG:4326 (anything else raises :class:`minemap.CRSError`).
    order : pandas.Series, optional
        Sort key aligned to ``frame`` (lowest first) deciding which features survive the
        cap, e.g. ``priority_rank``. Default: polygons by area (largest first, in m² in
        EPSG:3035), other geometries in frame order.
    name : str
        The layer's name, for error messages.
    """

    def __init__(
        self, frame: gpd.GeoDataFrame, *, order: pd.Series | None = None, name: str = "layer"
    ) -> None:
        require_storage_crs(frame, what=f"the {name} layer")
        valid = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if order is not None:
            key = pd.to_numeric(order.reindex(valid.index), errors="coerce").to_numpy("float64")
        elif len(valid) and valid.geom_type.isin(["Polygon", "MultiPolygon"]).any():
            key = -area_m2(valid).to_numpy()
        else:
            key = np.arange(len(valid), dtype="float64")
        rank = np.argsort(np.nan_to_num(key, nan=np.inf), kind="stable")
        self.frame = valid.iloc[rank]
        self.name = name
        self._tree = shapely.STRtree(np.asarray(self.frame.geometry.values))

    def __len__(self) -> int:
        return len(self.frame)

    def query(self, bounds: Sequence[float], *, cap: int, simplify_m: float = 0.0) -> ViewSlice:
        """The features intersecting ``bounds``, in index order, at most ``cap``.

        Parameters
        ----------
        bounds : (minlon, minlat, maxlon, maxlat)
            The (padded) view, EPSG:4326.
        cap : int
            Most features returned; ``ViewSlice.total`` says how many there were.
        simplify_m : float
            Douglas–Peucker tolerance in metres (in EPSG:3035) for polygons and lines.
        """
        box = shapely.box(*_check_bounds(bounds))
        if cap < 0:
            raise ValueError(f"cap must be >= 0, got {cap}")
        hits = np.sort(self._tree.query(box, predicate="intersects"))
        total = len(hits)
        chosen = self.frame.iloc[hits[:cap]]
        if simplify_m > 0 and len(chosen) and not chosen.geom_type.isin(["Point"]).all():
            projected = chosen.geometry.to_crs("EPSG:3035")
            simple = projected.simplify(simplify_m, preserve_topology=True).to_crs(chosen.crs)
            chosen = chosen.set_geometry(simple.values)
        return ViewSlice(frame=chosen, total=total)


def features_in_view(
    frame: gpd.GeoDataFrame,
    bounds: Sequence[float],
    *,
    cap: int,
    simplify_m: float = 0.0,
    order: pd.Series | None = None,
) -> ViewSlice:
    """One-off :meth:`ViewIndex.query` (build the index once when querying many views)."""
    return ViewIndex(frame, order=order).query(bounds, cap=cap, simplify_m=simplify_m)


# --------------------------------------------------------------------------- folium pieces


def detach_groups(fmap: folium.Map, *, exclude: Iterable[str] = ()) -> list[folium.FeatureGroup]:
    """Take the feature groups (the data layers) out of a map built by ``webmap.build_map``.

    The app sends them to an existing Leaflet map instead (streamlit-folium's
    ``feature_group_to_add``), so the map is not re-created and its view does not jump.
    Groups whose ``layer_name`` is in ``exclude`` (e.g. the oblast outlines) stay.
    """
    skip = set(exclude)
    groups = []
    for key, child in list(fmap._children.items()):
        if isinstance(child, folium.FeatureGroup) and child.layer_name not in skip:
            del fmap._children[key]
            child._parent = None
            groups.append(child)
    return groups


class ZoomSwitch(MacroElement):
    """Show ``layers`` only below ``min_zoom`` (the H3 summary gives way to the detail).

    Parameters
    ----------
    layers : sequence of folium.FeatureGroup
        Groups already on the map.
    min_zoom : int
        From this zoom on the layers are removed from the map; below it, added back.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var layers = [{% for layer in this.layers %}{{ layer.get_name() }},{% endfor %}];
            function sync() {
                var detail = map.getZoom() >= {{ this.min_zoom }};
                layers.forEach(function (layer) {
                    if (detail && map.hasLayer(layer)) { map.removeLayer(layer); }
                    if (!detail && !map.hasLayer(layer)) { map.addLayer(layer); }
                });
            }
            map.on("zoomend", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[folium.FeatureGroup], *, min_zoom: int) -> None:
        super().__init__()
        self._name = "MinemapZoomSwitch"
        self.layers = list(layers)
        self.min_zoom = int(min_zoom)


class PluginAssets(JSCSSMixin, MacroElement):
    """Load scripts and stylesheets without drawing anything.

    Layers sent later into an existing map (marker clusters, heat maps) need their
    plugin code loaded when the map is first created: streamlit-folium loads scripts
    only then.
    """

    _template = Template("{% macro script(this, kwargs) %}{% endmacro %}")

    def __init__(self, js: Sequence[tuple[str, str]], css: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "MinemapPluginAssets"
        self.default_js = list(js)
        self.default_css = list(css)


def plugin_assets(asset_base: str = webmap.DEFAULT_ASSET_BASE) -> PluginAssets:
    """The vendored marker-cluster and heat-map plugin assets (as ``webmap`` serves them)."""
    scratch = folium.Map(tiles=None)
    cluster = plugins.MarkerCluster().add_to(scratch)
    heat = plugins.HeatMap([[0.0, 0.0, 0.0]]).add_to(scratch)
    webmap.use_offline_assets(scratch, asset_base=asset_base)
    js = [*cluster.default_js, *heat.default_js]
    css = [*cluster.default_css, *heat.default_css]
    return PluginAssets(js, css)


class GroupControls(MacroElement):
    """A legend and a zoom switch that live and die with the feature group holding them.

    Layers sent into an existing Leaflet map (streamlit-folium's ``feature_group_to_add``)
    are removed and replaced on the next run; controls attached to the map itself would
    outlive them. This element, put in a group of its own sent last, adds the legend and
    the zoom handler when its group is added to the map and removes them with it.

    Parameters
    ----------
    legend : str or None
        Pre-escaped legend HTML (``webmap``'s legend body); ``None``: no legend.
    layers : sequence of folium.FeatureGroup
        Groups shown only below ``min_zoom`` (sent in the same run, before this one).
    min_zoom : int
        From this zoom on ``layers`` are removed from the map; below it, added back.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var holder = {{ this._parent.get_name() }};
            holder.minemapControls = true;  // the features in view come after the last holder
            var layers = [{% for layer in this.layers %}{{ layer.get_name() }},{% endfor %}];
            var legend = null;
            var attached = null;
            {% if this.legend %}
            legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "minemap-legend");
                div.innerHTML = {{ this.legend | tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            {% endif %}
            function sync() {
                if (!attached) { return; }
                var detail = attached.getZoom() >= {{ this.min_zoom }};
                layers.forEach(function (layer) {
                    if (detail && attached.hasLayer(layer)) { attached.removeLayer(layer); }
                    if (!detail && !attached.hasLayer(layer)) { attached.addLayer(layer); }
                });
            }
            holder.on("add", function () {
                attached = holder._map;
                if (legend) { legend.addTo(attached); }
                if (layers.length) { attached.on("zoomend", sync); sync(); }
            });
            holder.on("remove", function () {
                if (legend) { legend.remove(); }
                if (attached) { attached.off("zoomend", sync); }
                attached = null;
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        legend: str | None,
        layers: Sequence[folium.FeatureGroup] = (),
        min_zoom: int = 0,
    ) -> None:
        super().__init__()
        self._name = "MinemapGroupControls"
        self.legend = legend
        self.layers = list(layers)
        self.min_zoom = int(min_zoom)


class SwapStart(MacroElement):
    """Put first in the groups sent to an existing map: forget the groups it replaces.

    streamlit-folium removes the previous groups from the map before it evaluates new
    ones, but keeps them in ``window.feature_group``, which only grows: every pan would
    keep the layers it replaced (all their features) in the browser's memory. This
    script, in the first group sent, keeps only the groups still on the map (none, at
    that point) and counts the swaps in ``window.minemapSwaps`` (for tests and
    benchmarks: "new layers were swapped in").
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.feature_group = (window.feature_group || []).filter(function (g) {
            return window.map && window.map.hasLayer(g);
        });
        window.minemapSwaps = (window.minemapSwaps || 0) + 1;
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MinemapSwapStart"


def swap_start() -> folium.FeatureGroup:
    """A group holding :class:`SwapStart` (no entry in the layer switcher); send it first."""
    group = folium.FeatureGroup(name="minemap-swap", control=False, show=True)
    SwapStart().add_to(group)
    return group


def detach_legend(fmap: folium.Map) -> folium.FeatureGroup | None:
    """Take the legend out of a map built by ``webmap.build_map``, in a group of its own.

    The features in view are built on a scratch map and sent as groups; its legend would
    stay behind. Returned as a holder group (:class:`GroupControls`, no entry in the layer
    switcher) that adds the legend with it and removes it with it; ``None`` without legend.
    """
    for key, child in list(fmap._children.items()):
        if type(child).__name__ == "_Legend":
            del fmap._children[key]
            child._parent = None
            holder = folium.FeatureGroup(name="minemap-legend", control=False, show=True)
            GroupControls(legend=child.body).add_to(holder)
            return holder
    return None


def drop_switched(groups: Sequence[folium.FeatureGroup]) -> list[folium.FeatureGroup]:
    """The groups worth sending with the features in view: all but the switched summary.

    From the zoom at which the features in view are sent, the holder's
    :class:`GroupControls` hides the layers it switches (the national H3 summary) anyway:
    sending them again with every pan only re-sends the same bytes. What is left — the
    basemap, the outlines, layers that are never switched (an aggregate role's cells, a
    chosen task), the holder with its legend — is returned in order; the holder's
    :class:`GroupControls` in ``groups`` is changed to switch nothing (its script would
    otherwise name layers that were not sent). Pass a copy made for this one send.
    """
    switched: set[int] = set()
    for group in groups:
        for child in group._children.values():
            if isinstance(child, GroupControls):
                switched.update(id(layer) for layer in child.layers)
                child.layers = []
    return [group for group in groups if id(group) not in switched]


@dataclass
class SplitMap:
    """A map split into what stays in the browser and what is swapped on every run."""

    base: folium.Map
    """The map without data layers, legend, layer switcher or initial view: the same
    script whatever the filters, so streamlit-folium keeps the browser's Leaflet map."""
    groups: list[folium.FeatureGroup]
    """The data layers, then one holder group (no entry in the layer switcher) carrying
    the legend and the zoom switch (:class:`GroupControls`)."""
    bounds: Bounds | None
    """The view the full map would have opened on (its ``fit_bounds``), lon/lat."""


def split_map(fmap: folium.Map, *, keep: Iterable[str] = ()) -> SplitMap:
    """Split a finished map (``webmap.build_map`` and additions) for layer swaps.

    ``fmap`` is changed: its feature groups (except those named in ``keep``, e.g. the
    oblast outlines), its legend, zoom switch, layer switcher and ``fit_bounds`` are taken
    out. Send ``base`` as the map and ``groups`` as ``feature_group_to_add`` with a fresh
    ``folium.LayerControl`` as ``layer_control``.
    """
    groups = detach_groups(fmap, exclude=keep)
    legend = None
    switch: ZoomSwitch | None = None
    bounds: Bounds | None = None
    for key, child in list(fmap._children.items()):
        name = type(child).__name__
        if name == "_Legend":
            legend = child.body
        elif isinstance(child, ZoomSwitch):
            switch = child
        elif name == "FitBounds":
            (miny, minx), (maxy, maxx) = child.bounds
            bounds = (float(minx), float(miny), float(maxx), float(maxy))
        elif not isinstance(child, folium.LayerControl):
            continue
        del fmap._children[key]
        child._parent = None
    holder = folium.FeatureGroup(name="minemap-controls", control=False, show=True)
    ids = {id(g) for g in groups}
    GroupControls(
        legend=legend,
        layers=[g for g in switch.layers if id(g) in ids] if switch is not None else (),
        min_zoom=switch.min_zoom if switch is not None else 0,
    ).add_to(holder)
    return SplitMap(base=fmap, groups=[*groups, holder], bounds=bounds)
