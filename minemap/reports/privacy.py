"""Privacy for funder outputs: the funder-safe view, small-count suppression, cell safety.

Three guarantees, applied in this order:

1. :func:`funder_view` runs before any figure is computed: it keeps only the schema's
   non-personal fields a report needs (a whitelist, so unmapped extra source columns such
   as a stray "full name" column never get through) and, for casualties, reduces free
   text to fixed categories.
2. :func:`protect_counts` suppresses casualty counts of 1 to 4 (``"<5"``) and adds
   complementary suppressions (``"x"``) until no suppressed cell can be worked out from
   the published totals, checked by an interval-propagation attacker that knows the
   suppression rule (primary cells are 1–4, complementary cells at least 5).
3. :func:`neutralise` defuses spreadsheet formula injection in every text cell written
   to CSV or XLSX.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from minemap.layers import get_schema

__all__ = [
    "COMPLEMENTARY",
    "SMALL",
    "THRESHOLD",
    "ProtectedTable",
    "activity_category",
    "device_category",
    "funder_view",
    "neutralise",
    "protect_counts",
    "recoverable_cells",
]

THRESHOLD = 5
"""Counts from 1 to ``THRESHOLD - 1`` are never published."""
SMALL = "<5"
COMPLEMENTARY = "x"

# Fields a funder report may use, per layer (never a personal field; whitelist).
_FUNDER_FIELDS: dict[str, tuple[str, ...]] = {
    "casualties": ("date", "killed", "injured", "civilian", "activity", "munition_type", "oblast"),
    "cleared": (
        "survey_id",
        "date",
        "status",
        "method",
        "hazard_type",
        "area_m2",
        "devices_found",
        "munition_type",
        "operator",
    ),
    "hazards": ("hazard_id", "date", "hazard_type", "contamination", "status"),
    "farmland": ("parcel_id", "land_use", "value_per_ha"),
    "strikes": ("date", "cluster_munition", "submunitions", "uxo_reported", "status"),
}
# Optional recorded costs in released land (extra source columns, not personal).
_COST_COLUMNS = ("cost_uah",)


def funder_view(frame: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """The funder-safe copy of a canonical layer frame.

    Keeps the whitelisted non-personal fields of ``layer`` (plus ``batch_id``,
    ``cost_uah`` for released land, and the geometry); drops everything else, including
    any personal field even when the frame was read with ``include_personal=True``.
    Casualty ``activity`` and ``munition_type`` become fixed categories
    (:func:`activity_category`, :func:`device_category`) so no free text survives.

    Parameters
    ----------
    frame
        A canonical layer frame (``store.read_layer`` / ``ValidationResult.frame``).
    layer
        The layer name.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame; the input is not modified.
    """
    schema = get_schema(layer)
    personal = set(schema.personal_fields)
    allowed = [f for f in _FUNDER_FIELDS.get(layer, ()) if f not in personal]
    extra = ["batch_id"] + (list(_COST_COLUMNS) if layer == "cleared" else [])
    keep = [c for c in (*allowed, *extra) if c in frame.columns]
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    data = {c: frame[c] for c in keep}
    out = gpd.GeoDataFrame(
        data,
        geometry=frame.geometry.copy() if geometry else None,
        index=frame.index,
        crs=frame.crs if geometry else None,
    )
    if geometry and geometry != "geometry":
        out = out.rename_geometry("geometry")
    if layer == "casualties":
        if "activity" in out.columns:
            out["activity"] = out["activity"].map(activity_category).astype("string")
        if "munition_type" in out.columns:
            out["munition_type"] = out["munition_type"].map(device_category).astype("string")
    return out


_ACTIVITY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("demining", ("demin", "clearance", "deminer", "розмін", "сапер", "eod")),
    (
        "agriculture",
        (
            "agri",
            "farm",
            "tractor",
            "harvest",
            "field work",
            "plough",
            "plow",
            "sowing",
            "livestock",
            "graz",
            "сільськ",
            "фермер",
            "трактор",
            "польов",
            "жнив",
            "посів",
            "оран",
            "комбайн",
            "випас",
        ),
    ),
    (
        "travel",
        (
            "travel",
            "driv",
            "road",
            "vehicle",
            "transport",
            "walk",
            "cycl",
            "car",
            "дорог",
            "їха",
            "авто",
            "транспорт",
            "пішки",
            "велосипед",
        ),
    ),
    (
        "household",
        (
            "household",
            "home",
            "house",
            "garden",
            "firewood",
            "gather",
            "mushroom",
            "fish",
            "hunt",
            "побут",
            "город",
            "дрова",
            "гриб",
            "ягід",
            "риб",
            "полюв",
        ),
    ),
    ("military", ("military", "soldier", "combat", "війсь", "бойов")),
)

_DEVICE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "cluster",
        (
            "cluster",
            "submunition",
            "9n210",
            "9n235",
            "m77",
            "m42",
            "m46",
            "ptab",
            "касет",
            "суббоєприпас",
            "9н210",
            "9н235",
        ),
    ),
    ("at_mine", ("anti-tank", "antitank", "at mine", "tm-", "tm62", "tm-62", "протитанк", "тм-")),
    (
        "ap_mine",
        (
            "anti-personnel",
            "antipersonnel",
            "ap mine",
            "pfm",
            "pmn",
            "ozm",
            "pom",
            "mon-",
            "butterfly",
            "petal",
            "протипіхот",
            "пелюст",
            "пфм",
            "пмн",
            "озм",
        ),
    ),
    ("ied", ("ied", "improvised", "booby", "саморобн", "свп", "розтяжк")),
    (
        "uxo",
        (
            "uxo",
            "shell",
            "artillery",
            "grenade",
            "rocket",
            "mortar",
            "bomb",
            "missile",
            "erw",
            "ammunition",
            "ordnance",
            "mine",
            "снаряд",
            "гранат",
            "ракет",
            "мін",
            "бомб",
            "боєприпас",
        ),
    ),
)


def _categorise(value: object, rules: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    text = str(value).strip().lower()
    if not text:
        return "unknown"
    for category, needles in rules:
        if any(n in text for n in needles):
            return category
    return "other"


def activity_category(value: object) -> str:
    """Fixed category of a free-text activity (``agriculture``, ``travel``, ``demining``,
    ``household``, ``military``, ``other``, ``unknown``); English or Ukrainian text."""
    return _categorise(value, _ACTIVITY_RULES)


def device_category(value: object) -> str:
    """Fixed category of a free-text device (``cluster``, ``at_mine``, ``ap_mine``,
    ``ied``, ``uxo``, ``other``, ``unknown``); English or Ukrainian text."""
    return _categorise(value, _DEVICE_RULES)


_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Defuse spreadsheet formula injection in a text cell.

    A string starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
    leading apostrophe (OWASP's advice), so spreadsheet programs show it as text and never
    evaluate it. Numbers and other values are returned unchanged.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("Cleared")
    'Cleared'
    >>> neutralise(-3)
    -3
    """
    if isinstance(value, str) and value.startswith(_DANGEROUS_START):
        return "'" + value
    return value


# ---------------------------------------------------------------------------------------
# Small-count suppression
# ---------------------------------------------------------------------------------------

TOTAL = "total"


@dataclass(frozen=True)
class ProtectedTable:
    """A count table with its totals and what may be published.

    ``counts`` holds the true integer counts (row labels + a last ``"total"`` row,
    columns + a last ``"total"`` column); it never leaves the library. ``display`` holds
    what is published: the count, ``"<5"`` (primary) or ``"x"`` (complementary).
    """

    name: str
    counts: pd.DataFrame
    status: pd.DataFrame  # "" | "primary" | "complementary"

    @property
    def display(self) -> pd.DataFrame:
        """Published values: ints where shown, ``"<5"`` / ``"x"`` where suppressed."""
        out = self.counts.astype(object).copy()
        out[self.status == "primary"] = SMALL
        out[self.status == "complementary"] = COMPLEMENTARY
        return out

    def published(self, row: Hashable, column: Hashable) -> int | None:
        """The published count of one cell, ``None`` if suppressed."""
        if self.status.loc[row, column]:
            return None
        return int(self.counts.loc[row, column])


Key = tuple[Hashable, Hashable, Hashable]


def _key(table: str, row: Hashable, col: Hashable) -> Key:
    # The grand-total row is the same in every table of one population: share its cells
    # so a total withheld in one table is withheld in all.
    return ("*", row, col) if row == TOTAL else (table, row, col)


def _lines(tables: Mapping[str, pd.DataFrame]) -> list[tuple[Key, list[Key]]]:
    lines: list[tuple[Key, list[Key]]] = []
    for name, df in tables.items():
        rows = [r for r in df.index if r != TOTAL]
        cols = [c for c in df.columns if c != TOTAL]
        for r in [*rows, TOTAL]:
            lines.append((_key(name, r, TOTAL), [_key(name, r, c) for c in cols]))
        for c in [*cols, TOTAL]:
            lines.append((_key(name, TOTAL, c), [_key(name, r, c) for r in rows]))
    return lines


def recoverable_cells(
    values: Mapping[Key, int],
    status: Mapping[Key, str],
    lines: Sequence[tuple[Key, Sequence[Key]]],
    *,
    threshold: int = THRESHOLD,
) -> list[Key]:
    """Suppressed cells an attacker could pin to one value from the published cells.

    The attacker knows every additive line (members sum to their total), that primary
    cells are ``1..threshold-1`` and complementary cells at least ``threshold``, and
    propagates interval bounds through the lines until nothing changes.
    """
    big = sum(int(v) for v in values.values()) + threshold
    lo: dict[Key, float] = {}
    hi: dict[Key, float] = {}
    for k, s in status.items():
        if s == "primary":
            lo[k], hi[k] = 1, threshold - 1
        elif s == "complementary":
            lo[k], hi[k] = threshold, big
    equations = []
    for total, members in lines:
        terms = [(1, m) for m in members] + [(-1, total)]
        known = sum(c * int(values[k]) for c, k in terms if k not in lo)
        unknown = [(c, k) for c, k in terms if k in lo]
        if unknown:
            equations.append((unknown, -known))
    for _ in range(200):
        changed = False
        for unknown, rhs in equations:
            for c, k in unknown:
                # c*x_k = rhs - sum(other terms)
                rest_lo = sum((co * lo[o] if co > 0 else co * hi[o]) for co, o in unknown if o != k)
                rest_hi = sum((co * hi[o] if co > 0 else co * lo[o]) for co, o in unknown if o != k)
                a, b = (rhs - rest_hi) / c, (rhs - rest_lo) / c
                new_lo, new_hi = max(lo[k], min(a, b)), min(hi[k], max(a, b))
                if new_lo > lo[k] + 1e-9 or new_hi < hi[k] - 1e-9:
                    lo[k], hi[k] = new_lo, new_hi
                    changed = True
        if not changed:
            break
    return [k for k in lo if math.floor(hi[k] + 1e-9) - math.ceil(lo[k] - 1e-9) < 1]


def protect_counts(
    tables: Mapping[str, pd.DataFrame], *, threshold: int = THRESHOLD
) -> dict[str, ProtectedTable]:
    """Suppress small counts in linked count tables, with complementary suppression.

    Parameters
    ----------
    tables
        Count tables of one population (e.g. casualties by month, by activity, …). Each has
        a last row and a last column labelled ``"total"`` holding the sums. The grand-total
        rows are treated as the same cells in every table.
    threshold
        Counts ``1 .. threshold-1`` are suppressed (zero is published).

    Returns
    -------
    dict of str to ProtectedTable
        Same keys as ``tables``.
    """
    for name, df in tables.items():
        if df.index[-1] != TOTAL or df.columns[-1] != TOTAL:
            raise ValueError(f"table {name!r} needs a last 'total' row and column")
    values: dict[Key, int] = {}
    for name, df in tables.items():
        for r in df.index:
            for c in df.columns:
                values[_key(name, r, c)] = int(df.loc[r, c])
    lines = _lines(tables)
    status: dict[Key, str] = {k: "primary" for k, v in values.items() if 0 < v < threshold}

    def candidates(cells: Sequence[Key]) -> list[Key]:
        free = [k for k in cells if k not in status and values[k] >= threshold]
        # prefer inner cells over totals, then the smallest (least information lost)
        return sorted(free, key=lambda k: (k[1] == TOTAL or k[2] == TOTAL, values[k], str(k)))

    for _ in range(10 * len(values) + 10):
        changed = False
        for total, members in lines:
            cells = [*members, total]
            if sum(k in status for k in cells) == 1:
                pick = candidates(cells)
                if pick:
                    status[pick[0]] = "complementary"
                    changed = True
        if changed:
            continue
        exposed = recoverable_cells(values, status, lines, threshold=threshold)
        if not exposed:
            break
        for total, members in lines:
            cells = [*members, total]
            if exposed[0] in cells:
                pick = candidates(cells)
                if pick:
                    status[pick[0]] = "complementary"
                    changed = True
                    break
        if not changed:  # nothing left to hide beside it: withhold the whole table
            for k, v in values.items():
                if k not in status and v > 0:
                    status[k] = "complementary"
            break
    out: dict[str, ProtectedTable] = {}
    for name, df in tables.items():
        st = pd.DataFrame("", index=df.index, columns=df.columns, dtype=object)
        for r in df.index:
            for c in df.columns:
                st.loc[r, c] = status.get(_key(name, r, c), "")
        out[name] = ProtectedTable(name=name, counts=df.astype("int64"), status=st)
    return out
