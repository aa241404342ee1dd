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
- a bounding box (in lon/lat, generously enlarged) of the evidence of every record, so
  the records of a batch undone later can still be located although the store deleted
  their rows.

On the next run, if parameters, code, CRS and every shared batch's checksum match, the
batches added since are new records and the batches gone are removed records:
:func:`minemap.risk.surface.update_surface` recomputes only the components they touch
(tested identical to a full :func:`~minemap.risk.surface.hazard_surface`). Anything
else — different parameters or code, records set aside by ``as_of``, rows without a batch
id, layers that are not whole store batches, a batch whose rows changed, a damaged cache
row — means a full recomputation: a stale hazard map would be a safety failure. A damaged
or unreadable cache row is logged as a warning and ignored, never raised.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from minemap.layers import get_schema
from minemap.risk import _spatial
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

SURFACE_KEY = "hazard_surface"
"""Key of the cached surface in the store's derived table."""

SURFACE_LAYERS = ("hazards", "strikes", "casualties", "cleared")
"""The store layers the hazard surface depends on (farmland does not change it)."""

_FORMAT = 1  # payload layout; bump when it changes
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
    columns are not used by the surface and not covered.

    Raises
    ------
    ValueError
        A record has no ``batch_id`` (the layer was not read from a store).
    """
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
    for batch_id, idx in _groups(batch).items():
        h = hashlib.sha256(head)
        h.update(len(idx).to_bytes(8, "little"))
        h.update(row_hash[idx].tobytes())
        for blob in wkb[idx]:
            h.update(b"\0" if blob is None else len(blob).to_bytes(4, "little") + blob)
        out[batch_id] = h.hexdigest()
    return out


def _degree_boxes(bounds: np.ndarray, radius_m: np.ndarray | None = None) -> np.ndarray:
    """Enlarge lon/lat boxes by ``radius_m`` (generously converted) and a fixed margin."""
    b = np.array(bounds, dtype="float64")
    if radius_m is not None:
        r = np.nan_to_num(np.asarray(radius_m, dtype="float64"), nan=0.0)
        lat = np.clip(np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3])) + 1.0, 0.0, 89.0)
        dlat = r / 110_000.0
        dlon = r / (110_000.0 * np.cos(np.radians(lat)))
        b[:, 0] -= dlon
        b[:, 2] += dlon
        b[:, 1] -= dlat
        b[:, 3] += dlat
    width = (b[:, 2] - b[:, 0]) * 0.02 + _MARGIN_DEG
    height = (b[:, 3] - b[:, 1]) * 0.02 + _MARGIN_DEG
    b[:, 0] -= width
    b[:, 2] += width
    b[:, 1] -= height
    b[:, 3] += height
    return b


def _record_boxes(
    layer: str,
    frame: gpd.GeoDataFrame,
    footprints: gpd.GeoDataFrame | None,
    casualty_buffer_m: float | Mapping[str, float] | None,
) -> np.ndarray:
    """(n, 4) lon/lat boxes covering each record's evidence (or released polygon)."""
    if layer == "strikes":
        geoms = np.asarray(footprints.geometry.array, dtype=object)
        radius = None
        if "footprint_radius_m" in footprints.columns:
            radius = footprints["footprint_radius_m"].to_numpy(dtype="float64", na_value=np.nan)
        return _degree_boxes(shapely.bounds(geoms), radius)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    if layer == "casualties":
        from minemap.risk.surface import casualty_buffers

        radius = casualty_buffers(frame, casualty_buffer_m=casualty_buffer_m)["buffer_radius_m"]
        return _degree_boxes(shapely.bounds(geoms), radius.to_numpy())
    return _degree_boxes(shapely.bounds(geoms))


# -- the payload ---------------------------------------------------------------------------


def _encode(surface: gpd.GeoDataFrame, boxes: dict[tuple[str, str], np.ndarray]) -> bytes:
    index = []
    arrays = []
    start = 0
    for (layer, batch_id), arr in sorted(boxes.items()):
        index.append([layer, batch_id, start, start + len(arr)])
        arrays.append(arr)
        start += len(arr)
    stacked = np.vstack(arrays) if arrays else np.empty((0, 4))
    parquet = io.BytesIO()
    gpd.GeoDataFrame(surface).to_parquet(parquet, index=False)
    npy = io.BytesIO()
    np.save(npy, stacked.astype("<f8"), allow_pickle=False)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("surface.parquet", parquet.getvalue())
        zf.writestr("boxes.npy", npy.getvalue())
        zf.writestr("boxes.json", json.dumps(index))
    return out.getvalue()


def _decode(payload: bytes) -> tuple[gpd.GeoDataFrame, dict[tuple[str, str], np.ndarray]]:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        surface = gpd.read_parquet(io.BytesIO(zf.read("surface.parquet")))
        stacked = np.load(io.BytesIO(zf.read("boxes.npy")), allow_pickle=False)
        index = json.loads(zf.read("boxes.json"))
    if stacked.ndim != 2 or stacked.shape[1] != 4:
        raise ValueError("record boxes are not an (n, 4) array")
    boxes = {(str(layer), str(b)): stacked[int(s) : int(e)] for layer, b, s, e in index}
    return surface, boxes


# -- the cache-aware surface ---------------------------------------------------------------


def _area_crs_wkt(frames: list[gpd.GeoDataFrame | None]) -> str:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        bounds = np.array([np.nan] * 4)
    else:
        b = np.vstack(boxes)
        bounds = np.array(
            [np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])]
        )
    return _spatial.equal_area_crs_for(bounds).to_wkt()


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


def _changed_geometries(
    added: set[str],
    removed: set[str],
    layers: Mapping[str, gpd.GeoDataFrame | None],
    footprints: gpd.GeoDataFrame | None,
    batch_cols: Mapping[str, np.ndarray],
    old_boxes: Mapping[tuple[str, str], np.ndarray],
) -> gpd.GeoSeries:
    parts: list[np.ndarray] = []
    for layer in SURFACE_LAYERS:
        frame = layers.get(layer)
        if frame is None or not len(frame) or not added:
            continue
        take = np.isin(batch_cols[layer], sorted(added))
        if not take.any():
            continue
        source = footprints if layer == "strikes" else frame
        parts.append(np.asarray(source.geometry.array, dtype=object)[take])
    for (_layer, batch_id), arr in old_boxes.items():
        if batch_id in removed and len(arr):
            ok = np.isfinite(arr).all(axis=1)
            boxes = shapely.box(arr[ok, 0], arr[ok, 1], arr[ok, 2], arr[ok, 3])
            parts.append(shapely.segmentize(boxes, _SEGMENT_DEG))
    geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    return gpd.GeoSeries(geoms, crs=STORAGE_CRS)


def _warn(run_warnings: list[str], message: str) -> None:
    log.warning(message)
    run_warnings.append(message)


def cached_hazard_surface(
    cache: DerivedCache,
    *,
    hazards: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    strikes: gpd.GeoDataFrame | None = None,
    casualties: gpd.GeoDataFrame | None = None,
    released: gpd.GeoDataFrame | None = None,
    excluded: Mapping[str, int] | None = None,
    reuse: bool = True,
    casualty_buffer_m: float | Mapping[str, float] | None = None,
) -> SurfaceRun:
    """The hazard surface of the layers, updated from the store's cached one when safe.

    Parameters
    ----------
    cache : Store
        Where the surface is kept (``get_derived``/``put_derived``; ``list_batches`` is
        used, when present, to check that the frames hold whole active batches).
    hazards, strikes, casualties, released : GeoDataFrame, optional
        The store layers as used (``released`` is the ``cleared`` layer), with ``batch_id``.
    footprints : GeoDataFrame, optional
        :func:`~minemap.risk.footprints.strike_footprints` of ``strikes`` (aligned to it).
    excluded : mapping, optional
        Records set aside per layer before this call (``as_of``): if any surface layer
        lost records, the cache is neither used nor written.
    reuse : bool
        False: compute the whole surface (the cached one is not read) and store it.
    casualty_buffer_m : optional
        As for :func:`~minemap.risk.surface.hazard_surface`.

    Returns
    -------
    SurfaceRun
        The surface equals ``hazard_surface`` on the same layers in every case.
    """
    from minemap.risk.surface import hazard_surface, update_surface

    layers = {"hazards": hazards, "strikes": strikes, "casualties": casualties,
              "cleared": released}  # fmt: skip
    if (
        strikes is not None
        and len(strikes)
        and (footprints is None or len(footprints) != len(strikes))
    ):
        raise ValueError("footprints must be strike_footprints(strikes), aligned to it")
    surface_frames = [hazards, footprints, casualties, released]
    warnings: list[str] = []

    def full() -> gpd.GeoDataFrame:
        return hazard_surface(
            hazards=hazards,
            footprints=footprints,
            casualties=casualties,
            released=released,
            casualty_buffer_m=casualty_buffer_m,
        )

    # 1. can the current inputs be cached at all?
    try:
        set_aside = {k: v for k, v in (excluded or {}).items() if k in SURFACE_LAYERS and v}
        if set_aside:
            total = sum(set_aside.values())
            raise _NoCacheError(
                f"the plan date sets {total:,} record(s) aside; the cache holds surfaces of "
                "all records"
            )
        batch_cols: dict[str, np.ndarray] = {}
        digests: dict[str, dict[str, str]] = {}
        counts: dict[str, dict[str, int]] = {}
        for layer, frame in layers.items():
            if frame is None or not len(frame):
                batch_cols[layer] = np.empty(0, dtype=str)
                digests[layer] = {}
                counts[layer] = {}
                continue
            batch_cols[layer] = _batch_column(frame, layer)
            digests[layer] = batch_digests(frame, layer)
            counts[layer] = {b: len(idx) for b, idx in _groups(batch_cols[layer]).items()}
        _whole_batches(cache, counts)
    except _NoCacheError as exc:
        surface = full()
        return SurfaceRun(surface, "full", str(exc), len(surface), len(surface))

    params = surface_params_sha256(casualty_buffer_m=casualty_buffer_m)
    area_crs = _area_crs_wkt(surface_frames)
    current = {layer: digests[layer] for layer in SURFACE_LAYERS}

    # 2. the cached surface, if it provably fits
    surface = None
    mode: Literal["full", "incremental"] = "full"
    reason = "cache not used (--no-cache)"
    added: set[str] = set()
    removed: set[str] = set()
    previous_ids: set[str] = set()
    if reuse:
        try:
            surface, previous_ids, added, removed, reason = _try_update(
                cache, params, area_crs, current, layers, footprints, batch_cols, warnings,
                update_surface, casualty_buffer_m,
            )  # fmt: skip
            mode = "incremental" if surface is not None else "full"
        except _NoCacheError as exc:
            reason = str(exc)
    if surface is None:
        surface = full()
        n_changed, n_removed = len(surface), 0
    else:
        ids = set(surface["component_id"].astype(str))
        n_changed, n_removed = len(ids - previous_ids), len(previous_ids - ids)
    run = SurfaceRun(
        surface, mode, reason, len(surface), n_changed, n_removed,
        sorted(added), sorted(removed), warnings=warnings,
    )  # fmt: skip
    if mode == "incremental" and not added and not removed:
        run.saved = True  # already stored as it is
        return run

    # 3. keep it for the next run
    try:
        boxes = {}
        for layer, frame in layers.items():
            if frame is None or not len(frame):
                continue
            all_boxes = _record_boxes(layer, frame, footprints, casualty_buffer_m)
            for batch_id, idx in _groups(batch_cols[layer]).items():
                boxes[(layer, batch_id)] = all_boxes[idx]
        inputs = {
            "format": _FORMAT,
            "area_crs": area_crs,
            "batches": current,
            "n_components": len(surface),
        }
        cache.put_derived(
            SURFACE_KEY,
            params_sha256=params,
            inputs_json=json.dumps(inputs, sort_keys=True),
            payload=_encode(surface, boxes),
        )
        run.saved = True
    except Exception as exc:  # a cache that cannot be written must not fail the plan
        _warn(warnings, f"the hazard surface could not be kept for the next run: {exc}")
    return run


def _try_update(
    cache: DerivedCache,
    params: str,
    area_crs: str,
    current: dict[str, dict[str, str]],
    layers: Mapping[str, gpd.GeoDataFrame | None],
    footprints: gpd.GeoDataFrame | None,
    batch_cols: Mapping[str, np.ndarray],
    warnings: list[str],
    update_surface: Any,
    casualty_buffer_m: float | Mapping[str, float] | None,
) -> tuple[gpd.GeoDataFrame | None, set[str], set[str], set[str], str]:
    """(surface or None, previous component ids, added, removed, reason)."""
    try:
        record = cache.get_derived(SURFACE_KEY)
    except Exception as exc:
        _warn(warnings, f"the cached hazard surface could not be read ({exc}); recomputing")
        raise _NoCacheError("cached surface unreadable") from None
    if record is None:
        raise _NoCacheError("no cached surface yet")
    if record.params_sha256 != params:
        raise _NoCacheError("parameters, code or library versions changed since the cached surface")
    try:
        if hashlib.sha256(record.payload).hexdigest() != record.payload_sha256:
            raise ValueError("its payload does not match its checksum")
        inputs = json.loads(record.inputs_json)
        if not isinstance(inputs, dict) or inputs.get("format") != _FORMAT:
            raise ValueError("its inputs record is not in the expected format")
        cached = inputs["batches"]
        cached_crs = str(inputs["area_crs"])
        if not isinstance(cached, dict) or set(cached) != set(SURFACE_LAYERS):
            raise ValueError("its batch list is incomplete")
        previous, old_boxes = _decode(record.payload)
        if len(previous) != int(inputs["n_components"]):
            raise ValueError("its surface has the wrong number of components")
        old = {str(b): (layer, str(d)) for layer, m in cached.items() for b, d in m.items()}
    except Exception as exc:
        _warn(warnings, f"the cached hazard surface is damaged ({exc}); ignored, recomputing")
        raise _NoCacheError("cached surface damaged: ignored") from None
    if cached_crs != area_crs:
        raise _NoCacheError("the data's extent moved the equal-area CRS")
    now = {b: (layer, d) for layer, m in current.items() for b, d in m.items()}
    for batch_id in sorted(set(old) & set(now)):
        if old[batch_id] != now[batch_id]:
            raise _NoCacheError(f"the rows of batch {batch_id} differ from the cached surface's")
    added = set(now) - set(old)
    removed = set(old) - set(now)
    for batch_id in removed:
        if (old[batch_id][0], batch_id) not in old_boxes:
            raise _NoCacheError(f"no record boxes for undone batch {batch_id}")
    previous = previous.set_crs(STORAGE_CRS, allow_override=True)
    previous.attrs["area_crs"] = area_crs
    previous_ids = set(previous["component_id"].astype(str))
    if not added and not removed:
        return previous, previous_ids, added, removed, "no batch added or undone"
    changed = _changed_geometries(added, removed, layers, footprints, batch_cols, old_boxes)
    try:
        surface = update_surface(
            previous,
            changed=changed,
            hazards=layers.get("hazards"),
            footprints=footprints,
            casualties=layers.get("casualties"),
            released=layers.get("cleared"),
            casualty_buffer_m=casualty_buffer_m,
        )
    except Exception as exc:
        _warn(warnings, f"updating the cached hazard surface failed ({exc}); recomputing")
        raise _NoCacheError("incremental update failed") from None
    reason = f"{len(added)} batch(es) added, {len(removed)} undone"
    return surface, previous_ids, added, removed, reason
