"""The store: where accepted layers live, one all-or-nothing batch per imported file.

The default backend is one GeoPackage file (:class:`GeoPackageStore`) that QGIS and
``ogrinfo`` open; every backend implements :class:`Store` with the same guarantees
(see ``docs/store.md``). Uploaded files never come here: ``minemap.io`` reads them.
"""

from __future__ import annotations

import os

from minemap._errors import StoreError
from minemap.settings import resolve_store_path
from minemap.store._base import (
    BatchRecord,
    BatchStatus,
    DuplicateImportError,
    LoginAttempt,
    SessionRecord,
    Store,
    UserRecord,
)
from minemap.store._gpkg import SCHEMA_VERSION, GeoPackageStore

__all__ = [
    "POSTGIS_SCHEMES",
    "SCHEMA_VERSION",
    "BatchRecord",
    "BatchStatus",
    "DuplicateImportError",
    "GeoPackageStore",
    "LoginAttempt",
    "SessionRecord",
    "Store",
    "StoreError",
    "UserRecord",
    "open_store",
]


POSTGIS_SCHEMES = ("postgresql", "postgres")
"""URL schemes that select the PostGIS store."""


def open_store(path: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open (or create) the minemap store.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The store location: a ``.gpkg`` file, or a ``postgresql://`` URL for the
        PostGIS store (needs ``pip install 'minemap[postgis]'``). ``None`` resolves
        ``--store``/``$MINEMAP_STORE``/``./minemap.gpkg`` through
        :func:`minemap.settings.resolve_store_path`.
    create : bool, default True
        Create a new, empty store when nothing exists at ``path``.

    Returns
    -------
    Store
        A :class:`GeoPackageStore`, or a ``PostGISStore`` for a URL.

    Raises
    ------
    StoreError
        ``path`` is not a minemap store, or does not exist and ``create`` is
        False, or names a backend this minemap does not have.
    """
    location = resolve_store_path(path)
    if "://" in location:
        scheme = location.split("://", 1)[0].lower()
        if scheme in POSTGIS_SCHEMES:
            from minemap.store._postgis import PostGISStore  # psycopg only when asked for

            return PostGISStore(location, create=create)
        raise StoreError(
            f"store backend {scheme!r} is not available (give a .gpkg path or a "
            "postgresql://user@host/database URL)"
        )
    return GeoPackageStore(location, create=create)
