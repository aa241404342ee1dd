"""All file access of minemap: safe reading of uploads and export of layers.

- :func:`read_upload` reads GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ and CSV
  uploads (format detected from content), treating every upload as hostile: strict
  JSON/XML parsing, zip checks before extraction, GDAL locked down and restricted to an
  allow-list of drivers, limits from :class:`minemap.settings.Limits`. It returns a
  :class:`ReadResult` whose report records every detection and repair.
- :func:`read_mapping_file` reads a column-mapping file (``--map-file``).
- :func:`write_layer` exports a layer to ``.gpkg``, ``.geojson``, ``.parquet`` or ``.csv``.

See ``docs/io.md`` for formats, limits and what is detected, repaired or rejected.
"""

from __future__ import annotations

from minemap.io._export import EXPORT_SUFFIXES, write_layer
from minemap.io._mapping import read_mapping_file
from minemap.io._read import ReadResult, read_upload
from minemap.io._safety import ALLOWED_GDAL_DRIVERS

__all__ = [
    "ALLOWED_GDAL_DRIVERS",
    "EXPORT_SUFFIXES",
    "ReadResult",
    "read_mapping_file",
    "read_upload",
    "write_layer",
]
