"""Layer schemas declared as data.

A :class:`LayerSchema` lists a layer's fields (:class:`Field`), its allowed geometry
types, its id field and the aliases that map common source column names onto the
canonical ones. Validation, storage, export and privacy filtering all read these
declarations; no layer rule lives in code elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Field", "FieldKind", "LayerSchema"]

FieldKind = Literal["str", "int", "float", "bool", "date", "enum"]


@dataclass(frozen=True, slots=True)
class Field:
    """One attribute of a layer."""

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    unique: bool = False
    choices: tuple[str, ...] = ()
    """Allowed values of an ``enum`` field (canonical lower/upper case as written here)."""
    choice_aliases: dict[str, str] = field(default_factory=dict)
    """Other spellings accepted for an enum value (lower-cased key → canonical value)."""
    min_value: float | None = None
    max_value: float | None = None
    personal: bool = False
    """Victims' personal data: only the planner role may read it; never in logs or errors."""
    max_length: int = 500
    aliases: tuple[str, ...] = ()
    """Source column names mapped onto this field (compared case-insensitively)."""

    def __hash__(self) -> int:  # dict field makes the default hash unusable
        return hash((self.name, self.kind))


@dataclass(frozen=True, slots=True)
class LayerSchema:
    """The declared schema of one canonical layer."""

    name: str
    description: str
    geometry_types: tuple[str, ...]
    id_field: str
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"layer {self.name}: duplicate field names in schema")
        if self.id_field not in names:
            raise ValueError(f"layer {self.name}: id field {self.id_field!r} not in schema")

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)

    @property
    def is_polygonal(self) -> bool:
        return "Polygon" in self.geometry_types

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name} has no field {name!r}")

    def alias_map(self) -> dict[str, str]:
        """Lower-cased source name → canonical field name (canonical names included)."""
        mapping: dict[str, str] = {}
        for f in self.fields:
            mapping[f.name.lower()] = f.name
            for alias in f.aliases:
                mapping[alias.lower()] = f.name
        return mapping
