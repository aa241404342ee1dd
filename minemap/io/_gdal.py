"""GeoPackage and zipped-Shapefile uploads, read by GDAL (pyogrio) under strict rules.

- The bytes are copied (GeoPackage) or extracted (Shapefile members, after
  :func:`minemap.io._safety.inspect_zip`) into a private temporary directory under fixed
  names (``upload.gpkg``, ``layer.shp``, ...); names from the upload never become paths.
- Only the drivers in :data:`minemap.io._safety.ALLOWED_GDAL_DRIVERS` may open them:
  pyogrio 0.13 cannot restrict the driver of a read, so the content is sniffed first
  (SQLite header / ``.shp`` magic, which no other vector driver claims), the driver GDAL
  actually chose is checked with ``read_info`` before any feature is read, and GDAL is
  locked down (:func:`minemap.io._safety.lock_down_gdal`).
- A GeoPackage's SQLite schema is inspected with Python's ``sqlite3`` (read-only,
  immutable) first: virtual tables other than the R-tree index, and SQL that could reach
  other files or the network (``VirtualOGR``, ``load_extension``, ``/vsi...``, URLs), are
  refused. Uploaded GeoPackages are opened read-only and never attached to the store.
- A zip without ``.shp`` but with a ``.kml`` member is a KMZ and is read as KML.
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from minemap._errors import UnsafeInputError, UnsupportedFormatError, UploadError
from minemap._report import Problem, Repair, Report
from minemap.io._safety import (
    ALLOWED_GDAL_DRIVERS,
    ZipMember,
    decode_text,
    extract_members,
    inspect_zip,
    private_dir,
    remove_dir,
)
from minemap.settings import Limits

__all__ = ["read_archive_or_gpkg"]

_SHP_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
_SHP_METADATA = frozenset(
    {".sbn", ".sbx", ".qix", ".fix", ".xml", ".qmd", ".qpj", ".aih", ".ain", ".atx", ".ixs"}
    | {".mxs", ".cst", ".shx", ".dbf", ".prj", ".cpg"}
)
_DENY_SQL = re.compile(
    r"virtualogr|load_extension|readfile|writefile|fts3_tokenizer|/vsi|https?://|ftp://|"
    r"file:|\bogr_|\battach\b|\bedit\s*\(",
    re.IGNORECASE,
)

Result = tuple[str, pd.DataFrame, np.ndarray, list[str], Report]


def read_archive_or_gpkg(
    data: bytes,
    fmt: str,
    *,
    file: str,
    limits: Limits,
    layer_name: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Read a GeoPackage (``fmt="gpkg"``) or a zip archive (``fmt="zip"``).

    Returns
    -------
    tuple
        ``(format, attributes, geometries, labels, report)``.
    """
    workdir = private_dir()
    try:
        if fmt == "gpkg":
            target = workdir / "upload.gpkg"
            target.write_bytes(data)
            layer = _check_gpkg(target, file=file, layer_name=layer_name)
            return ("gpkg", *_read_gdal(target, "GPKG", layer, file, limits, progress))
        archive = workdir / "upload.zip"
        archive.write_bytes(data)
        members = inspect_zip(archive, file=file, limits=limits)
        shps = [m for m in members if m.suffix == ".shp"]
        if not shps:
            kmls = [m for m in members if m.suffix == ".kml"]
            if kmls:
                return _read_kmz(archive, kmls, workdir, file, limits, layer_name, progress)
            names = ", ".join(m.name for m in members[:10]) or "nothing"
            raise UnsupportedFormatError(
                f"{file}: the zip archive holds no Shapefile (.shp) or KML (members: {names}); "
                "accepted: GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ or CSV"
            )
        shp = _choose_shapefile(shps, file=file, layer_name=layer_name)
        chosen = _sidecars(shp, members, file=file)
        extract_members(archive, [(m, f"layer{m.suffix}") for m in chosen], workdir, file=file)
        archive.unlink()
        target = workdir / "layer.shp"
        if not target.read_bytes()[:4] == b"\x00\x00\x27\x0a":
            raise UploadError(f"{file}: {shp.name!r} is not a Shapefile (.shp) file")
        has_prj = any(m.suffix == ".prj" for m in chosen)
        has_cpg = any(m.suffix == ".cpg" for m in chosen)
        repairs: list[Repair] = []
        encoding = None
        if not has_cpg:
            encoding = _dbf_encoding((workdir / "layer.dbf").read_bytes(), file, repairs)
        attrs, geoms, labels, report = _read_gdal(
            target,
            "ESRI Shapefile",
            None,
            file,
            limits,
            progress,
            has_prj=has_prj,
            encoding=encoding,
        )
        report.repairs[:0] = repairs
        used = {m.name for m in chosen}
        ignored = [
            m.name
            for m in members
            if m.name not in used and m.suffix not in _SHP_METADATA and m.suffix != ".shp"
        ]
        if ignored:
            report.warnings.append(
                Problem(
                    "file",
                    "file",
                    f"the archive also holds {', '.join(ignored[:10])}, which was not read",
                    "upload other data in its own file",
                )
            )
        return "shapefile", attrs, geoms, labels, report
    finally:
        remove_dir(workdir)


# --------------------------------------------------------------------------- GeoPackage


def _check_gpkg(path: Path, *, file: str, layer_name: str | None) -> str:
    uri = path.as_uri() + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            con.execute("PRAGMA trusted_schema=OFF")
            schema = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            names = {row[1] for row in schema}
            if "gpkg_contents" not in names:
                raise UnsupportedFormatError(
                    f"{file}: an SQLite database that is not a GeoPackage (no gpkg_contents)"
                )
            layers = [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' "
                    "ORDER BY table_name"
                )
            ]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UploadError(f"{file}: damaged GeoPackage ({exc})") from None
    for kind, name, sql in schema:
        text = sql or ""
        virtual = re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", text, re.IGNORECASE)
        if virtual and not re.search(r"USING\s+rtree\s*\(", text, re.IGNORECASE):
            raise UnsafeInputError(
                f"{file}: refused: the GeoPackage defines virtual table {name!r}, which can "
                "read other files; export the data to a plain GeoPackage"
            )
        if _DENY_SQL.search(text):
            raise UnsafeInputError(
                f"{file}: refused: the GeoPackage's {kind} {name!r} contains SQL that could "
                "read other files or URLs; export the data to a plain GeoPackage"
            )
    if not layers:
        raise UploadError(f"{file}: the GeoPackage holds no feature layer")
    if layer_name is not None:
        if layer_name not in layers:
            raise UploadError(
                f"{file}: no layer {layer_name!r} in the GeoPackage; its layers are: "
                f"{', '.join(layers)}"
            )
        return layer_name
    if len(layers) > 1:
        raise UploadError(
            f"{file}: the GeoPackage holds several layers: {', '.join(layers)}; "
            "choose one by name (--source-layer on the command line)"
        )
    return layers[0]


# --------------------------------------------------------------------------- Shapefile


def _choose_shapefile(shps: list[ZipMember], *, file: str, layer_name: str | None) -> ZipMember:
    if layer_name is not None:
        for m in shps:
            if m.stem == layer_name:
                return m
        raise UploadError(
            f"{file}: no Shapefile {layer_name!r} in the archive; it holds: "
            f"{', '.join(m.stem for m in shps)}"
        )
    if len(shps) > 1:
        raise UploadError(
            f"{file}: the archive holds several Shapefiles: {', '.join(m.stem for m in shps)}; "
            "choose one by name (layer_name)"
        )
    return shps[0]


def _sidecars(shp: ZipMember, members: list[ZipMember], *, file: str) -> list[ZipMember]:
    base = shp.name[: -len(".shp")].lower()
    found = {".shp": shp}
    for m in members:
        if m.suffix in _SHP_SIDECARS and m.name[: -len(m.suffix)].lower() == base:
            found[m.suffix] = m
    missing = [s for s in (".shx", ".dbf") if s not in found]
    if missing:
        raise UploadError(
            f"{file}: the Shapefile {shp.stem!r} lacks its {' and '.join(missing)} file(s); "
            "zip the .shp, .shx, .dbf and .prj together"
        )
    return list(found.values())


def _dbf_encoding(dbf: bytes, file: str, repairs: list[Repair]) -> str | None:
    """Encoding of a .dbf without .cpg whose header names none (language driver id 0).

    GDAL would then assume ISO-8859-1 and silently garble Cyrillic text, so the text bytes
    are checked: UTF-8 is used if they decode as UTF-8, Windows-1251 (with a record) if
    they are clearly Cyrillic; otherwise GDAL's default stands.
    """
    if len(dbf) < 32 or dbf[29] != 0:
        return None  # the header's language driver id tells GDAL the encoding
    body = dbf[32:]
    if all(b < 0x80 for b in body[: 1 << 20]) and max(body, default=0) < 0x80:
        return None
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    probe: list[Repair] = []
    try:
        decode_text(body.replace(b"\x00", b" "), file=file, repairs=probe)
    except UploadError:
        return None
    repairs.append(
        Repair(
            "file",
            "encoding",
            "the Shapefile's .dbf names no encoding (no .cpg) and its text reads as "
            "Windows-1251 (Cyrillic)",
            "decoded the attributes as Windows-1251",
        )
    )
    return "cp1251"


# --------------------------------------------------------------------------- GDAL read


def _read_gdal(
    path: Path,
    driver: str,
    layer: str | None,
    file: str,
    limits: Limits,
    progress: Callable[[int, int], None] | None,
    *,
    has_prj: bool = True,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], Report]:
    assert driver in ALLOWED_GDAL_DRIVERS
    report = Report(file=file, layer="")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attrs, geoms, labels, crs = _gdal_frame(
            path, driver, layer, file, limits, progress, encoding
        )
    seen: set[str] = set()
    for w in caught:
        text = _gdal_message(Exception(str(w.message)))
        if text not in seen:
            seen.add(text)
            report.warnings.append(
                Problem("file", "file", f"GDAL: {text}", "check the file in a GIS")
            )
    present = np.not_equal(geoms, None)
    if present.any():
        nverts = np.zeros(len(geoms), dtype=np.int64)
        nverts[present] = shapely.get_num_coordinates(geoms[present])
        if nverts.sum() > limits.max_vertices:
            raise UploadError(
                f"{file}: {int(nverts.sum()):,} vertices, over the limit max_vertices="
                f"{limits.max_vertices:,}"
            )
        for j in np.flatnonzero(nverts > limits.max_vertices_per_feature):
            report.errors.append(
                Problem(
                    labels[j],
                    "geometry",
                    f"{int(nverts[j]):,} vertices, over the limit max_vertices_per_feature="
                    f"{limits.max_vertices_per_feature:,}",
                    "simplify or split the feature",
                )
            )
            geoms[j] = None
        present = np.not_equal(geoms, None)
        has_z = np.zeros(len(geoms), dtype=bool)
        has_z[present] = shapely.has_z(geoms[present])
        if has_z.any():
            geoms[has_z] = shapely.force_2d(geoms[has_z])
            first = ", ".join(labels[j] for j in np.flatnonzero(has_z)[:5])
            report.repairs.append(
                Repair(
                    "file",
                    "geometry",
                    f"{int(has_z.sum())} feature(s) have 3-D/4-D positions (e.g. {first})",
                    "dropped the extra ordinates; kept longitude and latitude",
                )
            )
    geoms = _to_wgs84(geoms, crs, file=file, has_prj=has_prj, report=report, labels=labels)
    return attrs, geoms, labels, report


def _gdal_frame(
    path: Path,
    driver: str,
    layer: str | None,
    file: str,
    limits: Limits,
    progress: Callable[[int, int], None] | None,
    encoding: str | None,
) -> tuple[pd.DataFrame, np.ndarray, list[str], CRS | None]:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise UploadError(f"{file}: damaged {driver} file ({_gdal_message(exc)})") from None
    if info.get("driver") != driver:
        raise UnsafeInputError(
            f"{file}: refused: GDAL would open this file with the {info.get('driver')!r} "
            f"driver; only {driver!r} is allowed here"
        )
    count = int(info.get("features") or 0)
    if count > limits.max_features:
        raise UploadError(
            f"{file}: {count:,} features, over the limit max_features={limits.max_features:,}"
        )
    if progress is not None:
        progress(0, count)
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, encoding=encoding)
    except Exception as exc:
        raise UploadError(f"{file}: cannot read the {driver} data ({_gdal_message(exc)})") from None
    if progress is not None:
        progress(count, count)
    labels = [f"feature {fid}" for fid in gdf.index]
    gdf = gdf.reset_index(drop=True)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return attrs, geoms, labels, gdf.crs


def _to_wgs84(
    geoms: np.ndarray,
    crs: CRS | None,
    *,
    file: str,
    has_prj: bool,
    report: Report,
    labels: list[str],
) -> np.ndarray:
    present = np.not_equal(geoms, None)
    bounds = shapely.total_bounds(geoms[present]) if present.any() else np.full(4, np.nan)
    lonlat_like = (
        bool(
            np.isfinite(bounds).all()
            and -180 <= bounds[0] <= bounds[2] <= 180
            and -90 <= bounds[1] <= bounds[3] <= 90
        )
        or not present.any()
    )
    if crs is None:
        what = "no .prj file" if not has_prj else "no coordinate reference system"
        if lonlat_like:
            report.warnings.append(
                Problem(
                    "file",
                    "crs",
                    f"{what}; the coordinates look like longitude/latitude, so WGS84 "
                    "(EPSG:4326) is assumed",
                    "include the .prj file to be sure",
                )
            )
            return geoms
        raise UploadError(
            f"{file}: {what}, and the coordinates (bounds {', '.join(f'{b:.1f}' for b in bounds)}) "
            "are not longitude/latitude; include the .prj file (the coordinate system)"
        )
    try:
        src = CRS.from_user_input(crs)
        if src.equals(CRS.from_epsg(4326), ignore_axis_order=True):
            return geoms
        epsg = src.to_epsg()
        name = f"EPSG:{epsg}" if epsg is not None else f"the CRS {src.name[:80]!r}"
        series = gpd.GeoSeries(geoms, crs=src).to_crs(4326)
    except Exception as exc:  # pyproj raises several error kinds for unusable CRSs
        raise UploadError(
            f"{file}: the coordinates cannot be transformed from the file's coordinate "
            f"system to WGS84 ({str(exc)[:120]}); export the data in EPSG:4326"
        ) from None
    out = np.asarray(series.array, dtype=object)
    moved = np.not_equal(out, None)
    if moved.any():
        bounds = shapely.bounds(out[moved])
        bad = np.flatnonzero(moved)[
            ~np.isfinite(bounds).all(axis=1) & ~shapely.is_empty(out[moved])
        ]
        for j in bad:
            report.errors.append(
                Problem(
                    labels[j],
                    "geometry",
                    f"coordinates cannot be transformed from {name} to WGS84",
                    f"check that the coordinates really are in {name}",
                )
            )
            out[j] = None
    report.repairs.append(
        Repair(
            "file",
            "geometry",
            f"coordinates are in {name}" + (f" ({src.name})" if epsg is not None else ""),
            f"reprojected {int(present.sum())} feature(s) to EPSG:4326 (WGS84 lon/lat)",
        )
    )
    return out


def _gdal_message(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    # never echo our private temp path
    text = re.sub(r"/[^\s'\"]*minemap-upload-[^\s'\"]*", "<upload>", text)
    return text[:200]


# --------------------------------------------------------------------------- KMZ


def _read_kmz(
    archive: Path,
    kmls: list[ZipMember],
    workdir: Path,
    file: str,
    limits: Limits,
    layer_name: str | None,
    progress: Callable[[int, int], None] | None,
) -> Result:
    from minemap.io._kml import read_kml

    doc = next((m for m in kmls if m.name.lower() == "doc.kml"), None)
    if doc is None:
        if len(kmls) > 1:
            raise UploadError(
                f"{file}: the KMZ holds several KML files and no doc.kml: "
                f"{', '.join(m.name for m in kmls)}"
            )
        doc = kmls[0]
    extract_members(archive, [(doc, "doc.kml")], workdir, file=file)
    data = (workdir / "doc.kml").read_bytes()
    attrs, geoms, labels, report = read_kml(
        data, file=file, limits=limits, layer_name=layer_name, progress=progress
    )
    return "kml", attrs, geoms, labels, report
