"""Released land (IMAS 07.11): cancelled by non-technical survey, reduced by technical
survey, or cleared. Every area figure downstream uses the union of these polygons."""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="cleared",
    description="Released land: cancelled, reduced or cleared",
    geometry_types=("Polygon", "MultiPolygon"),
    id_field="survey_id",
    fields=(
        Field(
            "survey_id",
            "str",
            "Unique release/survey id",
            required=True,
            unique=True,
            max_length=100,
            aliases=("id", "release_id", "task_id"),
        ),
        Field(
            "date",
            "date",
            "Date the land was released (ISO 8601)",
            required=True,
            aliases=("release_date", "completion_date", "date_completed"),
        ),
        Field("team", "str", "Team that did the work", required=True, max_length=200),
        Field(
            "operator",
            "str",
            "Mine action operator (organisation)",
            required=True,
            max_length=200,
            aliases=("organisation", "organization", "org"),
        ),
        Field(
            "hazard_type",
            "enum",
            "Type of the hazard released",
            choices=("SHA", "CHA"),
            choice_aliases={"suspected": "SHA", "confirmed": "CHA"},
        ),
        Field(
            "status",
            "enum",
            "How the land was released",
            required=True,
            choices=("cleared", "reduced", "cancelled"),
            choice_aliases={"canceled": "cancelled", "clear": "cleared"},
            aliases=("release_status", "release_method"),
        ),
        Field(
            "method",
            "enum",
            "Method used",
            required=True,
            choices=("manual", "mechanical", "dog", "technical survey", "non-technical survey"),
            choice_aliases={
                "mdd": "dog",
                "ts": "technical survey",
                "nts": "non-technical survey",
                "machine": "mechanical",
                "technical_survey": "technical survey",
                "non_technical_survey": "non-technical survey",
            },
        ),
        Field(
            "area_m2",
            "float",
            "Declared area in m² (checked against the geometry)",
            min_value=0,
            aliases=("area", "area_sqm"),
        ),
        Field(
            "devices_found",
            "int",
            "Explosive items found and destroyed",
            min_value=0,
            max_value=1_000_000,
            aliases=("items_found", "devices"),
        ),
        Field("munition_type", "str", "Types of items found (free text)", max_length=500),
        Field(
            "cost_uah",
            "float",
            "Recorded cost of the release in UAH (funder reports show cost per hectare)",
            min_value=0,
            max_value=1e11,
            aliases=("cost",),
        ),
    ),
)
