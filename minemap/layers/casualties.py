"""Casualty reports: one point per mine/ERW incident (accident) with its victims.

Victims' personal fields (``victim_name``, ``victim_age``, ``victim_sex``) are declared
``personal``: they never leave the planner role.
"""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="casualties",
    description="Mine/ERW casualty reports (incidents), one point each",
    geometry_types=("Point",),
    id_field="incident_id",
    fields=(
        Field(
            "incident_id",
            "str",
            "Unique incident id",
            required=True,
            unique=True,
            max_length=100,
            aliases=("id", "incident", "accident_id", "event_id"),
        ),
        Field(
            "date",
            "date",
            "Date of the incident (ISO 8601)",
            required=True,
            aliases=("incident_date", "event_date", "date_of_incident", "дата"),
        ),
        Field(
            "killed",
            "int",
            "People killed",
            required=True,
            min_value=0,
            max_value=1000,
            aliases=("deaths", "dead", "fatalities", "загинуло"),
        ),
        Field(
            "injured",
            "int",
            "People injured",
            required=True,
            min_value=0,
            max_value=1000,
            aliases=("wounded", "injuries", "поранено"),
        ),
        Field(
            "civilian",
            "bool",
            "Whether the victims were civilians",
            required=True,
            aliases=("is_civilian", "civilians"),
        ),
        Field(
            "activity",
            "str",
            "Activity at the time (e.g. agriculture, travel, demining)",
            max_length=200,
            aliases=("victim_activity", "activity_at_time"),
        ),
        Field(
            "munition_type",
            "str",
            "Device as reported (free text)",
            max_length=200,
            aliases=("device", "device_type", "munition", "weapon", "ordnance"),
        ),
        Field("source", "str", "Who reported it", max_length=300, aliases=("reported_by",)),
        Field(
            "victim_name",
            "str",
            "Victim name (personal data)",
            personal=True,
            max_length=300,
            aliases=("name", "victim"),
        ),
        Field(
            "victim_age",
            "int",
            "Victim age in years (personal data)",
            personal=True,
            min_value=0,
            max_value=120,
            aliases=("age",),
        ),
        Field(
            "victim_sex",
            "enum",
            "Victim sex (personal data)",
            personal=True,
            choices=("female", "male", "unknown"),
            choice_aliases={
                "f": "female",
                "m": "male",
                "w": "female",
                "ж": "female",
                "ч": "male",
                "u": "unknown",
            },
            aliases=("sex", "gender"),
        ),
        Field("oblast", "str", "Oblast (region)", max_length=100, aliases=("region", "adm1")),
        Field(
            "hromada",
            "str",
            "Hromada (municipality)",
            max_length=100,
            aliases=("municipality", "community", "adm3"),
        ),
    ),
)
