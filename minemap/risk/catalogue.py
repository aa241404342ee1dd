"""The munition catalogue: munition type → submunitions, footprint radius, dud-rate range.

The figures live in a data file shipped with the package (``minemap/risk/data/munitions.toml``),
not in code: each figure carries its source, and a user can pass their own file to
:func:`load_catalogue`.

Free text such as ``"Смерч (9М55К)"`` or ``"rbk-500 with PTAB-1M"`` is matched with
:func:`match_munition` / :func:`match_munitions`:

1. The text and every alias are *folded*: lower-cased, every character that is not a letter or a
   digit removed (spaces, hyphens, dots, commas, "№"), and Cyrillic letters that look like Latin
   ones replaced by the Latin letter (``"9М55К"`` written with Cyrillic М and К folds to
   ``"9m55k"``).
2. The entry whose folded alias is the **longest** one contained in the folded text wins; on a
   tie the entry listed first in the file wins (specific variants come before generic ones).
3. No alias contained → no match (``None``). Callers use the documented ``default`` entry (or
   ``default_cluster`` for records flagged as cluster munitions) and **report** the text as
   unmatched; nothing is silently dropped.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from minemap._errors import ConfigError

__all__ = [
    "DEFAULT_CLUSTER_KEY",
    "DEFAULT_KEY",
    "MunitionCatalogue",
    "MunitionEntry",
    "fold_text",
    "load_catalogue",
    "match_munition",
    "match_munitions",
]

DEFAULT_KEY = "default"
"""Catalogue key used for unmatched or non-cluster munition types."""
DEFAULT_CLUSTER_KEY = "default_cluster"
"""Catalogue key used for unmatched types on records flagged as cluster munitions."""

_REQUIRED = {
    "name": str,
    "aliases": list,
    "cluster": bool,
    "submunitions": int,
    "footprint_radius_m": (int, float),
    "dud_rate_low": (int, float),
    "dud_rate_high": (int, float),
    "source_submunitions": str,
    "source_footprint": str,
    "source_dud_rate": str,
}

# Cyrillic letters that are commonly typed in place of look-alike Latin ones (both cases are
# lower-cased first). Folding both the text and the aliases makes "9М55К" (Cyrillic) == "9M55K".
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
    }
)


def fold_text(text: str) -> str:
    """Fold free text for matching: lower case, letters/digits only, Cyrillic look-alikes → Latin.

    Examples
    --------
    >>> fold_text("9М55К")  # Cyrillic М and К
    '9m55k'
    >>> fold_text(" RBK-500 / ptab ")
    'rbk500ptab'
    >>> fold_text("")
    ''
    """
    lowered = text.lower().translate(_HOMOGLYPHS)
    return "".join(ch for ch in lowered if ch.isalnum())


@dataclass(frozen=True, slots=True)
class MunitionEntry:
    """One munition type of the catalogue.

    ``source`` maps each figure (``submunitions``, ``footprint``, ``dud_rate``) to its source.
    """

    key: str
    name: str
    aliases: tuple[str, ...]
    cluster: bool
    submunitions: int
    footprint_radius_m: float
    dud_rate_low: float
    dud_rate_high: float
    source: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True)
class MunitionCatalogue:
    """The munition types, in file order, with alias matching.

    Attributes
    ----------
    entries : dict[str, MunitionEntry]
        Key → entry, in the order of the file (the order breaks ties between aliases).
    version : str
        ``catalogue_version`` of the file.
    path : str
        Where the catalogue was read from.
    """

    entries: dict[str, MunitionEntry]
    version: str
    path: str

    def __post_init__(self) -> None:
        # (folded alias, order, key), longest alias first, then file order.
        table = []
        for order, entry in enumerate(self.entries.values()):
            for alias in (*entry.aliases, entry.key):
                folded = fold_text(alias)
                if folded:
                    table.append((folded, order, entry.key))
        table.sort(key=lambda t: (-len(t[0]), t[1]))
        object.__setattr__(self, "_aliases", tuple(table))

    def __getitem__(self, key: str) -> MunitionEntry:
        return self.entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def default(self) -> MunitionEntry:
        """The entry used for unmatched / non-cluster types."""
        return self.entries[DEFAULT_KEY]

    @property
    def default_cluster(self) -> MunitionEntry:
        """The entry used for unmatched types of records flagged as cluster munitions."""
        return self.entries[DEFAULT_CLUSTER_KEY]

    def match(self, text: object) -> MunitionEntry | None:
        """The entry whose alias best matches ``text`` (see module docstring); ``None`` if none.

        Examples
        --------
        >>> cat = load_catalogue()
        >>> cat.match("Смерч").key
        '9m55k'
        >>> cat.match(None) is None
        True
        """
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        folded = fold_text(str(text))
        if not folded:
            return None
        best: tuple[int, int, int, str] | None = None  # (-len, order, position, key)
        for alias, order, key in self._aliases:  # type: ignore[attr-defined]
            if best is not None and len(alias) < -best[0]:
                break  # sorted by length: nothing longer can follow
            pos = folded.find(alias)
            if pos >= 0:
                cand = (-len(alias), order, pos, key)
                if best is None or cand < best:
                    best = cand
        return None if best is None else self.entries[best[3]]


def _parse(data: dict, path: str) -> MunitionCatalogue:
    problems: list[str] = []
    raw = data.get("munitions")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{path}: no [munitions.<key>] tables found")
    entries: dict[str, MunitionEntry] = {}
    for key, table in raw.items():
        if not isinstance(table, dict):
            problems.append(f"[munitions.{key}] is not a table")
            continue
        bad = False
        for name, kind in _REQUIRED.items():
            if name not in table:
                problems.append(f"[munitions.{key}] has no {name!r}")
                bad = True
            elif not isinstance(table[name], kind) or (
                kind is not bool and isinstance(table[name], bool)
            ):
                problems.append(f"[munitions.{key}] {name!r} has the wrong type")
                bad = True
        if bad:
            continue
        low, high = float(table["dud_rate_low"]), float(table["dud_rate_high"])
        if not 0.0 <= low <= high <= 1.0:
            problems.append(
                f"[munitions.{key}] dud rates must satisfy 0 <= low <= high <= 1 "
                f"(got {low}, {high})"
            )
        if table["submunitions"] < 0:
            problems.append(f"[munitions.{key}] submunitions must be >= 0")
        if not table["footprint_radius_m"] > 0:
            problems.append(f"[munitions.{key}] footprint_radius_m must be > 0")
        if not all(isinstance(a, str) for a in table["aliases"]):
            problems.append(f"[munitions.{key}] aliases must be strings")
            continue
        entries[key] = MunitionEntry(
            key=key,
            name=table["name"],
            aliases=tuple(table["aliases"]),
            cluster=table["cluster"],
            submunitions=int(table["submunitions"]),
            footprint_radius_m=float(table["footprint_radius_m"]),
            dud_rate_low=low,
            dud_rate_high=high,
            source={
                "submunitions": table["source_submunitions"],
                "footprint": table["source_footprint"],
                "dud_rate": table["source_dud_rate"],
            },
        )
    for needed in (DEFAULT_KEY, DEFAULT_CLUSTER_KEY):
        if needed not in raw:
            problems.append(f"no [munitions.{needed}] entry (used for unmatched types)")
    if problems:
        raise ConfigError(f"{path}: invalid munition catalogue: " + "; ".join(problems))
    return MunitionCatalogue(entries, str(data.get("catalogue_version", "unversioned")), path)


@lru_cache(maxsize=1)
def _default_catalogue() -> MunitionCatalogue:
    ref = resources.files("minemap.risk") / "data" / "munitions.toml"
    with ref.open("rb") as fh:
        data = tomllib.load(fh)
    return _parse(data, "minemap/risk/data/munitions.toml")


def load_catalogue(path: str | os.PathLike[str] | None = None) -> MunitionCatalogue:
    """Load the munition catalogue (the packaged one when ``path`` is None).

    Parameters
    ----------
    path : path-like, optional
        A TOML file with ``[munitions.<key>]`` tables (see the packaged file for the fields).

    Returns
    -------
    MunitionCatalogue

    Raises
    ------
    ConfigError
        The file is not valid TOML or breaks the catalogue's rules; every problem is listed.
    """
    if path is None:
        return _default_catalogue()
    shown = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: munition catalogue file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc})") from None
    return _parse(data, shown)


def match_munition(
    text: object, *, catalogue: MunitionCatalogue | None = None
) -> MunitionEntry | None:
    """Match one free-text munition type to the catalogue.

    Parameters
    ----------
    text : str or None
        Munition type as reported, e.g. ``"Смерч"``, ``"9М55К"``, ``"M26 rocket"``.
    catalogue : MunitionCatalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    MunitionEntry or None
        ``None`` when no alias matches (also for None/NA/empty text).

    Examples
    --------
    >>> match_munition("Ураган").key
    '9m27k'
    >>> match_munition("РБК-500 ПТАБ-1М").key
    'rbk500_ptab1m'
    >>> match_munition("unknown shell") is None
    True
    """
    return (catalogue or load_catalogue()).match(text)


def match_munitions(
    texts: pd.Series | Iterable[object], *, catalogue: MunitionCatalogue | None = None
) -> pd.DataFrame:
    """Match many munition types at once (each distinct text is matched once).

    Parameters
    ----------
    texts : Series or iterable
        Free-text munition types; the result is aligned to the Series index.
    catalogue : MunitionCatalogue, optional

    Returns
    -------
    DataFrame
        Columns ``munition_key`` (None where unmatched), ``matched`` (bool), ``name``,
        ``cluster``, ``submunitions``, ``footprint_radius_m``, ``dud_rate_low``,
        ``dud_rate_high``. Unmatched rows are kept (``matched`` False, other columns NA) so the
        caller can report them: ``result[~result.matched]``.
    """
    cat = catalogue or load_catalogue()
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    values = series.astype(object).where(series.notna(), None)
    # match each distinct text once, then broadcast by code (fast on 100k+ rows)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    entries = [cat.match(u) for u in uniques] + [None]  # code -1 (missing) → None
    pick = np.where(codes < 0, len(entries) - 1, codes)
    keys_u = np.array([None if e is None else e.key for e in entries], dtype=object)
    keys = keys_u[pick]

    def col(attr: str, dtype: str) -> pd.Series:
        per = np.array([None if e is None else getattr(e, attr) for e in entries], dtype=object)
        return pd.Series(per[pick], index=series.index, dtype=dtype)

    return pd.DataFrame(
        {
            "munition_key": pd.Series(keys, index=series.index, dtype=object),
            "matched": pd.Series(pd.notna(keys), index=series.index, dtype=bool),
            "name": col("name", "object"),
            "cluster": col("cluster", "boolean"),
            "submunitions": col("submunitions", "Int64"),
            "footprint_radius_m": col("footprint_radius_m", "float64"),
            "dud_rate_low": col("dud_rate_low", "float64"),
            "dud_rate_high": col("dud_rate_high", "float64"),
        },
        index=series.index,
    )
