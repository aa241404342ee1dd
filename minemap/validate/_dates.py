"""Dates: ISO 8601 only, never guessed, never in the future.

Accepted: ``YYYY-MM-DD`` and full ISO date-times (``2023-04-03T10:15:00Z``, ``2023-04-03
10:15``), which are reduced to their date as written (no time-zone shift); real date or
datetime values (GeoPackage/Parquet columns). Everything else is rejected with a message
that says how to write it — ``03/04/2023`` could be 3 April or 4 March, and minemap never
guesses which. Dates after today or before 1900 are rejected.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from minemap.validate._messages import Collector, quote

__all__ = ["EARLIEST_DATE", "parse_dates"]

EARLIEST_DATE = dt.date(1900, 1, 1)
"""Dates before this are rejected as implausible (and would not fit datetime64[ns])."""

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?"
)
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})")
_YMD_OTHER = re.compile(r"(\d{4})[./](\d{1,2})[./](\d{1,2})")
_ISO_HINT = "write dates as YYYY-MM-DD (ISO 8601)"


def _as_text(raw: pd.Series) -> pd.Series:
    """Values as stripped text; date/datetime objects in their ISO form."""
    if raw.dtype == object:
        raw = raw.map(lambda v: v.isoformat() if isinstance(v, dt.date | pd.Timestamp) else str(v))
    return raw.astype("str").str.strip()


def _explain(text: str) -> str:
    """Why ``text`` is not accepted, with the ISO spelling when it is unambiguous."""
    m = _DMY.fullmatch(text)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
        if len(year) == 2:
            return (
                f"is not an ISO date: the two-digit year in {quote(text)} does not say the "
                "century, and the day/month order is unknown"
            )
        if a <= 12 and b <= 12 and a != b:
            return (
                f"is not an ISO date: {quote(text)} could be {year}-{b:02d}-{a:02d} "
                f"(day first) or {year}-{a:02d}-{b:02d} (month first); minemap never guesses"
            )
        if a > 12 >= b:
            return f"is not an ISO date: {quote(text)} (did you mean {year}-{b:02d}-{a:02d}?)"
        if b > 12 >= a:
            return f"is not an ISO date: {quote(text)} (did you mean {year}-{a:02d}-{b:02d}?)"
        if a == b:
            return f"is not an ISO date: {quote(text)} (did you mean {year}-{a:02d}-{b:02d}?)"
        return f"is not a date: {quote(text)}"
    m = _YMD_OTHER.fullmatch(text)
    if m:
        y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
        return f"is not an ISO date: {quote(text)} (did you mean {y}-{mo:02d}-{d:02d}?)"
    return f"is not an ISO 8601 date: {quote(text)}"


def parse_dates(
    raw: pd.Series,
    missing: np.ndarray,
    name: str,
    out: Collector,
    *,
    today: dt.date | None = None,
) -> pd.Series:
    """Parse a date column; record one error per bad value in ``out``.

    Parameters
    ----------
    raw
        Source values (text, date/datetime objects or a datetime64 column), position
        aligned with the features.
    missing
        Boolean mask of values already known to be missing (not checked here).
    name
        Canonical field name, used in messages.
    out
        Collector for the errors.
    today
        The reference date for "in the future" (default: today's local date).

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` dates at midnight; ``NaT`` where missing or rejected.
    """
    today = today or dt.date.today()
    n = len(raw)
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    present = ~np.asarray(missing, dtype=bool)
    if not present.any():
        return result

    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raw = raw.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw.dt.normalize()
        bad_text = np.zeros(n, dtype=bool)
        texts = None
    else:
        texts = _as_text(raw)
        # parse each distinct value once: date columns repeat a lot
        codes, uniques = pd.factorize(texts)
        uniques = pd.Series(uniques, dtype="str")
        iso_u = uniques.str.fullmatch(_ISO.pattern).fillna(False).to_numpy(dtype=bool)
        stamps_u = pd.to_datetime(
            uniques.where(iso_u).str[:10], format="%Y-%m-%d", errors="coerce"
        ).astype("datetime64[us]")
        iso = np.append(iso_u, False)[codes]
        stamps = pd.Series(
            np.append(stamps_u.to_numpy(), np.datetime64("NaT", "us"))[codes], index=raw.index
        )
        bad_text = present & ~iso
        for i in np.flatnonzero(bad_text):
            out.error(
                int(i), name, f"{name} {_explain(texts.iloc[i])}", f"{_ISO_HINT}, e.g. 2023-04-03"
            )
        unreal = present & iso & stamps.isna().to_numpy()
        for i in np.flatnonzero(unreal):
            out.error(
                int(i),
                name,
                f"{name} {quote(texts.iloc[i])} is not a real calendar date",
                "check the day and month",
            )
        bad_text |= unreal

    stamps = stamps.astype("datetime64[us]")
    ok = present & ~bad_text & stamps.notna().to_numpy()
    days = stamps.dt.date
    late = ok & (stamps > pd.Timestamp(today)).to_numpy()
    early = ok & (stamps < pd.Timestamp(EARLIEST_DATE)).to_numpy()
    for i in np.flatnonzero(late):
        out.error(
            int(i),
            name,
            f"{name} {days.iloc[i].isoformat()} is in the future (today is {today.isoformat()})",
            "check the year, month and day order (ISO 8601 is YYYY-MM-DD)",
        )
    for i in np.flatnonzero(early):
        out.error(
            int(i),
            name,
            f"{name} {days.iloc[i].isoformat()} is before {EARLIEST_DATE.year}, which is "
            "not plausible for mine-action data",
            "check the year",
        )
    keep = ok & ~late & ~early
    result[keep] = stamps[keep].astype("datetime64[ns]")
    return result
