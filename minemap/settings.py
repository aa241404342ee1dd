"""Named defaults in one place: area of operations, CRSs, upload limits, store location.

Change behaviour through keyword arguments and CLI options; these are only the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AREA_CRS",
    "DEFAULT_AOI",
    "DEFAULT_LIMITS",
    "DEFAULT_STORE",
    "STORAGE_CRS",
    "UKRAINE_AOI",
    "AreaOfOperations",
    "Limits",
    "resolve_store_path",
]

STORAGE_CRS = "EPSG:4326"
"""Every layer is stored and exchanged in WGS84 lon/lat (RFC 7946 axis order)."""

AREA_CRS = "EPSG:3035"
"""ETRS89-LAEA Europe: equal-area CRS used for every area in m² (checked against geodesic area)."""

DEFAULT_STORE = Path("minemap.gpkg")
STORE_ENV = "MINEMAP_STORE"


@dataclass(frozen=True, slots=True)
class AreaOfOperations:
    """A lon/lat bounding box features must fall in (``minlon, minlat, maxlon, maxlat``)."""

    minlon: float
    minlat: float
    maxlon: float
    maxlat: float
    name: str = "custom"

    def __post_init__(self) -> None:
        if not (
            -180 <= self.minlon < self.maxlon <= 180 and -90 <= self.minlat < self.maxlat <= 90
        ):
            raise ValueError(
                f"area of operations {self.bounds} is not a lon/lat box "
                "(minlon,minlat,maxlon,maxlat with min < max, within ±180/±90)"
            )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.minlon, self.minlat, self.maxlon, self.maxlat)

    @classmethod
    def parse(cls, text: str) -> AreaOfOperations:
        """Parse ``"minlon,minlat,maxlon,maxlat"`` (as given to ``--aoi``)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"--aoi needs four numbers minlon,minlat,maxlon,maxlat; got {text!r}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"--aoi needs four numbers minlon,minlat,maxlon,maxlat; got {text!r}"
            ) from None
        return cls(*values)


UKRAINE_AOI = AreaOfOperations(22.0, 44.0, 40.5, 52.5, name="Ukraine")
"""Ukraine's bounding box with a small margin (OSM outline: 22.13–40.23 E, 44.38–52.38 N)."""

DEFAULT_AOI = UKRAINE_AOI


@dataclass(frozen=True, slots=True)
class Limits:
    """Upload limits. A file over any of them is refused with the limit named."""

    max_file_bytes: int = 200 * 1024 * 1024
    """Largest upload accepted, compressed size (200 MiB)."""
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    """Largest total uncompressed size of a zip archive (1 GiB)."""
    max_compression_ratio: float = 100.0
    """Largest uncompressed/compressed ratio of a zip archive (zip-bomb guard)."""
    max_zip_members: int = 64
    max_features: int = 2_000_000
    max_vertices: int = 50_000_000
    """Total vertices in one file."""
    max_vertices_per_feature: int = 1_000_000
    max_json_depth: int = 64
    max_text_length: int = 2_000
    """Longest text value in any field (longer text is rejected, never truncated)."""


DEFAULT_LIMITS = Limits()


def resolve_store_path(store: str | os.PathLike[str] | None = None) -> str:
    """Where the store is: ``store`` if given, else ``$MINEMAP_STORE``, else ``./minemap.gpkg``."""
    if store:
        return os.fspath(store)
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    return os.fspath(DEFAULT_STORE)
