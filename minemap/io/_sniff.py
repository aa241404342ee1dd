"""Detect an upload's format from its bytes, never from its name.

The extension of an uploaded file is chosen by whoever made it and proves nothing; a
GeoJSON named ``.csv`` is read as GeoJSON, a VRT named ``.kml`` is refused as a VRT.
"""

from __future__ import annotations

import re

from minemap._errors import UnsafeInputError, UnsupportedFormatError

__all__ = ["sniff_format"]

_SQLITE = b"SQLite format 3\x00"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_SHP_MAGIC = b"\x00\x00\x27\x0a"
_UNSUPPORTED_MAGIC = {
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}

_XML_PROLOGUE = re.compile(
    rb"^(?:\s|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<\s*([A-Za-z_][\w.:-]*)", re.DOTALL
)

_SUPPORTED = "GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ or CSV"


def sniff_format(data: bytes, *, file: str) -> str:
    """Name the format of ``data``: ``geojson``, ``gpkg``, ``zip``, ``kml`` or ``csv``.

    ``zip`` is resolved later (a Shapefile or a KMZ) after the archive is checked.

    Parameters
    ----------
    data
        The uploaded bytes.
    file
        Display name for messages.

    Returns
    -------
    str
        The format.

    Raises
    ------
    UnsupportedFormatError
        Not one of the accepted formats (the message says what it looks like).
    UnsafeInputError
        A GDAL VRT or pipeline file.
    """
    if data.startswith(_SQLITE):
        return "gpkg"
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_SHP_MAGIC):
        raise UnsupportedFormatError(
            f"{file}: this is a bare Shapefile .shp; upload a .zip holding the .shp, .shx, "
            ".dbf and .prj files together"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormatError(
            f"{file}: the file is UTF-16/UTF-32 encoded text; save it as UTF-8 and upload again"
        )
    for magic, what in _UNSUPPORTED_MAGIC.items():
        if data.startswith(magic):
            raise UnsupportedFormatError(f"{file}: this is {what}, not {_SUPPORTED}")
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        if re.search(rb'"type"\s*:\s*"gdal_streamed_alg"', head):
            raise UnsafeInputError(
                f"{file}: refused: this is a GDAL pipeline (.gdalg.json) file, which runs "
                "commands on other files; upload the data itself"
            )
        return "geojson"
    if stripped.startswith(b"["):
        raise UnsupportedFormatError(
            f"{file}: a JSON array is not GeoJSON; upload a FeatureCollection or a Feature"
        )
    if stripped.startswith(b"<"):
        if re.search(rb"<!DOCTYPE|<!ENTITY", head):
            return "kml"  # let the defused XML parser refuse the DTD with a clear message
        match = _XML_PROLOGUE.match(stripped)
        root = match.group(1).decode("ascii", "replace").split(":")[-1] if match else ""
        if root == "kml":
            return "kml"
        if root in ("OGRVRTDataSource", "VRTDataset"):
            raise UnsafeInputError(
                f"{file}: refused: this is a GDAL VRT file, which can make GDAL read other "
                "files or URLs; upload the data itself"
            )
        if root:
            raise UnsupportedFormatError(
                f"{file}: XML with root element <{root}> is not KML; accepted: {_SUPPORTED}"
            )
        raise UnsupportedFormatError(f"{file}: unreadable XML; accepted: {_SUPPORTED}")
    if b"\x00" in head[:8192]:
        raise UnsupportedFormatError(
            f"{file}: binary content of an unknown kind; accepted: {_SUPPORTED}"
        )
    return "csv"
