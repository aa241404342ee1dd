"""The store: where accepted layers live, one all-or-nothing batch per imported file.

The default backend is one GeoPackage file (:class:`GeoPackageStore`) that QGIS and
``ogrinfo`` open; every backend implements :class:`Store` with the same guarantees
(see ``docs/store.md``). Uploaded files never come here: ``minemap.io`` reads them.
"""

from __future__ import annotations

import os

from minemap._errors import StoreError
from minemap.settings import resolve_store_path
from minemap.store._base import BatchRecord, BatchStatus, DuplicateImportError, Store
from minemap.store._gpkg import SCHEMA_VERSION, GeoPackageStore

__all__ = [
    "SCHEMA_VERSION",
    "BatchRecord",
    "BatchStatus",
    "DuplicateImportError",
    "GeoPackageStore",
    "Store",
    "StoreError",
    "open_store",
]


def open_store(
    path: str | os.PathLike[str] | None = None, *, create: bool = True
) -> GeoPackageStore:
    """Open (or create) the minemap store.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The store location. ``None`` resolves ``--store``/``$MINEMAP_STORE``/
        ``./minemap.gpkg`` through :func:`minemap.settings.resolve_store_path`.
    create : bool, default True
        Create a new, empty store when nothing exists at ``path``.

    Returns
    -------
    GeoPackageStore

    Raises
    ------
    StoreError
        ``path`` is not a minemap store, or does not exist and ``create`` is
        False, or names a backend this minemap does not have.
    """
    location = resolve_store_path(path)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise StoreError(
            f"store backend {scheme!r} is not available yet (only GeoPackage files); "
            "give a .gpkg path"
        )
    return GeoPackageStore(location, create=create)
