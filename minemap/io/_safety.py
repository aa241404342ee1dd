"""Guards every upload passes before any parser or GDAL driver sees it.

Uploads are hostile until proven otherwise. This module holds the checks that do not
depend on the format's meaning:

- :func:`lock_down_gdal` sets GDAL/PROJ options so that a dataset can neither fetch a URL
  nor list or read files it was not handed (called once, before any GDAL open);
- :func:`check_path` refuses GDAL virtual-file syntax and over-size files;
- :func:`decode_text` decides the text encoding explicitly (UTF-8, UTF-8 with BOM,
  clearly-Windows-1251) and records what it did;
- :func:`load_json` parses JSON with NaN/Infinity, duplicate member names and excessive
  nesting refused;
- :func:`parse_xml` parses XML with DTDs, entities and external references refused;
- :func:`inspect_zip` checks every member of an archive (traversal, absolute paths,
  symlinks, nested archives, encryption, member count, uncompressed size and ratio)
  *before* anything is extracted, and :func:`extract_members` then copies the chosen
  members, under fixed names chosen by minemap, into a private directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from minemap._errors import UnsafeInputError, UploadError
from minemap._report import Repair
from minemap.settings import Limits

__all__ = [
    "ALLOWED_GDAL_DRIVERS",
    "ZipMember",
    "check_path",
    "decode_text",
    "extract_members",
    "inspect_zip",
    "json_depth",
    "load_json",
    "lock_down_gdal",
    "parse_xml",
]

ALLOWED_GDAL_DRIVERS: frozenset[str] = frozenset({"GPKG", "ESRI Shapefile"})
"""The only GDAL drivers that may ever open an upload (GeoJSON, CSV and KML are parsed by
minemap itself, so that no GDAL driver with network or file-reference features touches them)."""

_GDAL_LOCKDOWN: dict[str, str] = {
    # /vsicurl/ and friends: allow no extension at all, so no URL can be fetched
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".minemap-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "CPL_CURL_ENABLE_VSIMEM": "NO",
    # never list directories next to an opened file (sidecar discovery)
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # GeoPackage: no OGR SQL functions (which can open other datasets) from views/triggers
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    # VRT: no Python pixel functions, no opening of other sources (VRT is not allow-listed anyway)
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    # GeoJSON/KML drivers never open uploads, but lock them too in case a caller does
    "OGR_GEOJSON_MAX_OBJ_SIZE": "200MB",
    "LIBKML_RESOLVE_STYLE": "NO",
    "LIBKML_EXTERNAL_STYLE": "NO",
    "GDAL_PAM_ENABLED": "NO",
}

_locked = False


def lock_down_gdal() -> None:
    """Configure GDAL and PROJ so that no dataset can reach the network or other files.

    Idempotent; called by :func:`minemap.io.read_upload` before any GDAL open. The options
    are process-wide, which is intended: minemap never needs GDAL network access.
    """
    global _locked
    if _locked:
        return
    import pyogrio
    from pyproj import network

    pyogrio.set_gdal_config_options(dict(_GDAL_LOCKDOWN))
    network.set_network_enabled(active=False)
    _locked = True


_VSI = re.compile(r"^\s*/?vsi[a-z0-9_]*[/:]|^[a-z][a-z0-9+.-]*://|^[A-Z_]+:", re.IGNORECASE)


def check_path(path: str | os.PathLike[str], *, file: str, limits: Limits) -> Path:
    """Refuse GDAL virtual-file/URL syntax, non-regular files and over-size files.

    Parameters
    ----------
    path
        Where the upload was saved (chosen by the caller, not by the uploader).
    file
        Display name for messages.
    limits
        Upload limits (``max_file_bytes``).

    Returns
    -------
    pathlib.Path
        The checked path.
    """
    text = os.fspath(path)
    is_windows_drive = re.match(r"^[A-Za-z]:[\\/]", text) is not None
    if _VSI.match(text) and not is_windows_drive:
        raise UnsafeInputError(
            f"{file}: refused: {text!r} is a GDAL virtual-file path or URL; "
            "minemap reads only plain local files"
        )
    p = Path(text)
    try:
        st = p.stat()
    except OSError as exc:
        raise UploadError(f"{file}: cannot open the file ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UploadError(f"{file}: not a regular file")
    if st.st_size > limits.max_file_bytes:
        raise UploadError(
            f"{file}: {st.st_size:,} bytes is over the upload limit max_file_bytes="
            f"{limits.max_file_bytes:,}; split the file or ask an administrator to raise it"
        )
    if st.st_size == 0:
        raise UploadError(f"{file}: the file is empty")
    return p


# --------------------------------------------------------------------------- text encodings

_UKR_RUS = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"[A-Za-z\u0400-\u04ff]+")


def decode_text(data: bytes, *, file: str, repairs: list[Repair]) -> str:
    """Decode uploaded text: UTF-8 (a BOM is removed), or clearly Windows-1251.

    Windows-1251 is accepted only when the bytes are not UTF-8, at least 90 % of the
    non-ASCII characters they decode to are Cyrillic letters and (almost) no word mixes
    Latin and Cyrillic letters (Latin-1 text such as ``café`` read as Windows-1251 gives
    ``cafй``); the transcoding is recorded as a :class:`Repair`. UTF-16/UTF-32 and
    anything else are refused.

    Parameters
    ----------
    data
        The raw bytes.
    file
        Display name for messages.
    repairs
        Receives a record of the BOM removal or transcoding.

    Returns
    -------
    str
        The text, without BOM.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadError(
            f"{file}: the file is UTF-16/UTF-32 encoded; save it as UTF-8 and upload again"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        repairs.append(Repair("file", "encoding", "UTF-8 byte-order mark (BOM)", "removed the BOM"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if b"\x00" not in data:
        text = data.decode("cp1251", errors="replace")
        non_ascii = [c for c in text if ord(c) > 127]
        cyrillic = sum(1 for c in non_ascii if _UKR_RUS.match(c))
        words = _WORD.findall(text)
        cyr_words = [w for w in words if _UKR_RUS.search(w)]
        mixed = [w for w in cyr_words if re.search(r"[A-Za-z]", w)]
        if (
            non_ascii
            and cyrillic >= 0.9 * len(non_ascii)
            and "\ufffd" not in text
            and len(mixed) <= 0.05 * len(cyr_words)
        ):
            repairs.append(
                Repair(
                    "file",
                    "encoding",
                    "the file is not UTF-8; its bytes read as Windows-1251 (Cyrillic) text",
                    "decoded as Windows-1251",
                )
            )
            return text
    raise UploadError(
        f"{file}: the file is not valid UTF-8 (byte {utf8_error.start}) and not recognisably "
        "Windows-1251; save it as UTF-8 and upload again"
    )


# --------------------------------------------------------------------------- JSON


def json_depth(text: str | bytes) -> int:
    """Deepest nesting of ``[``/``{`` in a JSON text, ignoring brackets inside strings.

    Vectorised (numpy) so that it costs a fraction of the parse itself.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    # drop escaped backslashes, then escaped quotes: every remaining '"' delimits a string
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    arr = np.frombuffer(raw, dtype=np.uint8)
    quotes = np.flatnonzero(arr == 0x22)
    opens = (arr == 0x5B) | (arr == 0x7B)
    closes = (arr == 0x5D) | (arr == 0x7D)
    pos = np.flatnonzero(opens | closes)
    if pos.size == 0:
        return 0
    outside = np.searchsorted(quotes, pos) % 2 == 0
    pos = pos[outside]
    delta = np.where(opens[pos], 1, -1).astype(np.int32)
    return int(np.cumsum(delta).max(initial=0))


class _DuplicateKeyError(ValueError):
    pass


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return out


def _refuse_constant(name: str) -> Any:
    raise UnsafeInputError(
        f"{name} is not a number in JSON (RFC 8259); replace it with a real value or null"
    )


def load_json(text: str, *, file: str, limits: Limits, raw: bytes | None = None) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no duplicate member names, bounded nesting.

    Parameters
    ----------
    text
        Decoded JSON text.
    file
        Display name for messages.
    limits
        ``max_json_depth`` bounds the nesting.
    raw
        The undecoded bytes, if at hand: the depth scan then skips re-encoding ``text``
        (brackets, quotes and backslashes are the same bytes in UTF-8 and Windows-1251).

    Returns
    -------
    object
        The parsed document.
    """
    depth = json_depth(raw if raw is not None else text)
    if depth > limits.max_json_depth:
        raise UnsafeInputError(
            f"{file}: JSON nested {depth} levels deep, over the limit max_json_depth="
            f"{limits.max_json_depth}"
        )
    try:
        return json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_refuse_constant)
    except UnsafeInputError as exc:
        raise UnsafeInputError(f"{file}: {exc}") from None
    except _DuplicateKeyError as exc:
        raise UnsafeInputError(
            f"{file}: JSON member name {str(exc)!r} appears twice in one object; "
            "duplicate names are ambiguous — keep one"
        ) from None
    except json.JSONDecodeError as exc:
        raise UploadError(
            f"{file}: damaged JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise UnsafeInputError(f"{file}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise UploadError(f"{file}: unreadable JSON ({str(exc)[:120]})") from None


# --------------------------------------------------------------------------- XML


def parse_xml(data: bytes, *, file: str) -> Any:
    """Parse XML with :mod:`defusedxml`: DTDs, entity declarations and external references
    are refused (:class:`UnsafeInputError`); malformed XML is an :class:`UploadError`.

    Returns
    -------
    xml.etree.ElementTree.Element
        The root element.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeInputError(
            f"{file}: refused: the XML declares a DTD, entities or external references "
            f"({type(exc).__name__}); KML files never need these — export the file again"
        ) from None
    except ParseError as exc:
        raise UploadError(f"{file}: damaged XML: {exc}") from None


# --------------------------------------------------------------------------- zip archives

_ARCHIVE_SUFFIXES = (
    ".zip",
    ".kmz",
    ".gz",
    ".tgz",
    ".tar",
    ".bz2",
    ".xz",
    ".7z",
    ".rar",
    ".zst",
    ".lz",
    ".cab",
    ".jar",
)


@dataclass(frozen=True, slots=True)
class ZipMember:
    """A checked archive member: its name in the archive and its sizes."""

    name: str
    file_size: int
    compress_size: int

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name.replace("\\", "/")).suffix.lower()

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name.replace("\\", "/")).stem


def _unsafe_name(name: str) -> str | None:
    if not name or "\x00" in name:
        return "an empty or NUL-containing member name"
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return f"an absolute path ({name!r})"
    parts = re.split(r"[\\/]+", name)
    if any(part == ".." for part in parts):
        return f"a path that climbs out of the archive ({name!r})"
    return None


def inspect_zip(path: Path, *, file: str, limits: Limits) -> list[ZipMember]:
    """Check every member of a zip archive without extracting anything.

    Refuses path traversal, absolute paths, symlinks, nested archives, encrypted members,
    duplicate names, more than ``limits.max_zip_members`` members, a total uncompressed
    size over ``limits.max_uncompressed_bytes`` and an uncompressed/compressed ratio over
    ``limits.max_compression_ratio`` (for the archive and for each member).

    Returns
    -------
    list of ZipMember
        The regular-file members (directories are skipped).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError(f"{file}: damaged zip archive ({exc})") from None
    if len(infos) > limits.max_zip_members:
        raise UnsafeInputError(
            f"{file}: the archive has {len(infos)} members, over the limit "
            f"max_zip_members={limits.max_zip_members}"
        )
    members: list[ZipMember] = []
    seen: set[str] = set()
    total = 0
    total_compressed = 0
    for info in infos:
        reason = _unsafe_name(info.filename)
        if reason:
            raise UnsafeInputError(f"{file}: refused: the archive contains {reason}")
        mode = (info.external_attr >> 16) & 0xFFFF
        if stat.S_ISLNK(mode):
            raise UnsafeInputError(
                f"{file}: refused: archive member {info.filename!r} is a symbolic link"
            )
        if info.flag_bits & 0x1:
            raise UploadError(f"{file}: archive member {info.filename!r} is encrypted")
        if info.is_dir():
            continue
        lowered = info.filename.lower()
        if lowered.endswith(_ARCHIVE_SUFFIXES):
            raise UnsafeInputError(
                f"{file}: refused: the archive contains another archive ({info.filename!r}); "
                "upload the inner files in one zip"
            )
        if lowered in seen:
            raise UnsafeInputError(f"{file}: refused: member {info.filename!r} appears twice")
        seen.add(lowered)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise UnsafeInputError(
                f"{file}: refused: member {info.filename!r} expands {ratio:,.0f}-fold, over "
                f"the limit max_compression_ratio={limits.max_compression_ratio:g} (zip bomb?)"
            )
        total += info.file_size
        total_compressed += info.compress_size
        members.append(ZipMember(info.filename, info.file_size, info.compress_size))
    if total > limits.max_uncompressed_bytes:
        raise UnsafeInputError(
            f"{file}: refused: the archive expands to {total:,} bytes, over the limit "
            f"max_uncompressed_bytes={limits.max_uncompressed_bytes:,}"
        )
    ratio = total / max(total_compressed, 1)
    if total > 1024 * 1024 and ratio > limits.max_compression_ratio:
        raise UnsafeInputError(
            f"{file}: refused: the archive expands {ratio:,.0f}-fold, over the limit "
            f"max_compression_ratio={limits.max_compression_ratio:g} (zip bomb?)"
        )
    return members


def extract_members(
    path: Path,
    members: Iterable[tuple[ZipMember, str]],
    dest: Path,
    *,
    file: str,
) -> None:
    """Extract checked members to ``dest`` under fixed names chosen by minemap.

    Each ``(member, internal_name)`` pair is copied as ``dest / internal_name``; the
    member's own name is never used as a path. The copy stops with an
    :class:`UnsafeInputError` if a member yields more bytes than its header declared.
    """
    with zipfile.ZipFile(path) as zf:
        for member, internal in members:
            if "/" in internal or "\\" in internal or internal.startswith("."):
                raise ValueError(f"internal name {internal!r} must be a plain file name")
            target = dest / internal
            written = 0
            with zf.open(member.name) as src, open(target, "xb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > member.file_size:
                        raise UnsafeInputError(
                            f"{file}: refused: archive member {member.name!r} is larger than "
                            "its header declares"
                        )
                    out.write(chunk)


def private_dir() -> Path:
    """A fresh private (0700) temporary directory; the caller removes it."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="minemap-upload-"))


def remove_dir(path: Path) -> None:
    """Remove a private temporary directory made by :func:`private_dir`."""
    shutil.rmtree(path, ignore_errors=True)
