"""GeoPackage geometry blobs: encode, decode, and the envelope SQL functions.

A GeoPackage geometry blob (GPKG 1.4, clause 2.1.3) is a small header followed by
standard ISO WKB::

    magic "GP" | version (0) | flags | srs_id (int32) | envelope (0, 4, 6 or 8 doubles) | WKB

Flags: bit 0 byte order of the header (1 = little-endian), bits 1-3 the envelope
kind (0 none, 1 xy, 2 xyz, 3 xym, 4 xyzm), bit 4 the empty-geometry flag.

minemap writes little-endian headers with an xy envelope for every non-empty geometry
(points too, so the spatial-index functions never need to parse WKB for its own rows)
and no envelope for empty geometries. Decoding accepts any valid header, including
blobs written by GDAL/QGIS (which omit the envelope of points).

The ``ST_*`` functions are what the GeoPackage R-tree triggers call; they are
registered on every minemap SQLite connection (see :func:`register_functions`).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence

import numpy as np
import shapely

__all__ = [
    "decode_geometries",
    "encode_geometries",
    "envelope",
    "register_functions",
    "wkb_offset",
]

_MAGIC = b"GP"
_HEADER_XY = struct.Struct("<2sBBi4d")
_HEADER_NONE = struct.Struct("<2sBBi")
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_FLAGS_XY = 0b0000_0011  # little-endian header, xy envelope
_FLAGS_EMPTY = 0b0001_0001  # little-endian header, no envelope, empty geometry
_EMPTY_BIT = 0b0001_0000


def encode_geometries(geoms: Sequence[shapely.Geometry | None], *, srs_id: int = 4326) -> list:
    """Encode shapely geometries as GeoPackage geometry blobs.

    Parameters
    ----------
    geoms : sequence of shapely.Geometry or None
        Two-dimensional geometries; ``None`` stays ``None`` (SQL NULL).
    srs_id : int, default 4326
        The ``srs_id`` written into each header.

    Returns
    -------
    list of bytes or None
        One blob per input geometry, in order.

    Examples
    --------
    >>> blob = encode_geometries([shapely.Point(30.5, 50.4)])[0]
    >>> blob[:2], decode_geometries([blob])[0].wkt
    (b'GP', 'POINT (30.5 50.4)')
    >>> encode_geometries([None])
    [None]
    """
    arr = np.asarray(geoms, dtype=object)
    wkbs = shapely.to_wkb(arr, byte_order=1, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(arr)
    empty = shapely.is_empty(arr)
    out: list[bytes | None] = []
    pack_xy = _HEADER_XY.pack
    empty_header = _HEADER_NONE.pack(_MAGIC, 0, _FLAGS_EMPTY, srs_id)
    for wkb, (minx, miny, maxx, maxy), is_empty in zip(wkbs, bounds, empty, strict=True):
        if wkb is None:
            out.append(None)
        elif is_empty:
            out.append(empty_header + wkb)
        else:
            out.append(pack_xy(_MAGIC, 0, _FLAGS_XY, srs_id, minx, maxx, miny, maxy) + wkb)
    return out


def wkb_offset(blob: bytes) -> int:
    """Byte offset where the WKB starts in a GeoPackage blob; ValueError if not a blob."""
    if len(blob) < 8 or blob[:2] != _MAGIC:
        raise ValueError("not a GeoPackage geometry blob (no 'GP' header)")
    kind = (blob[3] >> 1) & 0b111
    try:
        return 8 + _ENVELOPE_BYTES[kind]
    except KeyError:
        raise ValueError(f"GeoPackage geometry blob with invalid envelope code {kind}") from None


def decode_geometries(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Decode GeoPackage geometry blobs into an array of shapely geometries (vectorised).

    Parameters
    ----------
    blobs : sequence of bytes or None
        Blobs as stored; ``None`` decodes to ``None``.

    Returns
    -------
    numpy.ndarray
        Object array of shapely geometries (``None`` where the blob was NULL).

    Examples
    --------
    >>> decode_geometries([None])
    array([None], dtype=object)
    """
    wkbs = [None if b is None else b[wkb_offset(b) :] for b in blobs]
    return shapely.from_wkb(np.asarray(wkbs, dtype=object))


def envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """``(minx, maxx, miny, maxy)`` of a blob, from its header or, if absent, its WKB.

    ``None`` for NULL or empty geometries.
    """
    if blob is None:
        return None
    offset = wkb_offset(blob)
    if blob[3] & _EMPTY_BIT:
        return None
    if offset >= 40:
        order = "<" if blob[3] & 1 else ">"
        minx, maxx, miny, maxy = struct.unpack_from(order + "4d", blob, 8)
        return (minx, maxx, miny, maxy)
    geom = shapely.from_wkb(blob[offset:])
    if geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx, miny, maxy)


def _st_isempty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return 1 if envelope(blob) is None else 0


def _coordinate(index: int):
    def func(blob: bytes | None) -> float | None:
        env = envelope(blob)
        return None if env is None else env[index]

    return func


def register_functions(con: sqlite3.Connection) -> None:
    """Register ``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY``, ``ST_MaxY``.

    These are the functions the GeoPackage R-tree extension's triggers call on
    insert and update; GDAL registers its own, plain ``sqlite3`` does not.
    """
    con.create_function("ST_IsEmpty", 1, _st_isempty, deterministic=True)
    for index, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _coordinate(index), deterministic=True)
