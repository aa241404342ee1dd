"""Hazard areas from non-technical survey: suspected (SHA) or confirmed (CHA)."""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="hazards",
    description="Suspected (SHA) and confirmed (CHA) hazardous areas",
    geometry_types=("Polygon", "MultiPolygon"),
    id_field="hazard_id",
    fields=(
        Field(
            "hazard_id",
            "str",
            "Unique hazard id",
            required=True,
            unique=True,
            max_length=100,
            aliases=("id", "hazard", "area_id"),
        ),
        Field(
            "date",
            "date",
            "Date the hazard was recorded (ISO 8601)",
            required=True,
            aliases=("survey_date", "recorded"),
        ),
        Field(
            "hazard_type",
            "enum",
            "SHA (indirect evidence) or CHA (direct evidence)",
            required=True,
            choices=("SHA", "CHA"),
            choice_aliases={
                "suspected": "SHA",
                "confirmed": "CHA",
                "suspected hazardous area": "SHA",
                "confirmed hazardous area": "CHA",
            },
            aliases=("type", "classification"),
        ),
        Field(
            "evidence",
            "str",
            "Evidence behind the classification",
            max_length=1000,
            aliases=("evidence_description", "notes"),
        ),
        Field(
            "contamination",
            "enum",
            "Kind of contamination",
            required=True,
            choices=("AP", "AT", "CMR", "UXO", "IED", "mixed", "unknown"),
            choice_aliases={"cluster": "CMR", "erw": "UXO", "apm": "AP", "atm": "AT"},
            aliases=("contamination_type", "hazard_contamination"),
        ),
        Field(
            "status",
            "enum",
            "Status of the hazard",
            choices=("active", "in_progress", "closed"),
            choice_aliases={"open": "active", "in progress": "in_progress"},
        ),
    ),
)
