"""Splitting the record into what was known and what came later, in time and in space.

Temporal: :func:`split_as_of` cuts the canonical layer frames at a date. The *history*
holds only records dated **strictly before** ``as_of`` — the ranking is rebuilt from it
alone, so nothing learnt on or after that day can leak into it. The *outcomes* hold the
records dated on or after ``as_of`` and strictly before ``until``: what the ranking is
scored against. The two never share a record. Records with no date cannot be placed on
either side and are counted, never silently used.

Spatial: :func:`grid_blocks` puts items into square blocks of a local equal-area grid and
:func:`admin_blocks` into the administrative polygon that holds them; :func:`block_folds`
deals the blocks into folds for block cross-validation (the practice in published
landmine-risk models, so that neighbouring, alike cells do not leak into each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from minemap.geometry import assert_same_crs, require_storage_crs

__all__ = [
    "DATED_LAYERS",
    "Split",
    "admin_blocks",
    "as_timestamp",
    "block_folds",
    "grid_blocks",
    "split_as_of",
]

DATED_LAYERS: tuple[str, ...] = ("casualties", "strikes", "hazards", "cleared")
"""Layers whose records carry a ``date``; other layers (farmland) are timeless context."""


def as_timestamp(value: Any, *, what: str = "date") -> pd.Timestamp:
    """A timezone-naive day-precision :class:`pandas.Timestamp`; ``ValueError`` if not a date."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None
    if pd.isna(ts):
        raise ValueError(f"{what} {value!r} is not a date (use YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def _dates(frame: pd.DataFrame, layer: str) -> pd.Series:
    if "date" not in frame:
        raise ValueError(f"layer {layer}: no 'date' column, cannot place records in time")
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates


@dataclass
class Split:
    """Result of :func:`split_as_of`.

    Attributes
    ----------
    as_of, until : Timestamp or None
        The cut dates (``until`` None = open-ended).
    history : dict of str to GeoDataFrame
        Records dated strictly before ``as_of`` (undated layers whole).
    outcomes : dict of str to GeoDataFrame
        Records of the dated layers with ``as_of <= date < until``.
    undated : dict of str to int
        Per dated layer, records without a usable date (in neither side).
    after_until : dict of str to int
        Per dated layer, records dated on or after ``until`` (in neither side).
    """

    as_of: pd.Timestamp
    until: pd.Timestamp | None
    history: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    outcomes: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    undated: dict[str, int] = field(default_factory=dict)
    after_until: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-able counts per layer and side."""
        return {
            "as_of": self.as_of.date().isoformat(),
            "until": None if self.until is None else self.until.date().isoformat(),
            "history": {k: len(v) for k, v in sorted(self.history.items())},
            "outcomes": {k: len(v) for k, v in sorted(self.outcomes.items())},
            "undated": dict(sorted(self.undated.items())),
            "after_until": dict(sorted(self.after_until.items())),
        }


def split_as_of(
    layers: Mapping[str, gpd.GeoDataFrame],
    as_of: Any,
    *,
    until: Any = None,
) -> Split:
    """Cut canonical layer frames into history (before ``as_of``) and outcomes.

    Parameters
    ----------
    layers : mapping of layer name to GeoDataFrame
        Canonical frames (``store.read_layer``); dated layers need a ``date`` column.
    as_of : date-like
        The day the ranking is rebuilt for. History = ``date < as_of`` (strictly).
    until : date-like, optional
        End of the outcome period (exclusive). None = everything from ``as_of`` on.

    Returns
    -------
    Split
        Row order and index of every frame are kept; frames are copies.

    Raises
    ------
    ValueError
        If ``until`` is not after ``as_of``, or a dated layer has no ``date`` column.
    """
    start = as_timestamp(as_of, what="as_of")
    end = None if until is None else as_timestamp(until, what="until")
    if end is not None and end <= start:
        raise ValueError(
            f"until ({end.date()}) must be after as_of ({start.date()}): "
            "the outcome period would be empty"
        )
    result = Split(start, end)
    for name, frame in layers.items():
        if name not in DATED_LAYERS:
            result.history[name] = frame.copy()
            continue
        dates = _dates(frame, name)
        known = dates.notna().to_numpy()
        before = known & (dates < start).fillna(False).to_numpy(dtype=bool)
        later = known & ~before
        if end is not None:
            late = later & (dates >= end).fillna(False).to_numpy(dtype=bool)
            result.after_until[name] = int(late.sum())
            later &= ~late
        result.undated[name] = int((~known).sum())
        result.history[name] = frame[before].copy()
        result.outcomes[name] = frame[later].copy()
    return result


def _local_equal_area(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Lambert azimuthal equal-area centred on the data (works anywhere on Earth)."""
    minx, miny, maxx, maxy = frame.total_bounds
    lon0, lat0 = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs"
    )


def grid_blocks(
    frame: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    block_size_m: float,
) -> pd.Series:
    """Square grid block of each item (by its representative point).

    The grid lives in a Lambert azimuthal equal-area projection centred on the data's
    bounding box, anchored at its south-west corner, so blocks are true squares of
    ``block_size_m`` wherever the data lie.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        EPSG:4326 geometries (points or polygons); none may be missing.
    block_size_m : float
        Side of a block in metres.

    Returns
    -------
    Series of str
        ``"r{row}c{col}"`` per item, named ``block``, aligned to ``frame.index``.
    """
    require_storage_crs(frame, what="frame to block")
    if not block_size_m > 0:
        raise ValueError("block_size_m must be positive")
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geoms.isna().any() or geoms.is_empty.any():
        raise ValueError("every item needs a geometry to be put in a spatial block")
    points = geoms.representative_point().to_crs(_local_equal_area(geoms))
    x = points.x.to_numpy()
    y = points.y.to_numpy()
    col = np.floor((x - x.min()) / block_size_m).astype(int)
    row = np.floor((y - y.min()) / block_size_m).astype(int)
    labels = [f"r{r}c{c}" for r, c in zip(row, col, strict=True)]
    return pd.Series(labels, index=frame.index, name="block", dtype=object)


def admin_blocks(
    frame: gpd.GeoDataFrame | gpd.GeoSeries,
    polygons: gpd.GeoDataFrame,
    *,
    id_field: str,
) -> pd.Series:
    """Administrative polygon holding each item (by its representative point).

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        Items, EPSG:4326.
    polygons : GeoDataFrame
        Admin polygons, same CRS, with ``id_field``.
    id_field : str
        Column naming each polygon.

    Returns
    -------
    Series
        The polygon id per item (NA where no polygon holds it; the first polygon if
        several overlap), named ``block``, aligned to ``frame.index``.
    """
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    assert_same_crs(geoms, polygons, names=("items", "admin polygons"))
    if id_field not in polygons:
        raise ValueError(f"admin polygons have no column {id_field!r}")
    points = gpd.GeoDataFrame(geometry=geoms.representative_point().to_numpy(), crs=geoms.crs)
    joined = gpd.sjoin(points, polygons[[id_field, polygons.geometry.name]], predicate="within")
    first = joined[~joined.index.duplicated(keep="first")][id_field]
    out = pd.Series(pd.NA, index=range(len(points)), dtype=object, name="block")
    out.loc[first.index] = first.to_numpy()
    out.index = frame.index
    return out


def block_folds(
    blocks: pd.Series | np.ndarray,
    *,
    n_folds: int,
    seed: int = 0,
) -> pd.Series:
    """Deal whole blocks into ``n_folds`` folds (block cross-validation).

    Blocks are shuffled with ``seed`` and dealt largest first to the fold with the
    fewest items so far, so folds are about the same size and a block never straddles
    two folds.

    Parameters
    ----------
    blocks : Series or array
        Block label per item (no missing labels).
    n_folds : int
        Number of folds, at least 2 and at most the number of blocks.
    seed : int

    Returns
    -------
    Series of int
        Fold 0..n_folds-1 per item, named ``fold`` (index of ``blocks`` if a Series).
    """
    labels = pd.Series(blocks) if not isinstance(blocks, pd.Series) else blocks
    if labels.isna().any():
        raise ValueError(f"{int(labels.isna().sum())} item(s) have no block")
    keys = labels.astype(str)
    sizes = keys.value_counts(sort=False)
    if n_folds < 2:
        raise ValueError("n_folds must be at least 2")
    if n_folds > len(sizes):
        raise ValueError(
            f"{n_folds} folds asked for but only {len(sizes)} blocks: use fewer folds "
            "or smaller blocks"
        )
    rng = np.random.default_rng(seed)
    names = np.array(sorted(sizes.index))
    names = names[rng.permutation(len(names))]
    counts = sizes.loc[names].to_numpy()
    order = np.argsort(-counts, kind="stable")
    load = np.zeros(n_folds, dtype=int)
    fold_of: dict[str, int] = {}
    for i in order:
        k = int(np.argmin(load))
        fold_of[str(names[i])] = k
        load[k] += counts[i]
    return pd.Series(keys.map(fold_of).to_numpy(dtype=int), index=labels.index, name="fold")
