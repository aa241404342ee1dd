"""Message helpers shared by the validators: feature labels, safe value display, the
collector that turns findings into :class:`~minemap._report.Problem` /
:class:`~minemap._report.Repair` records.

Two rules live here so that no check can break them by accident:

* a value of a personal field (``LayerSchema.personal_fields``) is never shown — the
  helpers :meth:`Collector.show` return ``None`` for them and messages are phrased
  without the value;
* invisible and control characters in a displayed value are escaped (``\\u200b``),
  so that a message never hides the very problem it reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from minemap._report import Problem, Repair, Report
from minemap.layers import LayerSchema

__all__ = ["INVISIBLE", "Collector", "escape", "quote"]

INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
)
"""Control characters and the invisible format characters that make two ids look equal
while comparing different: zero-width space/joiners, direction marks, BOM, soft hyphen."""

_MAX_SHOWN = 80


def escape(text: str) -> str:
    """``text`` with invisible/control characters written as ``\\uXXXX`` escapes.

    Examples
    --------
    >>> escape("H-\\u200b12")
    'H-\\\\u200b12'
    """
    return INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def quote(value: object) -> str:
    """A value as shown in a message: quoted, escaped and shortened to 80 characters."""
    text = escape(str(value))
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return f"'{text}'"


def char_name(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE`` for an invisible character."""
    name = unicodedata.name(ch, "control character")
    return f"U+{ord(ch):04X} {name}"


@dataclass
class Collector:
    """Collects every finding for one file and layer into a :class:`Report`.

    Parameters
    ----------
    report
        The report being filled (file and layer already set).
    schema
        The layer's schema (for personal fields and the id field).
    labels
        One base label per feature, position-aligned: ``"CSV line 14"``, ``"feature 3"``.
    """

    report: Report
    schema: LayerSchema
    labels: Sequence[str]
    ids: Sequence[object] = field(default_factory=list)
    """Raw id per feature (position-aligned) used to name features; empty until known."""

    def feature(self, i: int) -> str:
        """``"feature 12 (hazard_id H-0012)"`` — the label plus the id where there is one."""
        base = self.labels[i]
        if i < len(self.ids):
            value = self.ids[i]
            if isinstance(value, str) and value.strip():
                return f"{base} ({self.schema.id_field} {escape(value)[:_MAX_SHOWN]})"
        return base

    def is_personal(self, name: str) -> bool:
        """True for a victim's personal field (its values are never shown)."""
        return name in self.schema.personal_fields

    def error(self, i: int | None, field_name: str, problem: str, fix: str = "") -> None:
        """Record an error for feature ``i`` (``None``: the whole file)."""
        self.report.errors.append(Problem(self._where(i), field_name, problem, fix))

    def warning(self, i: int | None, field_name: str, problem: str, fix: str = "") -> None:
        """Record a warning (the file is still accepted)."""
        self.report.warnings.append(Problem(self._where(i), field_name, problem, fix))

    def repair(
        self,
        i: int | None,
        field_name: str,
        problem: str,
        repair: str,
        *,
        area_before_m2: float | None = None,
        area_after_m2: float | None = None,
    ) -> None:
        """Record a repair minemap made (with areas in m² where the geometry changed)."""
        self.report.repairs.append(
            Repair(
                self._where(i),
                field_name,
                problem,
                repair,
                area_before_m2=area_before_m2,
                area_after_m2=area_after_m2,
            )
        )

    def examples(self, positions: Sequence[int], *, limit: int = 5) -> str:
        """``"feature 1, feature 4, … (12 in all)"`` for summary records."""
        shown = ", ".join(self.feature(int(i)) for i in positions[:limit])
        if len(positions) > limit:
            shown += f", … ({len(positions)} in all)"
        return shown

    def _where(self, i: int | None) -> str:
        return "file" if i is None else self.feature(int(i))
