"""The hazard surface kept with the store, and brought up to date incrementally.

A national surface is rebuilt from scratch only when that is the only safe thing to do.
The surface last computed is stored with the store (``Store.put_derived``, key
:data:`SURFACE_KEY`) together with exactly what it was computed from:

- ``params_sha256``: the parameters and code it depends on — minemap version, the source
  of the geometry modules, shapely/GEOS and pyproj/PROJ versions, the munition catalogue
  file, the casualty buffer radii;
- the **exact set of store batches** of the four surface layers (hazards, strikes,
  casualties, cleared) and a checksum of each batch's rows (geometry WKB and every
  non-personal schema field, so a role that cannot read personal fields sees the same
  checksums);
- the equal-area CRS the areas were measured in (it depends on the data's extent);
- the component of every evidence record (store batch id and position in the batch), and
  a lon/lat box (generously enlarged) around every released polygon, so records of a batch
  undone later can still be found although the store deleted their rows.

On the next run, if parameters, code, CRS and every shared batch's checksum match, the
batches added since are new records and the batches gone are removed records. Only the
components they touch are recomputed: seeds are the added evidence, the current members
of every cached component that lost a record, and the evidence under released land added
or undone; seeds grow through the STRtree to whole connected components, and a cached
component is replaced when any of its **members** is affected (decided by membership, not
by geometric tests on the cached rows, so a component cut to a sliver by released land
is replaced too). The result equals a full :func:`~minemap.risk.surface.hazard_surface`
(tested).

A run **as of a past date** (records dated after it set aside, ``keep``) is given the
whole batches and which rows are used: relative to the kept surface of all records, the
records set aside are removed records (released land set aside is "undone" released
land), so the same membership-based update recomputes only the components they touch.
That surface is returned, never written: the store keeps the all-records surface (batches
added or undone since the kept surface are handled in the same update; the kept surface
itself is brought up to date by the next all-records run).

Anything else — different parameters or code, rows without a batch id, layers that are
not whole store batches, a batch whose rows changed, a damaged cache row — means a full
recomputation: a stale hazard map would be a safety failure. A damaged or unreadable
cache row is logged as a warning and ignored, never raised. This module uses the geometry
engine's own steps (``_evidence``, ``_components``, and the growth and component naming it
shares with :func:`~minemap.risk.surface.update_surface`: ``_grow``, ``_member_component_ids``)
so the evidence and components are the same by construction; their source is part of
``params_sha256``. The exact metric geometries are kept too and handed over with the
surface, as :func:`~minemap.risk.surface.hazard_surface` does, so ``make_tasks`` gives
the same tasks as after a full run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import operator
import threading
import weakref
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from minemap.layers import get_schema
from minemap.risk import _spatial
from minemap.risk.surface import (  # the engine's own steps: same evidence, same components
    _components,
    _empty_surface,
    _evidence,
    _grow,
    _member_component_ids,
    _valid,
)
from minemap.settings import STORAGE_CRS

__all__ = [
    "SURFACE_KEY",
    "SURFACE_LAYERS",
    "DerivedCache",
    "SurfaceRun",
    "batch_digests",
    "cached_hazard_surface",
    "surface_params_sha256",
]

log = logging.getLogger("minemap.risk")
log.addHandler(logging.NullHandler())  # shown where logging is set up; the CLI prints its own

SURFACE_KEY = "hazard_surface"
"""Key of the cached surface in the store's derived table."""

SURFACE_LAYERS = ("hazards", "strikes", "casualties", "cleared")
"""The store layers the hazard surface depends on (farmland does not change it)."""

_FORMAT = 3  # payload layout and checksum format; bump when either changes
_MARGIN_DEG = 0.002  # enlarge every record box by this (~220 m north-south)
_SEGMENT_DEG = 0.005  # densify boxes before projecting so their edges stay outside
# modules whose code decides the surface: a change in any of them invalidates the cache
_CODE_MODULES = (
    "minemap.risk.surface",
    "minemap.risk.footprints",
    "minemap.risk.catalogue",
    "minemap.risk._spatial",
    "minemap.risk.surface_cache",
    "minemap.geometry",
    "minemap.settings",
)


class DerivedCache(Protocol):
    """What the cache needs of a store (:class:`minemap.store.Store` has it)."""

    def get_derived(self, key: str) -> Any: ...  # pragma: no cover - protocol

    def put_derived(
        self, key: str, *, params_sha256: str, inputs_json: str, payload: bytes
    ) -> Any: ...  # pragma: no cover - protocol


@dataclass
class SurfaceRun:
    """A hazard surface and how it was obtained.

    Attributes
    ----------
    surface : GeoDataFrame
        What :func:`~minemap.risk.surface.hazard_surface` returns on the layers.
    mode : {"full", "incremental"}
        ``"incremental"``: the cached surface was updated (or reused as it was).
    reason : str
        Why (e.g. ``"2 batch(es) added, 1 undone"`` or why the cache could not be used).
    n_components : int
    n_changed : int
        Components of ``surface`` that were not in the cached surface (new, or whose
        evidence changed); for a full run, all of them.
    n_removed : int
        Components of the cached surface that are gone.
    added_batches, removed_batches : list of str
    saved : bool
        Whether this surface was stored for the next run.
    warnings : list of str
        Problems met with the cache (damaged row, failed write); the run went on.
    base_sha256 : str or None
        Payload checksum of the kept surface this one was derived from (None: full run).
    kept_sha256 : str or None
        Payload checksum of the surface the store keeps after this run.
    fresh_ids : frozenset of str or None
        Components of ``surface`` recomputed in this run; every other row is the kept
        surface's row, unchanged (None: all were computed).
    record_components : dict or None
        Per evidence layer (``hazards``, ``strikes``, ``casualties``), the component id of
        each row used (aligned to the rows used; None where a row is in no component).
    record_keys : dict or None
        Per evidence layer, each used row's identity across runs (``"<batch>:<pos>"``).
    batch_digests : dict or None
        Checksum of every store batch of the surface layers (:func:`batch_digests`).
    wkb, metric_wkb : ndarray or None
        The surface's lon/lat and exact metric geometries as WKB, when known.
    """

    surface: gpd.GeoDataFrame
    mode: Literal["full", "incremental"]
    reason: str
    n_components: int = 0
    n_changed: int = 0
    n_removed: int = 0
    added_batches: list[str] = field(default_factory=list)
    removed_batches: list[str] = field(default_factory=list)
    saved: bool = False
    warnings: list[str] = field(default_factory=list)
    base_sha256: str | None = None
    kept_sha256: str | None = None
    fresh_ids: frozenset[str] | None = None
    record_components: dict[str, np.ndarray] | None = None
    record_keys: dict[str, pd.Index] | None = None
    batch_digests: dict[str, str] | None = None
    wkb: np.ndarray | None = None
    metric_wkb: np.ndarray | None = None

    def to_record(self) -> dict[str, Any]:
        """JSON-able summary for the run record."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "n_components": self.n_components,
            "n_components_changed": self.n_changed,
            "n_components_removed": self.n_removed,
            "added_batches": sorted(self.added_batches),
            "removed_batches": sorted(self.removed_batches),
            "saved": self.saved,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """One line for people, e.g. ``surface: incremental, 3 of 96,075 components …``."""
        if self.mode == "incremental":
            return (
                f"surface: incremental ({self.reason}), {self.n_changed:,} of "
                f"{self.n_components:,} components recomputed, {self.n_removed:,} gone"
            )
        return f"surface: full, {self.n_components:,} components ({self.reason})"


class _NoCacheError(Exception):
    """The cache cannot be used for this run (the message says why)."""


# -- parameters, checksums, extents --------------------------------------------------------


def _module_source(name: str) -> bytes:
    import importlib

    module = importlib.import_module(name)
    path = getattr(module, "__file__", None)
    return Path(path).read_bytes() if path else name.encode()


def surface_params_sha256(*, casualty_buffer_m: float | Mapping[str, float] | None = None) -> str:
    """SHA-256 of everything besides the layers that the hazard surface depends on.

    The minemap version, the source code of the geometry modules, the shapely/GEOS and
    pyproj/PROJ versions, the packaged munition catalogue and the casualty buffer radii.
    """
    from minemap import __version__
    from minemap.risk.surface import CASUALTY_BUFFER_M

    h = hashlib.sha256()
    catalogue = resources.files("minemap.risk").joinpath("data", "munitions.toml").read_bytes()
    described = {
        "format": _FORMAT,
        "minemap": __version__,
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
        "casualty_buffer_m_default": CASUALTY_BUFFER_M,
        "casualty_buffer_m": (
            dict(casualty_buffer_m) if isinstance(casualty_buffer_m, Mapping) else casualty_buffer_m
        ),
        "catalogue_sha256": hashlib.sha256(catalogue).hexdigest(),
        "margin_deg": _MARGIN_DEG,
    }
    h.update(json.dumps(described, sort_keys=True, default=str).encode())
    for name in _CODE_MODULES:
        h.update(name.encode() + b"\0" + hashlib.sha256(_module_source(name)).digest())
    return h.hexdigest()


def _groups(batch: np.ndarray) -> dict[str, np.ndarray]:
    codes, uniques = pd.factorize(batch, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(b): order[bounds[i] : bounds[i + 1]] for i, b in enumerate(uniques)}


def _batch_column(frame: pd.DataFrame, layer: str) -> np.ndarray:
    if "batch_id" not in frame.columns:
        raise _NoCacheError(f"the {layer} records have no batch ids (not read from a store)")
    batch = frame["batch_id"].astype(object).to_numpy()
    if pd.isna(batch).any():
        raise _NoCacheError(f"some {layer} records have no batch id")
    return batch.astype(str)


def batch_digests(frame: gpd.GeoDataFrame, layer: str) -> dict[str, str]:
    """SHA-256 per store batch of its rows as the surface sees them.

    Covers, in row order, the geometry (WKB) and every schema field present except the
    personal ones (so every role that may build tasks gets the same checksums); extra
    columns are not used by the surface and not covered. The batches are listed in the
    order of their first row.

    The checksums of a frame are remembered while it lives (the app hands the engine the
    same read-only frames on every run): a later call on the same frame object returns
    them again only if every column still holds exactly the values it had (numbers
    compared bit for bit, strings by their immutable Arrow arrays, geometries and other
    objects by identity); any in-place edit, or another frame, computes them afresh.

    Raises
    ------
    ValueError
        A record has no ``batch_id`` (the layer was not read from a store).
    """
    key = (layer, id(frame))
    with _DIGESTS_LOCK:
        entry = _DIGESTS.get(key)
    if entry is not None:
        ref, snapshot, digests = entry
        if ref() is frame and _unchanged(frame, snapshot):
            return dict(digests)
    digests = _batch_digests(frame, layer)
    snapshot = _snapshot(frame)
    if snapshot is not None:
        try:
            ref = weakref.ref(frame, lambda _ref, key=key: _forget(key, _ref))
        except TypeError:  # not weakly referenceable: not remembered
            return digests
        with _DIGESTS_LOCK:
            _DIGESTS[key] = (ref, snapshot, dict(digests))
            _DIGESTS.move_to_end(key)
            while len(_DIGESTS) > _DIGESTS_MAX:
                _DIGESTS.popitem(last=False)
    return digests


_DIGESTS: OrderedDict[tuple[str, int], tuple[Any, list[tuple], dict[str, str]]] = OrderedDict()
_DIGESTS_LOCK = threading.Lock()
_DIGESTS_MAX = 24  # frames remembered (layers × a few store versions)


def _forget(key: tuple[str, int], ref: Any) -> None:
    with _DIGESTS_LOCK:
        entry = _DIGESTS.get(key)
        if entry is not None and entry[0] is ref:
            del _DIGESTS[key]


def _snapshot(frame: pd.DataFrame) -> list[tuple] | None:
    """What :func:`_unchanged` compares a frame with later: per column its name, dtype
    and a copy of its values that later edits of the frame cannot reach (None: a column
    that cannot be compared exactly; the frame is then not remembered)."""
    out: list[tuple] = [(None, _active_geometry(frame), "geometry column", None)]
    for name in frame.columns:
        arr = frame[name].array
        if isinstance(arr, gpd.array.GeometryArray):
            out.append((name, str(arr.dtype), "objects", np.array(arr, dtype=object)))
        elif isinstance(arr, pd.arrays.ArrowExtensionArray):
            values = arr.__arrow_array__()  # immutable: a reference is a snapshot
            if pa.types.is_floating(values.type):
                return None  # Arrow's equality would not tell 0.0 from -0.0
            out.append((name, str(arr.dtype), "arrow", values))
        else:
            values = np.asarray(arr)
            if isinstance(arr, pd.api.extensions.ExtensionArray) and not isinstance(
                arr, pd.arrays.NumpyExtensionArray | pd.arrays.DatetimeArray
            ):
                # masked and other extension arrays: their own copy and equality, except
                # floats (equality would not tell 0.0 from -0.0)
                if arr.dtype.kind == "f":
                    return None
                out.append((name, str(arr.dtype), "extension", arr.copy()))
            elif values.dtype == object:
                out.append((name, str(arr.dtype), "objects", values.copy()))
            else:
                out.append((name, str(arr.dtype), "bits", values.copy()))
    return out


def _active_geometry(frame: pd.DataFrame) -> Any:
    """The name of the frame's active geometry column (None: none)."""
    return getattr(frame, "active_geometry_name", None)


def _unchanged(frame: pd.DataFrame, snapshot: list[tuple]) -> bool:
    """Whether ``frame`` holds exactly the values it held at :func:`_snapshot`."""
    if snapshot[0][1] != _active_geometry(frame):
        return False
    if [s[0] for s in snapshot[1:]] != list(frame.columns):
        return False
    for name, dtype, kind, values in snapshot[1:]:
        arr = frame[name].array
        if str(arr.dtype) != dtype:
            return False
        if kind == "arrow":
            if not isinstance(arr, pd.arrays.ArrowExtensionArray):
                return False
            if not arr.__arrow_array__().equals(values):
                return False
        elif kind == "extension":
            if type(arr) is not type(values) or not arr.equals(values):
                return False
        else:
            current = np.asarray(arr)
            if current.shape != values.shape or current.dtype != values.dtype:
                return False
            if kind == "objects":
                if not all(map(operator.is_, current, values)):
                    return False
            elif current.tobytes() != values.tobytes():
                return False
    return True


def _batch_digests(frame: gpd.GeoDataFrame, layer: str) -> dict[str, str]:
    try:
        batch = _batch_column(frame, layer)
    except _NoCacheError as exc:
        raise ValueError(str(exc)) from None
    schema = get_schema(layer)
    personal = set(schema.personal_fields)
    cols = [f.name for f in schema.fields if f.name in frame.columns and f.name not in personal]
    if cols:
        rows = pd.util.hash_pandas_object(pd.DataFrame(frame[cols]), index=False)
        row_hash = rows.to_numpy(dtype="uint64")
    else:
        row_hash = np.zeros(len(frame), dtype="uint64")
    wkb = shapely.to_wkb(np.asarray(frame.geometry.array, dtype=object))
    head = json.dumps([layer, cols, [str(frame[c].dtype) for c in cols]]).encode()
    out = {}
    missing = pd.isna(wkb)
    any_missing = bool(missing.any())
    if any_missing:
        lengths = np.array([-1 if m else len(b) for b, m in zip(wkb, missing, strict=True)])
    else:
        lengths = np.fromiter(map(len, wkb), dtype="int64", count=len(wkb))
    lengths = lengths.astype("<i8")
    for batch_id, idx in _groups(batch).items():
        h = hashlib.sha256(head)
        h.update(len(idx).to_bytes(8, "little"))
        h.update(row_hash[idx].tobytes())
        h.update(lengths[idx].tobytes())  # each geometry's WKB length (-1: none), then all
        blobs = wkb[idx].tolist()
        if any_missing:
            blobs = [b for b, m in zip(blobs, missing[idx], strict=True) if not m]
        h.update(b"".join(blobs))
        out[batch_id] = h.hexdigest()
    return out


def _released_boxes(frame: gpd.GeoDataFrame) -> np.ndarray:
    """(n, 4) lon/lat boxes around released polygons, enlarged by 2 % and a fixed margin."""
    b = np.array(shapely.bounds(np.asarray(frame.geometry.array, dtype=object)), dtype="float64")
    width = (b[:, 2] - b[:, 0]) * 0.02 + _MARGIN_DEG
    height = (b[:, 3] - b[:, 1]) * 0.02 + _MARGIN_DEG
    b[:, 0] -= width
    b[:, 2] += width
    b[:, 1] -= height
    b[:, 3] += height
    return b


# -- the payload ---------------------------------------------------------------------------


@dataclass
class _Cached:
    surface: gpd.GeoDataFrame
    members: pd.DataFrame  # batch_id, pos, component_id: every evidence record's component
    boxes: dict[str, np.ndarray]  # cleared batch id → (n, 4) lon/lat boxes
    wkb: np.ndarray | None = None  # the surface's geometries as WKB, when already known
    # the exact metric geometries (WKB, area CRS) make_tasks is handed with a fresh surface
    metric_wkb: np.ndarray | None = None


def _tables(cached: _Cached) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, list]:
    """(surface table, membership, stacked boxes, box index): what is encoded."""
    index = []
    arrays = []
    start = 0
    for batch_id, arr in sorted(cached.boxes.items()):
        index.append([batch_id, start, start + len(arr)])
        arrays.append(arr)
        start += len(arr)
    stacked = np.vstack(arrays) if arrays else np.empty((0, 4))
    # the surface as plain Parquet with a WKB column: kept rows reuse the WKB they were
    # read with, so an update encodes only the components it recomputed
    wkb = cached.wkb
    if wkb is None:
        wkb = shapely.to_wkb(np.asarray(cached.surface.geometry.array, dtype=object))
    table = pd.DataFrame(cached.surface.drop(columns=cached.surface.geometry.name))
    table["geometry_wkb"] = pd.Series(list(wkb), dtype=object, index=table.index)
    metric_wkb = cached.metric_wkb
    if metric_wkb is None:
        metric_wkb = np.full(len(table), None, dtype=object)
    table["metric_wkb"] = pd.Series(list(metric_wkb), dtype=object, index=table.index)
    return table, cached.members, stacked.astype("<f8"), index


def _zip_parts(parts: dict[str, bytes | pd.DataFrame]) -> bytes:
    """An uncompressed zip of ``parts`` in order: frames as ``NAME.parquet``, bytes as given.

    The payload format of both kept caches (this module's surface, ``task_cache``'s tasks).
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, part in parts.items():
            if isinstance(part, pd.DataFrame):
                buf = io.BytesIO()
                part.to_parquet(buf, index=False)
                zf.writestr(f"{name}.parquet", buf.getvalue())
            else:
                zf.writestr(name, part)
    return out.getvalue()


def _zip(table: pd.DataFrame, members: pd.DataFrame, stacked: np.ndarray, index: list) -> bytes:
    npy = io.BytesIO()
    np.save(npy, stacked, allow_pickle=False)
    return _zip_parts(
        {
            "surface": table,
            "members": members,
            "boxes.npy": npy.getvalue(),
            "boxes.json": json.dumps(index).encode(),
        }
    )


def _encode(cached: _Cached) -> bytes:
    return _zip(*_tables(cached))


def _decode(payload: bytes) -> _Cached:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        table = pd.read_parquet(io.BytesIO(zf.read("surface.parquet")))
        members = pd.read_parquet(io.BytesIO(zf.read("members.parquet")))
        stacked = np.load(io.BytesIO(zf.read("boxes.npy")), allow_pickle=False)
        index = json.loads(zf.read("boxes.json"))
    return _from_tables(table, members, stacked, index)


def _from_tables(
    table: pd.DataFrame,
    members: pd.DataFrame,
    stacked: np.ndarray,
    index: list,
    geoms: np.ndarray | None = None,
) -> _Cached:
    """The kept surface from its tables (``table`` is consumed); ``geoms``: the lon/lat
    geometries when at hand (else decoded from the WKB column)."""
    if stacked.ndim != 2 or stacked.shape[1] != 4:
        raise ValueError("released-land boxes are not an (n, 4) array")
    if list(members.columns) != ["batch_id", "pos", "component_id"]:
        raise ValueError("the component membership table has the wrong columns")
    boxes = {str(b): stacked[int(s) : int(e)] for b, s, e in index}
    wkb = table.pop("geometry_wkb").to_numpy(dtype=object)
    metric_wkb = table.pop("metric_wkb").to_numpy(dtype=object)
    if pd.isna(metric_wkb).any():
        metric_wkb = None
    if geoms is None:
        geoms = shapely.from_wkb(wkb)
    table = table.reset_index(drop=True)
    surface = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS))
    return _Cached(surface, members.reset_index(drop=True), boxes, wkb, metric_wkb)


def _metric_wkb(surface: gpd.GeoDataFrame, crs: pyproj.CRS) -> np.ndarray | None:
    """WKB of the metric geometries handed over with ``surface`` (None without them)."""
    metric = _spatial.recall_metric(surface.geometry.array, crs)
    return None if metric is None else shapely.to_wkb(metric)


def _hand_over(surface: gpd.GeoDataFrame, metric_wkb: np.ndarray | None, crs: pyproj.CRS) -> None:
    """Hand the exact metric geometries over with ``surface``, as
    :func:`~minemap.risk.surface.hazard_surface` does: ``make_tasks`` then works on the
    same numbers as after a full run (reprojecting the lon/lat rows would round them
    differently, and the tasks would not be identical)."""
    if metric_wkb is not None and len(metric_wkb) == len(surface):
        _spatial.remember_metric(surface.geometry.array, shapely.from_wkb(metric_wkb), crs)


# -- evidence with record identities ---------------------------------------------------------


@dataclass
class _Evidence:
    geoms: np.ndarray  # metric
    kinds: np.ndarray
    keys: np.ndarray
    circ: np.ndarray  # (n, 3) centre x, y, radius of drawn circles; NaN for polygons
    batch: np.ndarray  # store batch id of each evidence geometry
    pos: np.ndarray  # its position within the batch (stable: batches are whole or gone)
    crs: pyproj.CRS


def _area_crs(frames: list[gpd.GeoDataFrame | None]) -> pyproj.CRS:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        bounds = np.array([np.nan] * 4)
    else:
        b = np.vstack(boxes)
        bounds = np.array(
            [np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])]
        )
    return _spatial.equal_area_crs_for(bounds)


def _member(values: Any, test: Any) -> np.ndarray:
    """``values[i] in test`` for each i, hash-based on plain Python objects (pandas 3
    infers Arrow strings, whose ``isin`` converts the test values one by one, and numpy's
    ``isin`` sorts object arrays: both cost tenths of seconds for 10^4 ids)."""
    left = pd.Index(np.asarray(values, dtype=object), dtype=object)
    right = pd.Index(np.asarray(list(test), dtype=object), dtype=object)
    return np.asarray(left.isin(right), dtype=bool)


def _positions(batch: np.ndarray) -> np.ndarray:
    return pd.Series(batch).groupby(batch, sort=False).cumcount().to_numpy(dtype="int64")


def _current_evidence(
    hazards: gpd.GeoDataFrame | None,
    strikes: gpd.GeoDataFrame | None,
    footprints: gpd.GeoDataFrame | None,
    casualties: gpd.GeoDataFrame | None,
    crs: pyproj.CRS,
    batch_cols: Mapping[str, np.ndarray],
    casualty_buffer_m: float | Mapping[str, float] | None,
    positions: Mapping[str, np.ndarray] | None = None,
) -> _Evidence:
    """The evidence exactly as :func:`hazard_surface` builds it, with each one's record.

    ``batch_cols`` are the batch ids of the rows given; ``positions`` (per layer, aligned
    to those rows) their positions within their whole batch, when the rows are a subset
    (records set aside by ``as_of``); default: the rows are whole batches.
    """
    geoms, kinds, keys, circ = _evidence(
        hazards, footprints, casualties, crs, casualty_buffer_m, None
    )
    batches: list[np.ndarray] = []
    pos_list: list[np.ndarray] = []
    for layer, source in (("hazards", hazards), ("strikes", footprints),
                          ("casualties", casualties)):  # fmt: skip
        if source is None or not len(source):
            continue
        g = np.asarray(source.geometry.array, dtype=object)
        keep = ~shapely.is_missing(g) & ~shapely.is_empty(g)
        batch = batch_cols[layer]
        batches.append(batch[keep])
        where = positions.get(layer) if positions is not None else None
        pos_list.append((_positions(batch) if where is None else where)[keep])
    batch = np.concatenate(batches) if batches else np.empty(0, dtype=str)
    pos = np.concatenate(pos_list) if pos_list else np.empty(0, dtype="int64")
    if len(batch) != len(geoms):
        raise _NoCacheError("the evidence could not be matched to its records")
    return _Evidence(geoms, kinds, keys, circ, batch, pos, crs)


def _keys(batch: np.ndarray, pos: np.ndarray) -> pd.Index:
    """``"<batch id>:<position>"`` of each record: its identity across runs."""
    return pd.Index(np.asarray(batch).astype(str)) + ":" + pd.Index(np.asarray(pos).astype(str))


def _record_components(
    members: pd.DataFrame, row_keys: Mapping[str, pd.Index]
) -> dict[str, np.ndarray] | None:
    """Per evidence layer, the component id of each row used (None: in no component);
    None if that cannot be told (then the tasks are not reused)."""
    try:
        return _record_components_of(members, row_keys)
    except Exception as exc:  # never fails the plan: the tasks are then all recomputed
        log.warning("the records' components could not be listed (%s)", exc)
        return None


def _record_components_of(
    members: pd.DataFrame, row_keys: Mapping[str, pd.Index]
) -> dict[str, np.ndarray]:
    comp_of = pd.Series(
        members["component_id"].astype(str).to_numpy(dtype=object),
        index=_keys(members["batch_id"].to_numpy(), members["pos"].to_numpy()),
    )
    if comp_of.index.has_duplicates:
        raise ValueError("the membership lists a record twice")
    out = {}
    for layer, keys in row_keys.items():
        comp = comp_of.reindex(keys).to_numpy(dtype=object, copy=True)
        comp[pd.isna(comp)] = None
        out[layer] = comp
    return out


def _membership(ev: _Evidence, subset: np.ndarray, n_threads: int) -> pd.DataFrame:
    """Component id of every evidence record in ``subset`` (indices; a closed set)."""
    comp = _member_component_ids(ev.geoms[subset], ev.keys[subset], ev.circ[subset], n_threads)
    return pd.DataFrame(
        {
            "batch_id": pd.array(ev.batch[subset].astype(object), dtype="str"),
            "pos": ev.pos[subset].astype("int64"),
            "component_id": pd.array(comp.astype(object), dtype="str"),
        }
    )


def _check_membership(surface: gpd.GeoDataFrame, members: pd.DataFrame) -> None:
    """Every surface row is a component of the membership, with its number of members."""
    counts = members["component_id"].value_counts()
    ids = surface["component_id"].astype(str)
    got = counts.reindex(ids.to_numpy()).to_numpy()
    if np.isnan(got.astype("float64")).any() or (got != surface["n_evidence"].to_numpy()).any():
        raise _NoCacheError("the surface's components do not match their members")


def _released_near(
    released: gpd.GeoDataFrame | None, evidence_m: np.ndarray, crs: pyproj.CRS
) -> gpd.GeoDataFrame | None:
    """The released polygons that may intersect ``evidence_m``, in their original order.

    A superset of those the subtraction uses (their lon/lat boxes, densified, projected
    and taken 1 m wider, intersect the evidence), so the result is the same while only a
    few of the country's released polygons are reprojected.
    """
    if released is None or not len(released) or not len(evidence_m):
        return released
    geoms = np.asarray(released.geometry.array, dtype=object)
    ok = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if not len(ok):
        return released
    b = shapely.bounds(geoms[ok])
    boxes = shapely.segmentize(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), _SEGMENT_DEG)
    boxes_m = _spatial.project(boxes, STORAGE_CRS, crs)
    hits = shapely.STRtree(evidence_m).query(boxes_m, predicate="dwithin", distance=1.0)[0]
    return released.iloc[ok[np.unique(hits)]]


def _update(
    cached: _Cached,
    ev: _Evidence,
    *,
    added: set[str],
    removed: set[str],
    released: gpd.GeoDataFrame | None,
    released_batch: np.ndarray,
    n_threads: int,
    released_aside: np.ndarray | None = None,
    present: set[str] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, np.ndarray, np.ndarray | None, frozenset, int]:
    """(surface, members, its WKB, its metric WKB, ids of the components recomputed,
    number of cached components dropped).

    Like :func:`~minemap.risk.surface.update_surface`, staleness is decided by
    **members**, never by geometric tests on the cached rows (a component cut down to a
    sliver by released land cannot escape being replaced); here from the stored
    membership (records of undone batches, whose rows the store has deleted, records now
    connected to a change) rather than from the component ids.

    A cached member missing from ``ev`` is a removed record: of an undone batch, or set
    aside by ``as_of`` (``present``: the batches of the whole frames, whose records may be
    set aside; ``released_aside``: the released polygons set aside, in lon/lat — the
    evidence under them is recomputed like under undone released land).
    """
    geoms = ev.geoms
    n = len(geoms)
    prev_members = cached.members
    old_key = prev_members["batch_id"].astype(str) + ":" + prev_members["pos"].astype(str)
    comp_of = pd.Series(prev_members["component_id"].astype(str).to_numpy(), index=old_key)
    if comp_of.index.has_duplicates:
        raise _NoCacheError("the cached membership lists a record twice")
    cur_key = pd.Index(ev.batch.astype(str)) + ":" + pd.Index(ev.pos.astype(str))
    cur_comp = comp_of.reindex(cur_key).to_numpy(dtype=object)

    seeds = _member(ev.batch, added) if added else np.zeros(n, dtype=bool)
    known = ~pd.isna(cur_comp)
    if (~known & ~seeds).any():
        raise _NoCacheError("a record of an unchanged batch is not in the cached membership")
    # removed records: of undone batches, or set aside by as_of (still in the store)
    gone = ~_member(old_key.to_numpy(dtype=object), cur_key)
    lost = set(prev_members["batch_id"].astype(str).to_numpy()[gone]) - set(removed)
    if lost - set(present if present is not None else ()):
        raise _NoCacheError("a cached record is gone although its batch is neither undone nor here")
    if lost and present is None:
        raise _NoCacheError("records of a kept batch are missing")
    stale = set(prev_members["component_id"].astype(str).to_numpy()[gone])

    # released land added or undone: the evidence under it is recomputed
    changed = []
    if released is not None and len(released) and added:
        take = _member(released_batch, added)
        changed.append(np.asarray(released.geometry.array, dtype=object)[take])
    for batch_id in removed:
        arr = cached.boxes.get(batch_id)
        if arr is not None and len(arr):
            arr = arr[np.isfinite(arr).all(axis=1)]
            boxes = shapely.box(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
            changed.append(shapely.segmentize(boxes, _SEGMENT_DEG))
    if released_aside is not None and len(released_aside):
        changed.append(np.asarray(released_aside, dtype=object))
    tree = shapely.STRtree(geoms) if n else None
    if changed and n:
        cut = np.concatenate(changed)
        cut = cut[~shapely.is_missing(cut) & ~shapely.is_empty(cut)]
        if len(cut):
            cut_m = _valid(_spatial.project(cut, STORAGE_CRS, ev.crs))
            seeds[np.unique(tree.query(cut_m, predicate="intersects")[1])] = True

    affected = np.zeros(n, dtype=bool)
    while n:
        seeds |= known & _member(cur_comp, stale)  # hash-based: NaN-safe
        affected = _grow(tree, geoms, seeds)
        now_stale = stale | set(cur_comp[affected & known])
        if now_stale == stale:
            break
        stale = now_stale
        seeds = affected

    subset = np.flatnonzero(affected)
    fresh = _components(
        geoms[subset],
        ev.kinds[subset],
        ev.keys[subset],
        ev.circ[subset],
        _released_near(released, geoms[subset], ev.crs),
        ev.crs,
        n_threads,
    )
    previous = cached.surface
    drop = _member(previous["component_id"].astype(str).to_numpy(dtype=object), stale)
    kept = previous[~drop]
    old_wkb = cached.wkb
    if old_wkb is None:
        old_wkb = shapely.to_wkb(np.asarray(previous.geometry.array, dtype=object))
    new_wkb = shapely.to_wkb(np.asarray(fresh.geometry.array, dtype=object))
    wkb = np.concatenate([old_wkb[~drop], new_wkb])
    fresh_metric = _metric_wkb(fresh, ev.crs) if len(fresh) else np.empty(0, dtype=object)
    metric_wkb = None
    if cached.metric_wkb is not None and fresh_metric is not None:
        metric_wkb = np.concatenate([cached.metric_wkb[~drop], fresh_metric])
    frames = [f for f in (kept, fresh) if len(f)]
    if frames:
        out = pd.concat(frames, ignore_index=True)
        order = np.argsort(out["component_id"].to_numpy(dtype=str), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
        wkb = wkb[order]
        if metric_wkb is not None:
            metric_wkb = metric_wkb[order]
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)
    else:
        out = _empty_surface(ev.crs)
    out.attrs["area_crs"] = ev.crs.to_wkt()
    keep_members = ~gone & ~_member(
        prev_members["component_id"].astype(str).to_numpy(dtype=object), stale
    )
    members = pd.concat(
        [prev_members[keep_members], _membership(ev, subset, n_threads)], ignore_index=True
    )
    if len(members) != n:
        raise ValueError("the updated membership does not cover the evidence")
    try:  # a last cheap consistency check; failing it is a bug, reported as a warning
        _check_membership(out, members)
    except _NoCacheError as exc:
        raise ValueError(str(exc)) from None
    _hand_over(out, metric_wkb, ev.crs)
    fresh_ids = frozenset(fresh["component_id"].astype(str).tolist()) if len(fresh) else frozenset()
    return out, members, wkb, metric_wkb, fresh_ids, int(drop.sum())


# -- the cache-aware surface ---------------------------------------------------------------


def _whole_batches(cache: Any, batches: dict[str, dict[str, int]]) -> None:
    """Every batch in the frames is an active store batch of that layer, all of its rows."""
    lister = getattr(cache, "list_batches", None)
    if lister is None:
        return
    known = {b.batch_id: b for b in lister()}
    for layer, counts in batches.items():
        for batch_id, n in counts.items():
            rec = known.get(batch_id)
            if rec is None or rec.status != "active" or rec.layer != layer:
                raise _NoCacheError(f"{layer} batch {batch_id} is not an active store batch")
            if rec.feature_count != n:
                raise _NoCacheError(
                    f"{layer} batch {batch_id} has {n} of its {rec.feature_count} records here"
                )


def _warn(run_warnings: list[str], message: str) -> None:
    log.warning(message)
    run_warnings.append(message)


_DECODED: dict[str, _Cached] = {}  # payload checksum → decoded (the app runs again and again)
_DECODED_LOCK = threading.Lock()


def _remember(sha: str, cached: _Cached) -> None:
    for arr in (cached.wkb, cached.metric_wkb, *cached.boxes.values()):
        if arr is not None:
            arr.flags.writeable = False  # shared from now on: never written into
    with _DECODED_LOCK:  # one decoded payload: the kept surface of all records
        _DECODED.clear()
        _DECODED[sha] = cached


def _load(
    cache: DerivedCache, params: str, warnings: list[str]
) -> tuple[_Cached, dict[str, dict[str, str]], str, str]:
    """(cached surface, its batches per layer, its area CRS WKT, its payload checksum);
    raises _NoCacheError.

    The payload is checked against its checksum on every run; decoding it (Parquet and
    WKB) is done once per payload and remembered (read-only: what callers get is a
    copy-on-write copy of the surface frame, the arrays are never written into)."""
    try:
        record = cache.get_derived(SURFACE_KEY)
    except Exception as exc:  # an unreadable cache is not a reason to fail the plan
        _warn(warnings, f"the cached hazard surface could not be read ({exc}); recomputing")
        raise _NoCacheError("cached surface unreadable") from None
    if record is None:
        raise _NoCacheError("no cached surface yet")
    if record.params_sha256 != params:
        raise _NoCacheError("parameters, code or library versions changed since the cached run")
    try:
        if hashlib.sha256(record.payload).hexdigest() != record.payload_sha256:
            raise ValueError("its payload does not match its checksum")
        inputs = json.loads(record.inputs_json)
        if not isinstance(inputs, dict) or inputs.get("format") != _FORMAT:
            raise ValueError("its inputs record is not in the expected format")
        batches = inputs["batches"]
        if not isinstance(batches, dict) or set(batches) != set(SURFACE_LAYERS):
            raise ValueError("its batch list is incomplete")
        batches = {layer: {str(b): str(d) for b, d in m.items()} for layer, m in batches.items()}
        with _DECODED_LOCK:
            cached = _DECODED.get(record.payload_sha256)
        if cached is None:
            cached = _decode(record.payload)
            _check_membership(cached.surface, cached.members)
            _remember(record.payload_sha256, cached)
        if len(cached.surface) != int(inputs["n_components"]):
            raise ValueError("its surface has the wrong number of components")
        # a shallow copy: whatever a caller does to the frame it gets, copy-on-write keeps
        # the decoded one as it was
        cached = dataclasses.replace(cached, surface=cached.surface.copy(deep=False))
    except Exception as exc:  # damaged: ignored with a warning, never raised
        _warn(warnings, f"the cached hazard surface is damaged ({exc}); ignored, recomputing")
        raise _NoCacheError("cached surface damaged: ignored") from None
    return cached, batches, str(inputs["area_crs"]), str(record.payload_sha256)


def cached_hazard_surface(
    cache: DerivedCache,
    *,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    strikes: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    released: gpd.GeoDataFrame | None = None,
    excluded: Mapping[str, int] | None = None,
    keep: Mapping[str, np.ndarray] | None = None,
    reuse: bool = True,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
    n_threads: int = _spatial.N_THREADS,
    _rebuild: bool = True,
) -> SurfaceRun:
    """The hazard surface of the layers, updated from the store's cached one when safe.

    Parameters
    ----------
    cache : Store
        Where the surface is kept (``get_derived``/``put_derived``; ``list_batches`` is
        used, when present, to check that the frames hold whole active batches).
    hazards, strikes, casualties, released : GeoDataFrame, optional
        The store layers (``released`` is the ``cleared`` layer), with ``batch_id``: with
        ``keep``, every record of them (the whole batches); otherwise the records used.
    footprints : GeoDataFrame, optional
        :func:`~minemap.risk.footprints.strike_footprints` of ``strikes`` (aligned to it).
    excluded : mapping, optional
        Records set aside per layer before this call, without ``keep``: if any surface
        layer lost records, the cache is neither used nor written (the frames given are
        then not whole batches). Superseded by ``keep``.
    keep : mapping of layer name to bool array, optional
        Per layer (``hazards``, ``strikes``, ``casualties``, ``cleared``), which rows of
        the frames given are used (e.g. dated on or before ``as_of``); the others are set
        aside. The surface is that of the rows kept; relative to the kept surface of all
        records they are removed records, so only the components they touch are
        recomputed. Such a surface is not written (the store keeps the all-records one).
    reuse : bool
        False: compute the whole surface (the cached one is not read) and store it.
    casualty_buffer_m : optional
        As for :func:`~minemap.risk.surface.hazard_surface`.
    n_threads : int

    Returns
    -------
    SurfaceRun
        The surface equals ``hazard_surface`` on the rows used in every case.
    """
    from minemap.risk.surface import hazard_surface

    full_layers = {"hazards": hazards, "strikes": strikes, "casualties": casualties,
                   "cleared": released}  # fmt: skip
    if (
        strikes is not None
        and len(strikes)
        and (footprints is None or len(footprints) != len(strikes))
    ):
        raise ValueError("footprints must be strike_footprints(strikes), aligned to it")
    masks: dict[str, np.ndarray] = {}
    for layer, frame in full_layers.items():
        mask = None if keep is None else keep.get(layer)
        if frame is None or mask is None:
            continue
        mask = np.asarray(mask, dtype=bool)
        if len(mask) != len(frame):
            raise ValueError(f"keep[{layer!r}] must have one value per {layer} record")
        if not mask.all():
            masks[layer] = mask

    def used(layer: str, frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        return frame[masks[layer]] if frame is not None and layer in masks else frame

    u_hazards, u_strikes = used("hazards", hazards), used("strikes", strikes)
    u_footprints, u_casualties = used("strikes", footprints), used("casualties", casualties)
    u_released = used("cleared", released)
    n_aside = sum(int((~m).sum()) for m in masks.values())
    warnings: list[str] = []

    def full() -> gpd.GeoDataFrame:
        return hazard_surface(
            hazards=u_hazards,
            footprints=u_footprints,
            casualties=u_casualties,
            released=u_released,
            casualty_buffer_m=casualty_buffer_m,
            n_threads=n_threads,
        )

    # 1. can the current inputs be cached at all?
    try:
        set_aside = {k: v for k, v in (excluded or {}).items() if k in SURFACE_LAYERS and v}
        if set_aside and keep is None:
            raise _NoCacheError(
                f"the plan date sets {sum(set_aside.values()):,} record(s) aside; the cache "
                "holds the surface of all records"
            )
        batch_cols: dict[str, np.ndarray] = {}  # of the rows used
        positions: dict[str, np.ndarray] = {}  # of the rows used, within their batch
        digests: dict[str, dict[str, str]] = {}  # of the whole batches
        counts: dict[str, dict[str, int]] = {}
        for layer, frame in full_layers.items():
            if frame is None or not len(frame):
                batch_cols[layer] = np.empty(0, dtype=str)
                digests[layer], counts[layer] = {}, {}
                continue
            whole = _batch_column(frame, layer)
            digests[layer] = batch_digests(frame, layer)
            counts[layer] = {b: len(idx) for b, idx in _groups(whole).items()}
            if layer in masks:
                positions[layer] = _positions(whole)[masks[layer]]
                batch_cols[layer] = whole[masks[layer]]
            else:
                batch_cols[layer] = whole
        _whole_batches(cache, counts)
        crs = _area_crs([u_hazards, u_footprints, u_casualties, u_released])
        ev = _current_evidence(
            u_hazards, u_strikes, u_footprints, u_casualties, crs, batch_cols,
            casualty_buffer_m, positions,
        )  # fmt: skip
        row_keys = {
            layer: _keys(batch_cols[layer], positions.get(layer, _positions(batch_cols[layer])))
            for layer in ("hazards", "strikes", "casualties")
        }
    except _NoCacheError as exc:
        surface = full()
        return SurfaceRun(surface, "full", str(exc), len(surface), len(surface))

    params = surface_params_sha256(casualty_buffer_m=casualty_buffer_m)
    area_crs = crs.to_wkt()
    released_aside = None
    if "cleared" in masks and released is not None:
        released_aside = np.asarray(released.geometry.array, dtype=object)[~masks["cleared"]]
        released_aside = released_aside[
            ~shapely.is_missing(released_aside) & ~shapely.is_empty(released_aside)
        ]

    # 2. the cached surface, if it provably fits
    run = None
    reason = "cache not used (--no-cache)"
    if reuse:
        try:
            cached, old, old_crs, base_sha = _load(cache, params, warnings)
            if old_crs != area_crs:
                raise _NoCacheError("the data's extent moved the equal-area CRS")
            old_of = {b: (layer, d) for layer, m in old.items() for b, d in m.items()}
            now_of = {b: (layer, d) for layer, m in digests.items() for b, d in m.items()}
            for batch_id in sorted(set(old_of) & set(now_of)):
                if old_of[batch_id] != now_of[batch_id]:
                    raise _NoCacheError(f"the rows of batch {batch_id} changed since")
            added = set(now_of) - set(old_of)
            removed = set(old_of) - set(now_of)
            if not added and not removed and not masks:
                run = SurfaceRun(cached.surface, "incremental", "no batch added or undone",
                                 len(cached.surface), saved=True, base_sha256=base_sha,
                                 kept_sha256=base_sha, fresh_ids=frozenset(),
                                 wkb=cached.wkb, metric_wkb=cached.metric_wkb)  # fmt: skip
                run.surface.attrs["area_crs"] = area_crs
                _hand_over(run.surface, cached.metric_wkb, crs)
                run.record_components = _record_components(cached.members, row_keys)
                run.record_keys = row_keys
                run.batch_digests = {b: d for m in digests.values() for b, d in m.items()}
                return run
            try:
                surface, members, wkb, metric_wkb, fresh_ids, n_dropped = _update(
                    cached, ev, added=added, removed=removed, released=u_released,
                    released_batch=batch_cols["cleared"], n_threads=n_threads,
                    released_aside=released_aside, present=set(now_of),
                )  # fmt: skip
            except _NoCacheError:
                raise
            except Exception as exc:
                _warn(warnings, f"updating the cached hazard surface failed ({exc}); recomputing")
                raise _NoCacheError("incremental update failed") from None
            n_fresh = len(fresh_ids)
            reason = f"{len(added)} batch(es) added, {len(removed)} undone"
            if masks:
                reason += f", {n_aside:,} record(s) after the plan date set aside"
            run = SurfaceRun(surface, "incremental", reason, len(surface), n_fresh, n_dropped,
                             sorted(added), sorted(removed), warnings=warnings,
                             base_sha256=base_sha, kept_sha256=base_sha,
                             fresh_ids=fresh_ids, wkb=wkb, metric_wkb=metric_wkb)  # fmt: skip
        except _NoCacheError as exc:
            reason = str(exc)
    same_crs = masks and _area_crs([hazards, footprints, casualties, released]).to_wkt() == area_crs
    if run is None and masks and reuse and _rebuild and same_crs:
        # no usable kept surface: build and keep the all-records one, then update it to
        # the plan date (so the next run as of any date is incremental)
        kept = cached_hazard_surface(
            cache, hazards=hazards, footprints=footprints, strikes=strikes,
            casualties=casualties, released=released, reuse=False,
            casualty_buffer_m=casualty_buffer_m, n_threads=n_threads, _rebuild=False,
        )  # fmt: skip
        if kept.saved:
            again = cached_hazard_surface(
                cache, hazards=hazards, footprints=footprints, strikes=strikes,
                casualties=casualties, released=released, keep=keep,
                casualty_buffer_m=casualty_buffer_m, n_threads=n_threads, _rebuild=False,
            )  # fmt: skip
            again.warnings[:0] = warnings + kept.warnings
            again.reason = f"kept surface rebuilt ({reason}); {again.reason}"
            return again
    if run is None:
        surface = full()
        metric_wkb = _metric_wkb(surface, crs)
        wkb = shapely.to_wkb(np.asarray(surface.geometry.array, dtype=object))
        run = SurfaceRun(surface, "full", reason, len(surface), len(surface), warnings=warnings,
                         wkb=wkb, metric_wkb=metric_wkb)  # fmt: skip
        if masks:  # the store keeps the surface of all records only
            return run
        try:
            members = _membership(ev, np.arange(len(ev.geoms)), n_threads)
            _check_membership(surface, members)
        except Exception as exc:
            _warn(warnings, f"the hazard surface cannot be kept for the next run ({exc})")
            return run
    run.record_components = _record_components(members, row_keys)
    run.record_keys = row_keys
    run.batch_digests = {b: d for m in digests.values() for b, d in m.items()}
    if masks:  # an as-of surface: not kept (the store keeps the all-records one)
        return run

    # 3. keep it for the next run
    try:
        boxes = {}
        if released is not None and len(released):
            all_boxes = _released_boxes(released)
            for batch_id, idx in _groups(batch_cols["cleared"]).items():
                boxes[batch_id] = all_boxes[idx]
        inputs = {
            "format": _FORMAT,
            "area_crs": area_crs,
            "batches": digests,
            "n_components": len(run.surface),
        }
        tables = _tables(_Cached(run.surface, members, boxes, wkb, metric_wkb))
        payload = _zip(*tables)
        cache.put_derived(
            SURFACE_KEY,
            params_sha256=params,
            inputs_json=json.dumps(inputs, sort_keys=True),
            payload=payload,
        )
        run.saved = True
        run.kept_sha256 = hashlib.sha256(payload).hexdigest()
        # the next run (e.g. the app's next period end) finds it decoded already: what
        # was encoded, in the form decoding gives (tested equal to decoding the payload)
        geoms = np.asarray(run.surface.geometry.array, dtype=object)
        _remember(run.kept_sha256, _from_tables(*tables, geoms=geoms))
    except Exception as exc:  # a cache that cannot be written must not fail the plan
        _warn(warnings, f"the hazard surface could not be kept for the next run: {exc}")
    return run
