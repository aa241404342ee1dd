"""Interactive clearance maps with folium, built without any UI framework.

The web app (``minemap_app``) renders what this module builds; reports and notebooks can
use it too. Three rules shape everything here:

* **Offline.** folium loads Leaflet, jQuery, Bootstrap and plugin code from CDNs by
  default, which leaves a blank map without internet. :func:`use_offline_assets` points
  every element at the vendored copies served by the app (``/app/static/vendor``) and
  refuses elements whose assets are not vendored, so a missing asset is an error at
  build time instead of a blank map in the field.
* **Escaped.** folium's ``GeoJsonPopup``/``GeoJsonTooltip`` insert property values into
  the page as raw HTML, so they are not used: each layer sends its features once as
  compact JSON (:func:`feature_layer`; ``<``, ``>``, ``&`` escaped as ``\\u00XX``, only the
  values a popup shows) and the browser builds tooltips and popups from those values
  with ``textContent`` when they open — no value is ever parsed as HTML.
* **Small.** Geometries are simplified and coordinates rounded before they are sent;
  at national scale layers are summarised on H3 cells (:func:`h3_summary`); the map
  draws on a canvas (one element, not one SVG path per feature). A frame marked as a
  snapshot (:data:`SNAPSHOT_ATTR`) is summarised and serialised once, then reused.

Colours are fixed per meaning (:data:`COLOURS`) so that hazard, released land and
priority look the same on every map and report.
"""

from __future__ import annotations

import html
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template

__all__ = [
    "ADMIN_BOUNDARIES_RESOURCE",
    "COLOURS",
    "DEFAULT_ASSET_BASE",
    "DEFAULT_TEXT",
    "PRIORITY_CLASSES",
    "RECENCY_CLASSES_DAYS",
    "SNAPSHOT_ATTR",
    "MapOptions",
    "admin_boundaries",
    "asset_urls",
    "build_map",
    "escape_text",
    "feature_layer",
    "format_number",
    "h3_summary",
    "popup_table",
    "priority_class_breaks",
    "recency_colour",
    "use_offline_assets",
]

DEFAULT_ASSET_BASE = "/app/static/vendor"
"""URL prefix of the vendored web assets as the app serves them (Streamlit static serving)."""

ADMIN_BOUNDARIES_RESOURCE = "ua_oblasts.geojson"
"""Bundled, simplified oblast outlines (© OpenStreetMap contributors, ODbL) in ``minemap/data``."""

COLOURS: dict[str, str] = {
    "SHA": "#f28e2b",
    "CHA": "#c0392b",
    "cleared": "#1b7837",
    "reduced": "#5aae61",
    "cancelled": "#a6dba0",
    "farmland": "#b8860b",
    "strike": "#6a3d9a",
    "settlement": "#2166ac",
    "admin": "#555555",
    "h3": "#3c5a99",
}
"""One colour per meaning, shared by maps and legends."""

PRIORITY_CLASSES: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
"""Sequential ramp for priority scores, lowest to highest class (ColorBrewer YlOrRd 5)."""

RECENCY_CLASSES_DAYS: tuple[tuple[int, str], ...] = (
    (90, "#67000d"),
    (365, "#cb181d"),
    (3 * 365, "#fb6a4a"),
    (10**6, "#fcbba1"),
)
"""Casualty recency classes: (at most this many days before the reference date, colour)."""

DEFAULT_TEXT: dict[str, str] = {
    "layer.tasks": "Priority tasks",
    "layer.hazards": "Hazard areas (SHA/CHA)",
    "layer.strikes": "Strike sites",
    "layer.casualties": "Casualties (clusters)",
    "layer.casualties_heat": "Casualties (heat map)",
    "layer.cleared": "Released land",
    "layer.farmland": "Farmland",
    "layer.settlements": "Settlements",
    "layer.admin": "Oblast boundaries",
    "layer.h3": "Summary by area (H3)",
    "legend.priority": "Priority score",
    "legend.hazards": "Hazard areas",
    "legend.released": "Released land",
    "legend.casualties": "Casualties: time since incident",
    "legend.other": "Other layers",
    "SHA": "Suspected (SHA)",
    "CHA": "Confirmed (CHA)",
    "cleared": "Cleared",
    "reduced": "Reduced",
    "cancelled": "Cancelled",
    "farmland": "Farmland",
    "strike": "Strike site",
    "settlement": "Settlement (people exposed)",
    "recency.0": "under 3 months",
    "recency.1": "3–12 months",
    "recency.2": "1–3 years",
    "recency.3": "over 3 years",
    "field.task_id": "Task",
    "field.priority_rank": "Rank",
    "field.priority_score": "Score",
    "field.area": "Area",
    "field.farmland_area": "Farmland in task",
    "field.evidence_class": "Evidence",
    "field.expected_items": "Expected items",
    "field.contributions": "Score breakdown",
    "field.id": "Id",
    "field.date": "Date",
    "field.type": "Type",
    "field.contamination": "Contamination",
    "field.status": "Status",
    "field.operator": "Operator",
    "field.method": "Method",
    "field.munition": "Munition",
    "field.killed_injured": "Killed / injured",
    "field.land_use": "Land use",
    "field.name": "Name",
    "field.population": "Population",
    "field.count": "Records",
    "field.casualties": "Casualties",
    "unit.ha": "ha",
    "unit.m2": "m²",
    "unit.km2": "km²",
}
"""English defaults for every text the map shows; the app passes translations by key."""


@dataclass(frozen=True, slots=True)
class MapOptions:
    """How a map is built: assets, language, size limits and the reference date.

    Attributes
    ----------
    asset_base : str
        URL prefix under which the vendored assets are served.
    text : Mapping[str, str]
        Translations keyed like :data:`DEFAULT_TEXT` (missing keys fall back to English).
    decimal_comma : bool
        Format numbers the Ukrainian way (``1 234,5``) instead of ``1,234.5``.
    reference_date : date or None
        "Today" for casualty recency colours (the end of the period shown).
    simplify_m : float
        Douglas–Peucker tolerance in metres for polygons sent to the browser.
    precision : int
        Decimal places of longitude/latitude sent to the browser (5 ≈ 1 m).
    summary_resolution : int or None
        H3 resolution of the national summary; ``None`` sends individual features.
    height_px : int
        Map height in pixels.
    language : str
        ``"uk"`` or ``"en"``: which names of the admin boundaries are shown.
    max_features_per_layer : int or None
        A layer with more features than this is summarised on H3 cells (at
        ``overflow_resolution``) instead of sent feature by feature: bounds what one
        view sends to the browser.
    overflow_resolution : int
        H3 resolution for such layers (6 ≈ 36 km² cells).
    exact_casualties : bool
        False shows casualties only as H3 counts (for roles that must not see exact
        casualty points).
    """

    asset_base: str = DEFAULT_ASSET_BASE
    text: Mapping[str, str] | None = None
    decimal_comma: bool = False
    reference_date: date | None = None
    simplify_m: float = 20.0
    precision: int = 5
    summary_resolution: int | None = None
    height_px: int = 620
    language: str = "en"
    max_features_per_layer: int | None = None
    overflow_resolution: int = 6
    exact_casualties: bool = True

    def t(self, key: str) -> str:
        """The (translated) text for ``key``."""
        if self.text and key in self.text:
            return self.text[key]
        return DEFAULT_TEXT.get(key, key)


# --------------------------------------------------------------------------- assets


def _vendored(base: str) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    base = base.rstrip("/")
    return {
        "map": (
            [("leaflet", f"{base}/leaflet/leaflet.js")],
            [("leaflet_css", f"{base}/leaflet/leaflet.css")],
        ),
        "markercluster": (
            [("markerclusterjs", f"{base}/leaflet.markercluster/leaflet.markercluster.js")],
            [
                ("markerclustercss", f"{base}/leaflet.markercluster/MarkerCluster.css"),
                (
                    "markerclusterdefaultcss",
                    f"{base}/leaflet.markercluster/MarkerCluster.Default.css",
                ),
            ],
        ),
        "heat": ([("leaflet-heat.js", f"{base}/leaflet.heat/leaflet-heat.js")], []),
    }


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def use_offline_assets(m: folium.Map, *, asset_base: str = DEFAULT_ASSET_BASE) -> folium.Map:
    """Point the map and its plugins at vendored assets instead of CDNs.

    Sets ``default_js``/``default_css`` on the *instances* (never on folium's classes,
    so other maps in the process are untouched). jQuery, Bootstrap, awesome-markers and
    Font Awesome are dropped: nothing this module builds uses them.

    Parameters
    ----------
    m : folium.Map
        The finished map (call this after every layer was added).
    asset_base : str, default :data:`DEFAULT_ASSET_BASE`
        URL prefix of the vendored ``leaflet``, ``leaflet.markercluster`` and
        ``leaflet.heat`` folders.

    Returns
    -------
    folium.Map
        The same map, for chaining.

    Raises
    ------
    ValueError
        If an element needs a script or stylesheet that is not vendored (it would
        silently fail offline, and streamlit-folium would then draw nothing at all).
    """
    assets = _vendored(asset_base)
    unknown: list[str] = []
    for element in _walk(m):
        if isinstance(element, folium.Map):
            kind = "map"
        elif isinstance(element, plugins.MarkerCluster):
            kind = "markercluster"
        elif isinstance(element, plugins.HeatMap):
            kind = "heat"
        elif isinstance(element, JSCSSMixin):
            links = [u for _, u in [*element.default_js, *element.default_css]]
            unknown.extend(f"{type(element).__name__}: {u}" for u in links)
            continue
        else:
            continue
        element.default_js, element.default_css = (list(x) for x in assets[kind])
    if unknown:
        raise ValueError(
            "these map elements need web assets that are not vendored, so they would not "
            "load offline: " + "; ".join(unknown)
        )
    return m


def asset_urls(m: folium.Map) -> list[str]:
    """Every script and stylesheet URL the map's elements will load, in tree order.

    Parameters
    ----------
    m : folium.Map
        A map, typically after :func:`use_offline_assets`.

    Returns
    -------
    list of str
        URLs, without duplicates (tests assert none starts with ``http``).
    """
    urls: list[str] = []
    for element in _walk(m):
        for _, url in [*getattr(element, "default_js", []), *getattr(element, "default_css", [])]:
            if url not in urls:
                urls.append(url)
    return urls


# --------------------------------------------------------------------------- text


def escape_text(value: Any) -> str:
    """HTML-escape any value for display (``None``/NA → empty string).

    Parameters
    ----------
    value : Any
        A property value from user data.

    Returns
    -------
    str
        Text safe to place inside HTML elements and attributes.

    Examples
    --------
    >>> escape_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape_text(None)
    ''
    """
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp | datetime):
        value = value.date().isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    return html.escape(str(value), quote=True)


def format_number(value: float | None, *, decimals: int = 0, decimal_comma: bool = False) -> str:
    """Format a number with grouping, the English or the Ukrainian way.

    Parameters
    ----------
    value : float or None
        The number (``None``/NaN → ``"–"``).
    decimals : int, default 0
        Digits after the decimal separator.
    decimal_comma : bool, default False
        Ukrainian style: narrow no-break space groups and a decimal comma.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(12345.678, decimals=1)
    '12,345.7'
    >>> format_number(12345.678, decimals=1, decimal_comma=True)
    '12\u202f345,7'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    if decimal_comma:
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _area_text(area_m2: float | None, opts: MapOptions) -> str:
    if area_m2 is None or (isinstance(area_m2, float) and math.isnan(area_m2)):
        return "–"
    if area_m2 >= 1_000_000:
        value, unit = area_m2 / 1_000_000, opts.t("unit.km2")
        decimals = 2
    elif area_m2 >= 10_000:
        value, unit = area_m2 / 10_000, opts.t("unit.ha")
        decimals = 1
    else:
        value, unit = area_m2, opts.t("unit.m2")
        decimals = 0
    return f"{format_number(value, decimals=decimals, decimal_comma=opts.decimal_comma)} {unit}"


def popup_table(rows: Sequence[tuple[str, str]]) -> str:
    """An HTML table from (label, value) pairs, escaping both.

    Parameters
    ----------
    rows : sequence of (str, str)
        Labels and *unescaped* values; rows with an empty value are left out.

    Returns
    -------
    str
        ``<table class="minemap-popup">…</table>``.

    Examples
    --------
    >>> popup_table([("Id", "<b>1</b>")])
    '<table class="minemap-popup"><tr><th>Id</th><td>&lt;b&gt;1&lt;/b&gt;</td></tr></table>'
    """
    body = "".join(
        f"<tr><th>{escape_text(label)}</th><td>{escape_text(value)}</td></tr>"
        for label, value in rows
        if value not in ("", None)
    )
    return f'<table class="minemap-popup">{body}</table>'


# --------------------------------------------------------------------------- data prep


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    if type(value) is str:  # the common case, without pandas' NA checks
        return value
    if _is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return value.date().isoformat()
    return str(value)


def _slim(frame: gpd.GeoDataFrame, opts: MapOptions) -> gpd.GeoSeries:
    """Simplified, rounded geometries (simplification in metres via EPSG:3035)."""
    geoms = frame.geometry
    if len(geoms) == 0:
        return geoms
    if opts.simplify_m > 0 and geoms.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        projected = geoms.to_crs("EPSG:3035")
        simplified = projected.simplify(opts.simplify_m, preserve_topology=True)
        geoms = simplified.to_crs(frame.crs)
    factor = 10**opts.precision
    rounded = shapely.transform(np.asarray(geoms.values), lambda xy: np.round(xy * factor) / factor)
    return gpd.GeoSeries(rounded, index=frame.index, crs=frame.crs)


def recency_colour(dates: pd.Series, *, reference_date: date) -> pd.Series:
    """Colour of each record by its age at ``reference_date`` (:data:`RECENCY_CLASSES_DAYS`).

    Parameters
    ----------
    dates : pandas.Series
        Incident dates (datetime64 or anything ``pd.to_datetime`` reads; NA → oldest).
    reference_date : date
        The date ages are measured to.

    Returns
    -------
    pandas.Series
        Hex colours, named ``recency_colour``, aligned to ``dates``.
    """
    age_days = (pd.Timestamp(reference_date) - pd.to_datetime(dates)).dt.days
    colours = pd.Series(RECENCY_CLASSES_DAYS[-1][1], index=dates.index, name="recency_colour")
    for limit, colour in reversed(RECENCY_CLASSES_DAYS):
        colours = colours.mask(age_days.le(limit).fillna(False).astype(bool), colour)
    return colours


def priority_class_breaks(
    scores: pd.Series, *, classes: int = len(PRIORITY_CLASSES)
) -> list[float]:
    """Equal-interval class breaks between the lowest and highest score.

    Parameters
    ----------
    scores : pandas.Series
        Priority scores.
    classes : int
        Number of classes.

    Returns
    -------
    list of float
        ``classes + 1`` ascending breaks (a constant score gives a zero-width range).
    """
    finite = pd.to_numeric(scores, errors="coerce").dropna()
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    return [low + (high - low) * i / classes for i in range(classes + 1)]


def _class_index(value: float, breaks: Sequence[float]) -> int:
    if _is_missing(value):
        return 0
    for i in range(len(breaks) - 2, -1, -1):
        if value >= breaks[i]:
            return i
    return 0


def h3_summary(
    frame: gpd.GeoDataFrame, *, resolution: int, weight: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Count features (and sum a weight) on H3 cells, for the national overview.

    Polygons are counted at a point inside them (the centroid where it lies inside,
    else the representative point).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Features in EPSG:4326.
    resolution : int
        H3 resolution (4 ≈ 1,770 km² cells, 5 ≈ 250 km²).
    weight : pandas.Series, optional
        Values aligned to ``frame`` summed per cell (e.g. killed + injured).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``h3_cell``, ``count``, ``weight_sum`` and the cell polygon, EPSG:4326.
    """
    import h3

    empty = gpd.GeoDataFrame(
        {"h3_cell": [], "count": [], "weight_sum": []}, geometry=[], crs="EPSG:4326"
    )
    valid = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if valid.empty:
        return empty
    # A point of each feature: its centroid where that lies inside it (cheap, vectorised),
    # else its representative point (always inside).
    geoms = np.asarray(valid.geometry.array, dtype=object)
    points = shapely.centroid(geoms)
    x, y = shapely.get_x(points), shapely.get_y(points)
    areal = np.isin(shapely.get_type_id(geoms), (3, 6))
    outside = areal.copy()
    outside[areal] = ~shapely.contains_xy(geoms[areal], x[areal], y[areal])
    if outside.any():
        inner = shapely.point_on_surface(geoms[outside])
        x[outside], y[outside] = shapely.get_x(inner), shapely.get_y(inner)
    # Integer cell ids group fast; the strings are made only for the (few) cells.
    to_cell = h3.api.basic_int.latlng_to_cell
    cells = np.fromiter(
        (to_cell(lat, lon, resolution) for lon, lat in zip(x.tolist(), y.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(x),
    )
    weights = (
        pd.to_numeric(weight.reindex(valid.index), errors="coerce").fillna(0.0).to_numpy()
        if weight is not None
        else np.ones(len(valid))
    )
    table = (
        pd.DataFrame({"cell": cells, "w": weights})
        .groupby("cell", sort=False)
        .agg(count=("w", "size"), weight_sum=("w", "sum"))
        .reset_index()
    )
    table.insert(0, "h3_cell", [h3.int_to_str(int(c)) for c in table["cell"]])
    table = table.drop(columns="cell").sort_values("h3_cell", ignore_index=True)
    rings = [h3.cell_to_boundary(cell) for cell in table["h3_cell"]]
    latlng = np.array([vertex for ring in rings for vertex in ring], dtype=float).reshape(-1, 2)
    ring_index = np.repeat(np.arange(len(rings)), [len(ring) for ring in rings])
    polygons = shapely.polygons(shapely.linearrings(latlng[:, ::-1], indices=ring_index))
    return gpd.GeoDataFrame(table, geometry=polygons, crs="EPSG:4326")


def admin_boundaries() -> gpd.GeoDataFrame:
    """The bundled, simplified oblast outlines of Ukraine (read from package data).

    Returns
    -------
    geopandas.GeoDataFrame
        ``name_uk``, ``name_en``, ``iso3166_2`` and geometry, EPSG:4326.
        © OpenStreetMap contributors, ODbL 1.0 (see ``minemap/data/ua_oblasts.SOURCE.md``).
    """
    resource = resources.files("minemap").joinpath("data", ADMIN_BOUNDARIES_RESOURCE)
    with resources.as_file(resource) as path:
        frame = gpd.read_file(path)
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    frame.attrs[SNAPSHOT_ATTR] = ("bundled", ADMIN_BOUNDARIES_RESOURCE)  # never changes
    return frame


# --------------------------------------------------------------------------- layers


def _json(value: Any) -> str:
    """Compact JSON safe inside an HTML ``<script>`` (``<``, ``>``, ``&`` as ``\\u00XX``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_HELPERS_JS = """\
(function () {
    // Popups and tooltips are built here from plain values with textContent: no property
    // value is ever parsed as HTML, whatever it contains.
    function text(tag, value) {
        var el = document.createElement(tag);
        el.textContent = value == null ? "" : String(value);
        return el;
    }
    function table(labels, values) {
        var t = document.createElement("table");
        t.className = "minemap-popup";
        for (var i = 0; i < labels.length; i++) {
            var v = values[i];
            if (v === "" || v == null) { continue; }
            var tr = t.insertRow();
            tr.appendChild(text("th", labels[i]));
            tr.appendChild(text("td", v));
        }
        return t;
    }
    function layer(group, spec, data) {
        var styles = spec.styles;
        var geo = L.geoJSON(data, {
            style: function (f) {
                var s = styles[f.properties.s] || styles[""];
                if (f.properties.o != null) { s = L.extend({}, s, {fillOpacity: f.properties.o}); }
                return s;
            },
            pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, {radius: spec.radius || 5});
            }
        });
        geo.bindTooltip(function (l) { return text("span", l.feature.properties.t); },
                        {sticky: !!spec.sticky});
        if (spec.labels) {
            geo.bindPopup(function (l) { return table(spec.labels, l.feature.properties.v); },
                          {maxWidth: 420});
        } else if (spec.tipPopup) {
            geo.bindPopup(function (l) { return text("span", l.feature.properties.t); });
        }
        if (spec.highlight) {
            geo.on("mouseover", function (e) { e.layer.setStyle(spec.highlight); });
            geo.on("mouseout", function (e) { geo.resetStyle(e.layer); });
        }
        geo.addTo(group);
        return geo;
    }
    window.minemap = {text: text, table: table, layer: layer};
})();
"""


class _Helpers(MacroElement):
    """The map's small JS helpers (popups, tooltips, data layers); added first."""

    _template = Template("{% macro script(this, kwargs) %}" + _HELPERS_JS + "{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "MinemapHelpers"


class _DataLayer(MacroElement):
    """One GeoJSON layer whose data and spec were serialised once, in Python, as JSON."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.minemap.layer({{ this._parent.get_name() }}, {{ this.spec }}, {{ this.data }});
        {% endmacro %}
        """
    )

    def __init__(self, spec: str, data: str) -> None:
        super().__init__()
        self._name = "MinemapLayer"
        self.spec = spec
        self.data = data

    def render(self, **kwargs: Any) -> None:
        # MacroElement.render wraps the rendered script in a new jinja Template, i.e.
        # compiles the whole data string as a template on every render: add it as is.
        script = self._template.module.script(self, kwargs)
        self.get_root().script.add_child(_Raw(str(script)), name=self.get_name())


class _Raw(Element):
    """Text added to the page as it is (no jinja compile of a large string)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def _feature_collection(
    geometries: Sequence[Any],
    tooltips: Sequence[str],
    *,
    values: Sequence[Sequence[Any]] | None = None,
    keys: Sequence[str] | None = None,
    opacity: Sequence[float] | None = None,
) -> str:
    """A GeoJSON FeatureCollection as a string: geometry via GEOS, small properties."""
    shapes = shapely.to_geojson(np.asarray(geometries, dtype=object))
    parts: list[str] = []
    for i, shape in enumerate(shapes):
        props: dict[str, Any] = {"t": tooltips[i]}
        if values is not None:
            props["v"] = list(values[i])
        if keys is not None:
            props["s"] = keys[i]
        if opacity is not None:
            props["o"] = opacity[i]
        parts.append(f'{{"type":"Feature","geometry":{shape},"properties":{_json(props)}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def feature_layer(
    geometries: gpd.GeoSeries,
    *,
    name: str,
    tooltips: Sequence[str],
    styles: Mapping[str, Mapping[str, Any]],
    keys: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    values: Sequence[Sequence[Any]] | None = None,
    opacity: Sequence[float] | None = None,
    show: bool = True,
    sticky: bool = True,
    highlight: bool = True,
    tooltip_popup: bool = False,
    radius: float = 5,
    precision: int = 5,
) -> folium.FeatureGroup:
    """A toggleable layer of features with tooltips and popups built in the browser as text.

    The features are serialised once as a compact GeoJSON string (coordinates rounded to
    ``precision`` decimals; property values as plain JSON with ``<``, ``>`` and ``&``
    escaped). The browser builds each tooltip and popup with ``textContent`` when it is
    shown, so no value is ever interpreted as HTML, and no HTML string per feature is sent.

    Parameters
    ----------
    geometries : geopandas.GeoSeries
        Geometries in EPSG:4326 (empty/missing ones are left out with their rows).
    name : str
        The layer's name in the layer switcher (escaped here).
    tooltips : sequence of str
        One plain-text tooltip per geometry.
    styles : mapping of str to dict
        Leaflet path styles by key; ``""`` is the default.
    keys : sequence of str, optional
        Each feature's style key.
    labels, values : optional
        Popup row labels, and per feature the values in the same order (empty values
        are left out of the popup). Without labels there is no popup.
    opacity : sequence of float, optional
        Per-feature fill opacity (overrides the style's).
    show, sticky, highlight, tooltip_popup, radius, precision
        Shown initially; tooltip follows the mouse; thicker outline on hover; without
        labels, a click shows the tooltip's text as the popup; radius of point markers
        in pixels; decimals of the coordinates.

    Returns
    -------
    folium.FeatureGroup
    """
    group = folium.FeatureGroup(name=escape_text(name), show=show)
    geoms = np.asarray(gpd.GeoSeries(geometries).array, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        return group
    factor = 10**precision
    geoms = shapely.transform(geoms[keep], lambda xy: np.round(xy * factor) / factor)
    idx = np.flatnonzero(keep)

    def pick(seq: Sequence[Any] | None) -> list[Any] | None:
        return None if seq is None else [seq[i] for i in idx]

    data = _feature_collection(
        geoms,
        pick(tooltips) or [],
        values=pick(values),
        keys=pick(keys),
        opacity=pick(opacity),
    )
    spec: dict[str, Any] = {"styles": dict(styles), "sticky": sticky, "radius": radius}
    if labels is not None:
        spec["labels"] = list(labels)
    elif tooltip_popup:
        spec["tipPopup"] = True
    if highlight:
        spec["highlight"] = {"weight": 3, "fillOpacity": 0.75}
    _DataLayer(_json(spec), data).add_to(group)
    return group


def _style(colour: str, **extra: Any) -> dict[str, Any]:
    return {"color": colour, "fillColor": colour, **extra}


def _tasks_layer(tasks: gpd.GeoDataFrame, opts: MapOptions, show: bool) -> folium.FeatureGroup:
    breaks = priority_class_breaks(tasks["priority_score"])
    contrib_cols = [c for c in tasks.columns if c.startswith("contrib_")]
    labels = [
        opts.t("field.task_id"),
        opts.t("field.priority_rank"),
        opts.t("field.priority_score"),
        opts.t("field.area"),
        opts.t("field.farmland_area"),
        opts.t("field.evidence_class"),
        opts.t("field.expected_items"),
    ]
    for col in contrib_cols:
        component = col.removeprefix("contrib_")
        label = (opts.text or {}).get(f"component.{component}", component.replace("_", " "))
        labels.append(f"{opts.t('field.contributions')}: {label}")
    values, tooltips, classes = [], [], []
    for row in tasks.itertuples(index=False):
        r = row._asdict()
        score = float(r["priority_score"]) if not _is_missing(r["priority_score"]) else math.nan
        rank = r.get("priority_rank")
        score_text = format_number(score, decimals=3, decimal_comma=opts.decimal_comma)
        low, high = r.get("expected_items_low"), r.get("expected_items_high")
        expected = ""
        if not (_is_missing(low) and _is_missing(high)):
            expected = (
                f"{format_number(low, decimals=0, decimal_comma=opts.decimal_comma)}–"
                f"{format_number(high, decimals=0, decimal_comma=opts.decimal_comma)}"
            )
        values.append(
            [
                _text(r.get("task_id")),
                _text(rank),
                score_text,
                _area_text(r.get("area_m2"), opts),
                _area_text(r.get("farmland_area_m2"), opts),
                _text(r.get("evidence_class")),
                expected,
                *(
                    format_number(r[col], decimals=3, decimal_comma=opts.decimal_comma)
                    for col in contrib_cols
                ),
            ]
        )
        tooltips.append(f"#{_text(rank)} {_text(r.get('task_id'))} · {score_text}")
        classes.append(str(_class_index(score, breaks)))
    styles = {
        str(i): {"fillColor": c, "color": "#7f0000", "weight": 1, "fillOpacity": 0.7}
        for i, c in enumerate(PRIORITY_CLASSES)
    }
    styles[""] = styles["0"]
    return feature_layer(
        _slim(tasks, opts),
        name=opts.t("layer.tasks"),
        tooltips=tooltips,
        styles=styles,
        keys=classes,
        labels=labels,
        values=values,
        show=show,
        precision=opts.precision,
    )


def _hazards_layer(hazards: gpd.GeoDataFrame, opts: MapOptions, show: bool) -> folium.FeatureGroup:
    labels = [
        opts.t("field.id"),
        opts.t("field.type"),
        opts.t("field.contamination"),
        opts.t("field.status"),
        opts.t("field.date"),
    ]
    values, tooltips, kinds = [], [], []
    for r in hazards.to_dict("records"):
        kind = "CHA" if _text(r.get("hazard_type")) == "CHA" else "SHA"
        shown_kind = _text(r.get("hazard_type")) or "SHA"
        values.append(
            [
                _text(r.get("hazard_id")),
                opts.t(shown_kind),
                _text(r.get("contamination")),
                _text(r.get("status")),
                _text(r.get("date")),
            ]
        )
        tooltips.append(f"{opts.t(shown_kind)} {_text(r.get('hazard_id'))}")
        kinds.append(kind)
    styles = {
        "CHA": _style(COLOURS["CHA"], weight=2, fillOpacity=0.45),
        "SHA": _style(COLOURS["SHA"], weight=2, dashArray="6 4", fillOpacity=0.25),
    }
    styles[""] = styles["SHA"]
    return feature_layer(
        _slim(hazards, opts),
        name=opts.t("layer.hazards"),
        tooltips=tooltips,
        styles=styles,
        keys=kinds,
        labels=labels,
        values=values,
        show=show,
        precision=opts.precision,
    )


def _cleared_layer(cleared: gpd.GeoDataFrame, opts: MapOptions, show: bool) -> folium.FeatureGroup:
    labels = [
        opts.t("field.id"),
        opts.t("field.status"),
        opts.t("field.method"),
        opts.t("field.operator"),
        opts.t("field.date"),
        opts.t("field.area"),
    ]
    values, tooltips, statuses = [], [], []
    for r in cleared.to_dict("records"):
        status = _text(r.get("status")) or "cleared"
        values.append(
            [
                _text(r.get("survey_id")),
                opts.t(status),
                _text(r.get("method")),
                _text(r.get("operator")),
                _text(r.get("date")),
                _area_text(r.get("area_m2"), opts),
            ]
        )
        tooltips.append(f"{opts.t(status)} {_text(r.get('survey_id'))}")
        statuses.append(status if status in COLOURS else "cleared")
    released = ("cleared", "reduced", "cancelled")
    styles = {s: _style(COLOURS[s], weight=1, fillOpacity=0.55) for s in released}
    styles[""] = styles["cleared"]
    return feature_layer(
        _slim(cleared, opts),
        name=opts.t("layer.cleared"),
        tooltips=tooltips,
        styles=styles,
        keys=statuses,
        labels=labels,
        values=values,
        show=show,
        precision=opts.precision,
    )


def _farmland_layer(
    farmland: gpd.GeoDataFrame, opts: MapOptions, show: bool
) -> folium.FeatureGroup:
    labels = [opts.t("field.id"), opts.t("field.land_use"), opts.t("field.type")]
    values, tooltips = [], []
    for r in farmland.to_dict("records"):
        values.append([_text(r.get("parcel_id")), _text(r.get("land_use")), _text(r.get("crop"))])
        tooltips.append(f"{_text(r.get('parcel_id'))} {_text(r.get('land_use'))}")
    return feature_layer(
        _slim(farmland, opts),
        name=opts.t("layer.farmland"),
        tooltips=tooltips,
        styles={"": _style(COLOURS["farmland"], weight=0.5, fillOpacity=0.2)},
        labels=labels,
        values=values,
        show=show,
        precision=opts.precision,
    )


def _settlements_layer(
    settlements: gpd.GeoDataFrame, opts: MapOptions, show: bool
) -> folium.FeatureGroup:
    labels = [
        opts.t("field.name"),
        opts.t("field.type"),
        opts.t("field.population"),
        opts.t("field.id"),
    ]
    values, tooltips = [], []
    for r in settlements.to_dict("records"):
        people = r.get("population")
        people = (
            ""
            if _is_missing(people)
            else format_number(float(people), decimal_comma=opts.decimal_comma)
        )
        name = _text(r.get("name")) or _text(r.get("settlement_id"))
        values.append(
            [name, _text(r.get("settlement_type")), people, _text(r.get("settlement_id"))]
        )
        tooltips.append(f"{name} {people}".strip())
    return feature_layer(
        _slim(settlements, opts),
        name=opts.t("layer.settlements"),
        tooltips=tooltips,
        styles={"": _style(COLOURS["settlement"], weight=1.5, fillOpacity=0.25)},
        labels=labels,
        values=values,
        show=show,
        radius=4,
        precision=opts.precision,
    )


def _strikes_layer(strikes: gpd.GeoDataFrame, opts: MapOptions, show: bool) -> folium.FeatureGroup:
    labels = [
        opts.t("field.id"),
        opts.t("field.munition"),
        opts.t("field.status"),
        opts.t("field.date"),
    ]
    values, tooltips = [], []
    for r in strikes.to_dict("records"):
        values.append(
            [
                _text(r.get("strike_id")),
                _text(r.get("munition_type")),
                _text(r.get("status")),
                _text(r.get("date")),
            ]
        )
        tooltips.append(f"{_text(r.get('strike_id'))} {_text(r.get('munition_type'))}")
    return feature_layer(
        _slim(strikes, opts),
        name=opts.t("layer.strikes"),
        tooltips=tooltips,
        styles={"": _style(COLOURS["strike"], weight=1.5, fillOpacity=0.35)},
        labels=labels,
        values=values,
        show=show,
        sticky=False,
        highlight=False,
        precision=opts.precision,
    )


def _casualty_callback(labels: Sequence[str]) -> str:
    # row: [lat, lon, colour, tooltip, *popup values]; text only, built on demand.
    return (
        "function (row) {\n"
        "    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),\n"
        "        {radius: 7, color: row[2], fillColor: row[2], fillOpacity: 0.85, weight: 1});\n"
        f"    var labels = {_json(list(labels))};\n"
        "    marker.bindPopup(function () {\n"
        "        return window.minemap.table(labels, row.slice(4));\n"
        "    });\n"
        "    marker.bindTooltip(function () { return window.minemap.text('span', row[3]); });\n"
        "    return marker;\n"
        "};"
    )


def _people(frame: gpd.GeoDataFrame) -> pd.Series:
    killed = pd.to_numeric(frame.get("killed"), errors="coerce")
    injured = pd.to_numeric(frame.get("injured"), errors="coerce")
    return (killed.fillna(0) + injured.fillna(0)).rename("people")


def _casualty_layers(
    casualties: gpd.GeoDataFrame, opts: MapOptions, show: bool
) -> list[folium.FeatureGroup]:
    points = casualties[casualties.geometry.notna() & ~casualties.geometry.is_empty]
    reference = opts.reference_date or date.today()
    colours = recency_colour(points["date"], reference_date=reference)
    people = _people(points)
    labels = [
        opts.t("field.id"),
        opts.t("field.date"),
        opts.t("field.killed_injured"),
        opts.t("field.munition"),
    ]
    factor = 10**opts.precision
    lats = (np.round(shapely.get_y(points.geometry.array) * factor) / factor).tolist()
    lons = (np.round(shapely.get_x(points.geometry.array) * factor) / factor).tolist()

    def column(name: str) -> list[str]:
        if name not in points.columns:
            return [""] * len(points)
        return [_text(v) for v in points[name].tolist()]

    ids, dates, munitions = column("incident_id"), column("date"), column("munition_type")
    killed_injured = [
        f"{k} / {i}" for k, i in zip(column("killed"), column("injured"), strict=True)
    ]
    rows = [
        [lat, lon, colour, f"{d} · {ki}", i, d, ki, mu]
        for lat, lon, colour, i, d, ki, mu in zip(
            lats, lons, colours.tolist(), ids, dates, killed_injured, munitions, strict=True
        )
    ]
    age = (pd.Timestamp(reference) - pd.to_datetime(points["date"], errors="coerce")).dt.days
    decay = np.where(age.isna(), 0.1, 0.5 ** (age.fillna(0).clip(lower=0) / 365.0))
    weight = np.maximum(people.to_numpy(dtype=float), 1.0) * decay
    heat = [[lat, lon, float(w)] for lat, lon, w in zip(lats, lons, weight, strict=True)]
    clusters = folium.FeatureGroup(name=escape_text(opts.t("layer.casualties")), show=show)
    heat_group = folium.FeatureGroup(name=escape_text(opts.t("layer.casualties_heat")), show=False)
    if rows:
        plugins.FastMarkerCluster(rows, callback=_casualty_callback(labels)).add_to(clusters)
        plugins.HeatMap(heat, radius=18, blur=14, min_opacity=0.3).add_to(heat_group)
    return [clusters, heat_group]


def _admin_layer(admin: gpd.GeoDataFrame, opts: MapOptions) -> folium.FeatureGroup:
    column = "name_uk" if opts.language == "uk" else "name_en"
    return feature_layer(
        admin.geometry,
        name=opts.t("layer.admin"),
        tooltips=[_text(r.get(column)) for r in admin.to_dict("records")],
        styles={"": {"color": COLOURS["admin"], "weight": 1, "fill": True, "fillOpacity": 0.0}},
        sticky=False,
        highlight=False,
        precision=min(opts.precision, 4),  # outlines simplified far beyond 10 m
    )


def _summary_layer(
    summary: gpd.GeoDataFrame, opts: MapOptions, label_key: str
) -> folium.FeatureGroup:
    top = float(summary["weight_sum"].max()) if len(summary) else 1.0
    tooltips = [
        f"{opts.t(label_key)}: "
        f"{format_number(w, decimals=0, decimal_comma=opts.decimal_comma)} "
        f"({opts.t('field.count')}: {int(c)})"
        for w, c in zip(summary["weight_sum"], summary["count"], strict=True)
    ]
    opacity = [round(0.15 + 0.7 * (w / top if top else 0), 3) for w in summary["weight_sum"]]
    return feature_layer(
        summary.geometry,
        name=f"{opts.t('layer.h3')}: {opts.t(label_key)}",
        tooltips=tooltips,
        styles={"": _style(COLOURS["h3"], weight=0.5)},
        opacity=opacity,
        tooltip_popup=True,
        precision=min(opts.precision, 4),  # ≈ 10 m: ample for cells of 36 km² and more
    )


# --------------------------------------------------------------------------- legend


class _Legend(MacroElement):
    """A Leaflet control holding a pre-escaped HTML legend (no extra assets needed)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "minemap-legend");
                div.innerHTML = {{ this.body | tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "MinemapLegend"
        self.body = body


_LEGEND_CSS = """
<style>
.minemap-legend {background: rgba(255,255,255,0.92); padding: 6px 10px; font: 12px/1.4 sans-serif;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 230px;}
.minemap-legend h4 {margin: 4px 0 2px; font-size: 12px;}
.minemap-legend i {display: inline-block; width: 14px; height: 10px; margin-right: 6px;
  vertical-align: middle; border: 1px solid rgba(0,0,0,.25);}
table.minemap-popup th {text-align: left; padding-right: 8px; font-weight: 600;}
table.minemap-popup td {text-align: left;}
</style>
"""


def _legend_html(opts: MapOptions, sections: Sequence[str], breaks: Sequence[float] | None) -> str:
    def item(colour: str, label: str, dashed: bool = False) -> str:
        border = "border-style: dashed;" if dashed else ""
        return f'<div><i style="background:{colour};{border}"></i>{escape_text(label)}</div>'

    parts: list[str] = []
    if "tasks" in sections and breaks is not None:
        parts.append(f"<h4>{escape_text(opts.t('legend.priority'))}</h4>")
        for i, colour in enumerate(reversed(PRIORITY_CLASSES)):
            hi = breaks[len(breaks) - 1 - i]
            lo = breaks[len(breaks) - 2 - i]
            fmt = lambda v: format_number(v, decimals=2, decimal_comma=opts.decimal_comma)  # noqa: E731
            parts.append(item(colour, f"{fmt(lo)} – {fmt(hi)}"))
    if "hazards" in sections:
        parts.append(f"<h4>{escape_text(opts.t('legend.hazards'))}</h4>")
        parts.append(item(COLOURS["CHA"], opts.t("CHA")))
        parts.append(item(COLOURS["SHA"], opts.t("SHA"), dashed=True))
    if "cleared" in sections:
        parts.append(f"<h4>{escape_text(opts.t('legend.released'))}</h4>")
        for status in ("cleared", "reduced", "cancelled"):
            parts.append(item(COLOURS[status], opts.t(status)))
    if "casualties" in sections:
        parts.append(f"<h4>{escape_text(opts.t('legend.casualties'))}</h4>")
        for i, (_, colour) in enumerate(RECENCY_CLASSES_DAYS):
            parts.append(item(colour, opts.t(f"recency.{i}")))
    others = [k for k in ("strikes", "farmland", "settlements") if k in sections]
    if others:
        parts.append(f"<h4>{escape_text(opts.t('legend.other'))}</h4>")
        if "strikes" in others:
            parts.append(item(COLOURS["strike"], opts.t("strike")))
        if "farmland" in others:
            parts.append(item(COLOURS["farmland"], opts.t("farmland")))
        if "settlements" in others:
            parts.append(item(COLOURS["settlement"], opts.t("settlement")))
    return "".join(parts)


# --------------------------------------------------------------------------- map

SNAPSHOT_ATTR = "minemap_snapshot"
"""``frame.attrs`` key by which a caller marks a frame as an unchanging snapshot.

A layer frame (or the tasks) whose ``attrs`` carry a hashable value under this key — the
web app puts (store, data version, role, layer, filters) there — has its drawn layer
(H3 summary, serialised GeoJSON) kept and reused by :func:`build_map` for the same
snapshot, columns, rows and options (up to 5,000 rows every value is compared; above, the
row labels only). Frames without it are drawn afresh. A caller that changes values of a
large marked frame in place must drop the mark (``frame.attrs.pop(SNAPSHOT_ATTR)``)."""

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_SIZE = 48
_MEMO_LOCK = threading.Lock()


_FINGERPRINT_ROWS = 5_000
"""Up to this many rows, every value of a snapshot (not only its row labels) is hashed."""


def _snapshot_key(frame: gpd.GeoDataFrame | None) -> tuple[Any, ...] | None:
    if frame is None:
        return None
    snapshot = frame.attrs.get(SNAPSHOT_ATTR)
    if snapshot is None:
        return None
    # pandas carries attrs over to derived frames: rows dropped (row labels), columns
    # added or removed, and — for frames drawn feature by feature — any value changed
    # after the snapshot was taken give another key.
    try:
        if len(frame) <= _FINGERPRINT_ROWS:
            values = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            values["_wkb"] = shapely.to_wkb(np.asarray(frame.geometry.array, dtype=object))
            hashed = pd.util.hash_pandas_object(values, index=True).to_numpy()
        else:
            hashed = pd.util.hash_pandas_object(frame.index, index=False).to_numpy()
    except TypeError:  # unhashable values: draw afresh
        return None
    return (
        snapshot,
        tuple(map(str, frame.columns)),
        len(frame),
        int(hashed.sum()),
        int(np.bitwise_xor.reduce(hashed, initial=0)),
    )


def _memo(key: tuple[Any, ...] | None, build: Any) -> Any:
    if key is None:
        return build()
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    value = build()
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _payload(group: folium.FeatureGroup) -> tuple[Any, ...]:
    layers = tuple(
        (child.spec, child.data)
        for child in group._children.values()
        if isinstance(child, _DataLayer)
    )
    return (group.layer_name, group.show, layers)


def _group(payload: tuple[Any, ...]) -> folium.FeatureGroup:
    name, show, layers = payload
    group = folium.FeatureGroup(name=name, show=show)
    for spec, data in layers:
        _DataLayer(spec, data).add_to(group)
    return group


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tasks: gpd.GeoDataFrame | None = None,
    admin: gpd.GeoDataFrame | None = None,
    visible: Iterable[str] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    options: MapOptions | None = None,
) -> folium.Map:
    """Build the clearance map: one toggleable layer per data layer, legend, offline assets.

    Parameters
    ----------
    layers : Mapping[str, geopandas.GeoDataFrame]
        Canonical layer frames by name (``hazards``, ``cleared``, ``farmland``,
        ``settlements``, ``strikes``, ``casualties``), EPSG:4326, as ``store.read_layer``
        returns them.
        Missing or empty layers are left out.
    tasks : geopandas.GeoDataFrame, optional
        Ranked tasks from ``minemap.risk.pipeline.prioritise(...).tasks``; drawn as a
        choropleth by ``priority_score`` with the score breakdown in the popup.
    admin : geopandas.GeoDataFrame, optional
        Boundaries drawn as outlines for orientation (e.g. :func:`admin_boundaries`).
    visible : iterable of str, optional
        Layer names shown initially (others are listed in the layer switcher, unticked).
        ``None`` shows all.
    bounds : (minlon, minlat, maxlon, maxlat), optional
        Initial view; defaults to the data's extent (or the admin boundaries').
    options : MapOptions, optional
        Assets, language, simplification, H3 summary and size.

    Returns
    -------
    folium.Map
        With no tile layer (works offline) and every asset pointing at
        ``options.asset_base``.

    Notes
    -----
    With ``options.summary_resolution`` set, every layer is summarised on H3 cells
    instead of sent feature by feature: the national overview, whose size depends on the
    area covered, not on the number of features. Otherwise any layer over
    ``options.max_features_per_layer`` is summarised (at ``overflow_resolution``), so no
    view grows without bound.
    """
    opts = options or MapOptions()
    shown = set(visible) if visible is not None else None

    def is_shown(name: str) -> bool:
        return shown is None or name in shown

    m = folium.Map(
        location=[48.5, 31.2],
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        height=opts.height_px,
    )
    # folium passes max/min zoom only to tile layers; without tiles the map must carry them
    # itself (MarkerCluster refuses a map without maxZoom).
    m.options.update(maxZoom=19, minZoom=4)
    m.get_root().header.add_child(Element(_LEGEND_CSS))
    _Helpers().add_to(m)
    sections: list[str] = []
    extents: list[tuple[float, float, float, float]] = []

    if admin is not None and not admin.empty:
        snapshot = _snapshot_key(admin)
        key = None if snapshot is None else (snapshot, "admin", repr(opts))
        _group(_memo(key, lambda: _payload(_admin_layer(admin, opts)))).add_to(m)

    def present(name: str) -> gpd.GeoDataFrame | None:
        frame = layers.get(name)
        if frame is None or frame.empty:
            return None
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        return None if frame.empty else frame

    def summarised(name: str, frame: gpd.GeoDataFrame) -> int | None:
        """The H3 resolution to summarise ``frame`` at, or None to draw its features."""
        if opts.summary_resolution is not None:
            return opts.summary_resolution
        if name == "casualties" and not opts.exact_casualties:
            return opts.summary_resolution or opts.overflow_resolution
        if opts.max_features_per_layer is not None and len(frame) > opts.max_features_per_layer:
            return opts.summary_resolution or opts.overflow_resolution
        return None

    def add_summary(
        name: str, frame: gpd.GeoDataFrame, resolution: int, key: tuple[Any, ...] | None
    ) -> None:
        def build() -> tuple[Any, ...]:
            weight = None
            label = f"layer.{name}"
            if name == "casualties":
                weight = _people(frame)
                label = "field.casualties"
            summary = h3_summary(frame, resolution=resolution, weight=weight)
            # The cells' extent, never the exact points'.
            return _payload(_summary_layer(summary, opts, label)), tuple(summary.total_bounds)

        payload, extent = _memo(key, build)
        extents.append(extent)
        _group(payload).add_to(m)

    drawers = {
        "farmland": _farmland_layer,
        "cleared": _cleared_layer,
        "hazards": _hazards_layer,
        "tasks": _tasks_layer,
        "strikes": _strikes_layer,
        "settlements": _settlements_layer,
    }
    breaks = None
    order = ("farmland", "settlements", "cleared", "hazards", "tasks", "strikes", "casualties")
    for name in order:
        if name == "tasks":
            frame = None if tasks is None or tasks.empty else tasks
        else:
            frame = present(name)
        if frame is None:
            continue
        resolution = summarised(name, frame)
        snapshot = _snapshot_key(tasks if name == "tasks" else layers.get(name))
        key = None if snapshot is None else (snapshot, name, resolution, is_shown(name), repr(opts))
        if resolution is not None:
            add_summary(name, frame, resolution, key)
            continue
        extents.append(tuple(frame.total_bounds))
        if name == "casualties":
            for group in _casualty_layers(frame, opts, is_shown(name)):
                group.add_to(m)
        else:
            if name == "tasks":
                breaks = priority_class_breaks(frame["priority_score"])
            drawer = drawers[name]
            payload = _memo(
                key,
                lambda drawer=drawer, frame=frame, name=name: _payload(
                    drawer(frame, opts, is_shown(name))
                ),
            )
            _group(payload).add_to(m)
        sections.append(name)

    legend = _legend_html(opts, sections, breaks)
    if legend:
        _Legend(legend).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)

    if bounds is None and extents:
        arr = np.array(extents)
        bounds = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    if bounds is None and admin is not None and not admin.empty:
        bounds = tuple(admin.total_bounds)
    if bounds is not None:
        minlon, minlat, maxlon, maxlat = (float(b) for b in bounds)
        m.fit_bounds([[minlat, minlon], [maxlat, maxlon]])
    return use_offline_assets(m, asset_base=opts.asset_base)
