"""Column-mapping files: which source column feeds which minemap field.

Two forms, chosen by content:

- TOML with a ``[columns]`` table: ``"Kind of hazard" = "hazard_type"``;
- plain text, one ``SRC=DST`` per line; blank lines and ``#`` comments ignored.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from minemap._errors import UploadError

__all__ = ["read_mapping_file"]

_MAX_BYTES = 1_000_000


def read_mapping_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a column-mapping file; every malformed line is named in one error.

    Parameters
    ----------
    path
        A ``.toml`` file with a ``[columns]`` table, or a text file of ``SRC=DST`` lines.

    Returns
    -------
    dict
        Source column → minemap field, in file order.

    Raises
    ------
    UploadError
        The file is missing, too large, not UTF-8, or has malformed entries (all listed).
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UploadError(f"mapping file {file}: cannot be read ({exc.strerror})") from None
    if len(raw) > _MAX_BYTES:
        raise UploadError(f"mapping file {file}: larger than {_MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(f"mapping file {file}: not UTF-8 text") from None
    if "[columns]" in text:
        try:
            table = tomllib.loads(text).get("columns", {})
        except tomllib.TOMLDecodeError as exc:
            raise UploadError(f"mapping file {file}: not valid TOML ({exc})") from None
        bad = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise UploadError(
                f"mapping file {file}: [columns] values must be minemap field names; "
                f"not a field name for: {', '.join(repr(b) for b in bad)}"
            )
        return {str(k).strip(): v.strip() for k, v in table.items()}
    mapping: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        src, sep, dst = entry.partition("=")
        if not sep or not src.strip() or not dst.strip():
            problems.append(f"line {number}: expected SRC=DST, found {entry[:80]!r}")
            continue
        mapping[src.strip()] = dst.strip()
    if problems:
        raise UploadError(f"mapping file {file}: " + "; ".join(problems))
    return mapping
