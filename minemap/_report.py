"""Records of what happened to an upload: errors, repairs and warnings.

Validators and readers *collect* these and raise or return once, so that a field team
fixes every problem in one round (the osmnx pattern). Each record names the feature
(its id, index or CSV line), the field or ring, the problem in plain words and either
the fix the user should make (errors, warnings) or the repair minemap made (repairs).

Never put a victim's personal data (name, age, sex) into any of these strings: they
end up in logs, JSON output and the batch record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Problem", "Repair", "Report"]


@dataclass(frozen=True, slots=True)
class Problem:
    """An error (the feature is rejected) or a warning (accepted, but look at it)."""

    feature: str
    """Which feature: ``"feature 12 (hazard_id H-0012)"``, ``"CSV line 14"`` or ``"file"``."""
    field: str
    """Which field, or ``"geometry"`` / ``"geometry ring 2"`` / ``"file"``."""
    problem: str
    """What is wrong, in plain words."""
    fix: str = ""
    """How to fix it."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        text = f"{self.feature}, {self.field}: {self.problem}"
        return f"{text} — {self.fix}" if self.fix else text


@dataclass(frozen=True, slots=True)
class Repair:
    """A change minemap made to the data, recorded so that it can be audited."""

    feature: str
    field: str
    problem: str
    repair: str
    area_before_m2: float | None = None
    area_after_m2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.feature}, {self.field}: {self.problem} — repaired: {self.repair}"


@dataclass(slots=True)
class Report:
    """Everything found while reading and validating one file for one layer."""

    file: str
    layer: str
    errors: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    column_mapping: dict[str, str] = field(default_factory=dict)
    """Source column → canonical field, as applied (recorded with the batch)."""

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import."""
        return not self.errors

    def extend(self, other: Report) -> None:
        """Append another report's records (same file and layer)."""
        self.errors.extend(other.errors)
        self.repairs.extend(other.repairs)
        self.warnings.extend(other.warnings)
        self.column_mapping.update(other.column_mapping)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "layer": self.layer,
            "repairs": [r.to_dict() for r in self.repairs],
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "column_mapping": dict(self.column_mapping),
        }
