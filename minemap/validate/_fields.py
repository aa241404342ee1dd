"""Attribute checks: required fields, types, enums, ranges, ids and text.

Each converter takes one source column (position aligned with the features), a mask of
missing values, the schema :class:`~minemap.layers.Field` and the collector; it returns
the typed canonical column (``NA`` where missing or rejected) and records one error per
bad value. Work is vectorised with pandas; Python loops run only over the rows that
have a problem, to write their messages.

Values of personal fields (``Field.personal``) never appear in a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from minemap.layers import Field
from minemap.validate._dates import parse_dates
from minemap.validate._messages import INVISIBLE, Collector, char_name, escape, quote

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "check_unique",
    "convert_field",
    "empty_column",
    "map_unique",
    "missing_mask",
    "to_text",
]

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "так", "т", "да"})
"""Accepted spellings of *true* (compared case-insensitively, after trimming)."""
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "ні", "н", "нет"})
"""Accepted spellings of *false*."""

_SEPARATORS = re.compile(r"[\s_\-]+")


def _fmt_scalar(value: object) -> str | None:
    """One value as text: ``None`` when missing, ``12.0`` → ``"12"``, bytes decoded."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        if np.isfinite(value) and value == int(value):
            return str(int(value))
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def to_text(raw: pd.Series) -> pd.Series:
    """Values as text (``12.0`` → ``"12"``), pandas ``str`` dtype; nulls stay null."""
    if pd.api.types.is_float_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        integral = finite & (values == np.floor(np.where(finite, values, 0)))
        text = np.where(
            integral,
            np.char.mod("%d", np.where(integral, values, 0).astype("int64")),
            raw.astype("str").to_numpy(),
        )
        return pd.Series(text, index=raw.index, dtype="str").mask(raw.isna())
    if raw.dtype == object:
        return pd.Series([_fmt_scalar(v) for v in raw], index=raw.index, dtype="str")
    return raw.astype("str")


def missing_mask(raw: pd.Series) -> np.ndarray:
    """True where a value is null or blank text."""
    na = raw.isna().to_numpy(dtype=bool)
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        text = to_text(raw) if raw.dtype == object else raw
        blank = text.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        return na | blank
    return na


def map_unique(values: pd.Series, func: Callable[[str], object]) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (columns repeat a lot)."""
    codes, uniques = pd.factorize(values)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _shown(f: Field, value: object, out: Collector) -> str:
    """``"killed 'three'"`` — or just ``"victim_age"`` for a personal field."""
    return f.name if out.is_personal(f.name) else f"{f.name} {quote(value)}"


def _convert_text(raw: pd.Series, present: np.ndarray, f: Field, out: Collector, *, is_id: bool):
    text = to_text(raw)
    lengths = text.str.len().fillna(0).to_numpy(dtype="int64")
    too_long = present & (lengths > f.max_length)
    for i in np.flatnonzero(too_long):
        out.error(
            int(i),
            f.name,
            f"{f.name} is {lengths[i]} characters long; the limit is {f.max_length}",
            "shorten it (minemap never truncates text)",
        )
    bad = too_long
    if is_id:
        hidden = text.str.contains(INVISIBLE.pattern, regex=True).fillna(False).to_numpy(bool)
        padded = (text != text.str.strip()).fillna(False).to_numpy(dtype=bool)
        flagged = present & (hidden | padded)
        for i in np.flatnonzero(flagged):
            value = text.iloc[i]
            parts = []
            found = INVISIBLE.findall(value)
            if found:
                names = sorted({char_name(ch) for ch in found})
                parts.append(f"invisible or control characters ({', '.join(names)})")
            if value != value.strip():
                parts.append("leading or trailing whitespace")
            out.error(
                int(i),
                f.name,
                f"id {quote(escape(value))} contains {' and '.join(parts)}; ids that look "
                "equal would compare different",
                "retype the id without hidden characters or surrounding spaces",
            )
        bad = bad | flagged
    return text.mask(~present | bad), bad


def _convert_number(raw: pd.Series, present: np.ndarray, f: Field, out: Collector):
    integer = f.kind == "int"
    if pd.api.types.is_bool_dtype(raw.dtype):
        values = np.full(len(raw), np.nan)
        not_number = present.copy()
        shown_raw = raw
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        not_number = present & np.isnan(values)
        shown_raw = raw
    else:
        shown_raw = to_text(raw).str.strip()
        is_bool = np.zeros(len(raw), dtype=bool)
        if raw.dtype == object:
            is_bool = raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        values = pd.to_numeric(shown_raw.mask(is_bool), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        not_number = present & np.isnan(values)
    what = "a whole number" if integer else "a number"
    example = "3" if integer else "12.5"
    for i in np.flatnonzero(not_number):
        out.error(
            int(i),
            f.name,
            f"{_shown(f, shown_raw.iloc[i], out)} is not {what}",
            f"write it in digits, e.g. {example}",
        )
    ok = present & ~not_number
    infinite = ok & ~np.isfinite(np.where(ok, values, 0.0))
    for i in np.flatnonzero(infinite):
        out.error(int(i), f.name, f"{_shown(f, shown_raw.iloc[i], out)} is not finite", "")
    ok &= ~infinite
    safe = np.where(ok, values, 0.0)
    fractional = ok & (safe != np.floor(safe)) if integer else np.zeros(len(raw), dtype=bool)
    for i in np.flatnonzero(fractional):
        out.error(
            int(i),
            f.name,
            f"{_shown(f, shown_raw.iloc[i], out)} is not a whole number",
            f"{f.name} counts things: give a whole number",
        )
    ok &= ~fractional
    low = ok & (safe < f.min_value) if f.min_value is not None else np.zeros(len(raw), bool)
    for i in np.flatnonzero(low):
        words = "negative" if f.min_value == 0 else f"below {f.min_value:g}"
        out.error(
            int(i),
            f.name,
            f"{_shown(f, shown_raw.iloc[i], out)} is {words}",
            f"{f.name} must be at least {f.min_value:g}",
        )
    high = ok & (safe > f.max_value) if f.max_value is not None else np.zeros(len(raw), bool)
    for i in np.flatnonzero(high):
        out.error(
            int(i),
            f.name,
            f"{_shown(f, shown_raw.iloc[i], out)} is implausibly large (more than {f.max_value:g})",
            "check for a typo or a wrong column",
        )
    ok &= ~low & ~high
    bad = present & ~ok
    if integer:
        result = pd.array(np.where(ok, safe, 0).astype("int64"), dtype="Int64")
        result[~ok] = pd.NA
        return pd.Series(result, index=raw.index), bad
    return pd.Series(np.where(ok, safe, np.nan), index=raw.index, dtype="float64"), bad


def _convert_bool(raw: pd.Series, present: np.ndarray, f: Field, out: Collector):
    if pd.api.types.is_bool_dtype(raw.dtype):
        values = pd.Series(raw, dtype="boolean")
        return values.mask(~present), np.zeros(len(raw), dtype=bool)
    words = to_text(raw).str.strip().str.casefold()
    truth = words.isin(TRUE_WORDS).to_numpy(dtype=bool)
    falsity = words.isin(FALSE_WORDS).to_numpy(dtype=bool)
    bad = present & ~truth & ~falsity
    for i in np.flatnonzero(bad):
        out.error(
            int(i),
            f.name,
            f"{_shown(f, words.iloc[i], out)} is not true or false",
            "write true/false, yes/no, 1/0 or так/ні",
        )
    result = pd.array(truth, dtype="boolean")
    result[~(present & ~bad)] = pd.NA
    return pd.Series(result, index=raw.index), bad


def _enum_key(text: str) -> str:
    return _SEPARATORS.sub(" ", text.strip().casefold())


def _convert_enum(raw: pd.Series, present: np.ndarray, f: Field, out: Collector):
    lookup = {_enum_key(c): c for c in f.choices}
    for alias, target in f.choice_aliases.items():
        lookup.setdefault(_enum_key(alias), target)
    text = to_text(raw)
    canonical = map_unique(text, lambda v: lookup.get(_enum_key(str(v))))
    bad = present & canonical.isna().to_numpy(dtype=bool)
    if bad.any():
        allowed = ", ".join(f.choices)
        extra = ", ".join(f"{a}→{t}" for a, t in f.choice_aliases.items())
        fix = f"use one of: {allowed}" + (f" (also accepted: {extra})" if extra else "")
        for i in np.flatnonzero(bad):
            out.error(
                int(i),
                f.name,
                f"{_shown(f, text.iloc[i], out)} is not one of the allowed values",
                fix,
            )
    result = canonical.astype("str").mask(~present | bad)
    return result, bad


_CONVERTERS: dict[str, Callable] = {
    "int": _convert_number,
    "float": _convert_number,
    "bool": _convert_bool,
    "enum": _convert_enum,
}


def convert_field(
    raw: pd.Series, f: Field, out: Collector, *, is_id: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Check and type one source column as canonical field ``f``.

    Parameters
    ----------
    raw
        Source values with a 0..n-1 index.
    f
        The schema field.
    out
        Collector for errors (one per bad value; one per missing required value).
    is_id
        Also reject invisible/control characters and surrounding whitespace.

    Returns
    -------
    values : pandas.Series
        Typed values (``str``, ``Int64``, ``float64``, ``boolean`` or ``datetime64[ns]``),
        ``NA`` where missing or rejected.
    rejected : numpy.ndarray
        Boolean mask of features with an error in this field.
    """
    missing = missing_mask(raw)
    present = ~missing
    if f.required:
        for i in np.flatnonzero(missing):
            out.error(
                int(i),
                f.name,
                f"required field {f.name} is empty",
                f"give every feature a {f.name}",
            )
    if f.kind == "date":
        values = parse_dates(raw, missing, f.name, out)
        bad = present & values.isna().to_numpy(dtype=bool)
    elif f.kind == "str":
        values, bad = _convert_text(raw, present, f, out, is_id=is_id)
    else:
        values, bad = _CONVERTERS[f.kind](raw, present, f, out)
    rejected = bad | (missing if f.required else np.zeros(len(raw), dtype=bool))
    return values, rejected


def empty_column(f: Field, n: int) -> pd.Series:
    """An all-NA column of the canonical dtype of ``f`` (for absent optional fields)."""
    if f.kind in ("str", "enum"):
        return pd.Series(pd.array([None] * n, dtype="str"))
    if f.kind == "int":
        return pd.Series(pd.array([None] * n, dtype="Int64"))
    if f.kind == "bool":
        return pd.Series(pd.array([None] * n, dtype="boolean"))
    if f.kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    return pd.Series(np.full(n, np.nan), dtype="float64")


def check_unique(
    ids: pd.Series,
    f: Field,
    content: Callable[[int], dict[str, object]],
    out: Collector,
) -> np.ndarray:
    """Report duplicate and conflicting values of a unique field.

    A repeated id whose features are identical in every field and the geometry is a
    *duplicate* (later copies are rejected, naming the first); a repeated id with
    different content is a *conflict* (every copy is rejected, naming the differing
    fields — never their values).

    Parameters
    ----------
    ids
        Canonical id values (``NA`` where missing/rejected), index 0..n-1.
    f
        The unique field.
    content
        Callable returning the comparable content of feature ``i`` (field → value).
    out
        Collector for the errors.

    Returns
    -------
    numpy.ndarray
        Boolean mask of rejected features.
    """
    rejected = np.zeros(len(ids), dtype=bool)
    dup = ids.notna() & ids.duplicated(keep=False)
    if not dup.any():
        return rejected
    groups = ids[dup].groupby(ids[dup], sort=False).groups
    for value, members in groups.items():
        positions = [int(p) for p in members]
        first = positions[0]
        reference = content(first)
        differing: set[str] = set()
        for p in positions[1:]:
            other = content(p)
            differing |= {k for k in reference if not _same(reference[k], other.get(k))}
        if not differing:
            for p in positions[1:]:
                out.error(
                    p,
                    f.name,
                    f"{f.name} {quote(value)} repeats {out.feature(first)} with identical "
                    "content (a duplicate row)",
                    "remove the repeated row",
                )
                rejected[p] = True
        else:
            names = ", ".join(sorted(differing))
            for p in positions:
                others = ", ".join(out.labels[q] for q in positions if q != p)
                out.error(
                    p,
                    f.name,
                    f"{f.name} {quote(value)} is also used by {others} with different "
                    f"content ({names} differ): conflicting ids",
                    f"give each feature its own {f.name}, or remove the wrong copy",
                )
                rejected[p] = True
    return rejected


def _same(a: object, b: object) -> bool:
    a_na = a is None or (not isinstance(a, bytes | str) and bool(pd.isna(a)))
    b_na = b is None or (not isinstance(b, bytes | str) and bool(pd.isna(b)))
    if a_na or b_na:
        return a_na and b_na
    return bool(a == b)
