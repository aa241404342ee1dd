"""Map source columns onto a layer's canonical fields.

Order of precedence, each step case-insensitive:

1. the user's mapping (``--map SRC=DST``),
2. a column already named like a canonical field,
3. a column named like one of the field's declared aliases (``LayerSchema.alias_map``).

A canonical field takes its values from one column only; a lower-precedence column that
would map to an already-taken field is kept as an extra column, with a warning. Every
column not mapped is kept under its original name. A column that is, by name or alias, one
of the layer's personal fields (a victim's name, age, sex) cannot be mapped onto any other
field: ids and other fields end up in messages, map labels and reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from minemap.layers import LayerSchema
from minemap.validate._messages import Collector, quote

__all__ = ["ColumnPlan", "plan_columns"]


@dataclass
class ColumnPlan:
    """Where each canonical field comes from, and which columns stay as extras."""

    mapping: dict[str, str] = field(default_factory=dict)
    """Source column → canonical field (as applied; recorded in the report)."""
    extras: dict[str, str] = field(default_factory=dict)
    """Source column → output name of each column kept as an extra."""

    @property
    def source_of(self) -> dict[str, str]:
        """Canonical field → source column."""
        return {dst: src for src, dst in self.mapping.items()}


def _find_column(name: str, columns: Sequence[str]) -> str | None:
    if name in columns:
        return name
    folded = [c for c in columns if c.casefold() == name.casefold()]
    return folded[0] if folded else None


def _personal_source(column: str, schema: LayerSchema) -> str | None:
    """The personal field a column would be read as by name or alias, if any."""
    target = schema.alias_map().get(column.strip().casefold())
    return target if target in schema.personal_fields else None


def plan_columns(
    columns: Sequence[str],
    schema: LayerSchema,
    mapping: Mapping[str, str] | None,
    out: Collector,
) -> ColumnPlan:
    """Decide the source of every canonical field; record problems in ``out``.

    Parameters
    ----------
    columns
        The source's attribute columns (geometry column excluded), unique names.
    schema
        The target layer schema.
    mapping
        User mapping ``{source column: canonical field}``, applied first.
    out
        Collector receiving file-level errors (unknown target, missing source) and
        warnings (a column left as an extra because its field was already taken).

    Returns
    -------
    ColumnPlan
    """
    plan = ColumnPlan()
    fields = {f.casefold(): f for f in schema.field_names}
    taken: dict[str, str] = {}  # canonical -> source

    for src, dst in (mapping or {}).items():
        target = fields.get(str(dst).strip().casefold())
        column = _find_column(str(src), columns)
        problems = False
        if target is None:
            out.error(
                None,
                "mapping",
                f"--map {src}={dst}: {quote(dst)} is not a field of the {schema.name} layer",
                f"map to one of: {', '.join(schema.field_names)}",
            )
            problems = True
        if column is None:
            out.error(
                None,
                "mapping",
                f"--map {src}={dst}: the file has no column {quote(src)}",
                f"use one of the file's columns: {', '.join(columns) or '(none)'}",
            )
            problems = True
        if problems:
            continue
        personal = _personal_source(column, schema)
        if personal is not None and target not in schema.personal_fields:
            # the values would become labels, map popups and report rows: never allowed
            out.error(
                None,
                "mapping",
                f"--map {src}={dst}: column {quote(column)} holds victims' personal data (it is "
                f"read as {personal}); mapping it onto {target} would show it in messages, maps "
                "and reports",
                f"leave {quote(column)} unmapped (it is kept as {personal}, for planners only) "
                "or map another column to " + target,
            )
            continue
        if target in taken:
            out.error(
                None,
                "mapping",
                f"--map maps both {quote(taken[target])} and {quote(column)} to {target}",
                "map only one source column to each field",
            )
            continue
        if column in plan.mapping:
            out.error(
                None,
                "mapping",
                f"--map maps column {quote(column)} to both {plan.mapping[column]} and {target}",
                "map each source column to one field only",
            )
            continue
        taken[target] = column
        plan.mapping[column] = target

    aliases = schema.alias_map()
    # canonical names win over aliases, whatever the column order
    for rank in ("canonical", "alias"):
        for col in columns:
            if col in plan.mapping:
                continue
            key = col.strip().casefold()
            target = fields.get(key) if rank == "canonical" else aliases.get(key)
            if target is None:
                continue
            if target in taken:
                out.warning(
                    None,
                    col,
                    f"column {quote(col)} looks like {target}, but {target} already comes "
                    f"from column {quote(taken[target])}; {quote(col)} is kept as an "
                    "extra column",
                    f"if {quote(col)} is the right source, pass --map {col}={target}",
                )
                continue
            taken[target] = col
            plan.mapping[col] = target

    reserved = {f.casefold() for f in schema.field_names} | {"geometry"}
    used = {c.casefold() for c in columns if c not in plan.mapping} | reserved
    for col in columns:
        if col in plan.mapping:
            continue
        name = col
        if col.casefold() in reserved:
            base = f"{col}_source"
            name = base
            n = 2
            while name.casefold() in used:
                name = f"{base}{n}"
                n += 1
            used.add(name.casefold())
            out.warning(
                None,
                col,
                f"column {quote(col)} is not used for the field of that name (another column "
                f"is mapped to it); it is kept as the extra column {quote(name)}",
            )
        plan.extras[col] = name
    return plan
