"""Settlements: where people live, and how many (optional layer).

Cities, towns, villages and hamlets as points (a place node) or polygons (a built-up
outline or a settlement boundary), each with its population. The risk core counts the
people living within walking distance of each task (``people_exposed``, see
:mod:`minemap.risk.exposure`). Population figures are public reference data (census,
OpenStreetMap ``population`` tags, HDX/COD population tables): the layer has no personal
fields. The aliases cover OpenStreetMap/HOT exports (``osm_id``, ``place``, ``name:uk``,
``population``) and HDX common operational datasets (``ADM4_PCODE``).
"""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="settlements",
    description="Settlements (points or outlines) with their population",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    id_field="settlement_id",
    fields=(
        Field(
            "settlement_id",
            "str",
            "Unique settlement id (e.g. KATOTTG code, P-code or OSM id)",
            required=True,
            unique=True,
            max_length=100,
            aliases=(
                "id",
                "osm_id",
                "@id",
                "full_id",
                "place_id",
                "pcode",
                "adm4_pcode",
                "katottg",
                "koatuu",
            ),
        ),
        Field(
            "name",
            "str",
            "Name of the settlement",
            max_length=200,
            aliases=("name:uk", "name_uk", "name:en", "name_en", "settlement", "place_name"),
        ),
        Field(
            "population",
            "int",
            "Number of residents (0 for an abandoned place)",
            required=True,
            min_value=0,
            max_value=50_000_000,
            aliases=("pop", "population_total", "residents", "населення"),
        ),
        Field(
            "population_year",
            "int",
            "Year of the population figure",
            min_value=1800,
            max_value=2100,
            aliases=("pop_year", "census_year", "year"),
        ),
        Field(
            "source",
            "str",
            "Source of the population figure",
            max_length=500,
            aliases=("population:source", "source:population", "pop_source"),
        ),
        Field(
            "settlement_type",
            "enum",
            "Kind of settlement",
            choices=("city", "town", "village", "hamlet", "isolated_dwelling", "other"),
            choice_aliases={
                # Ukrainian (official categories since 2024: місто, селище, село)
                "місто": "city",
                "м.": "city",
                "селище": "town",
                "смт": "town",
                "селище міського типу": "town",
                "село": "village",
                "с.": "village",
                "хутір": "hamlet",
                # Russian, as still found in older registers
                "город": "city",
                "поселок": "town",
                "посёлок": "town",
                "пгт": "town",
                "деревня": "village",
                "хутор": "hamlet",
                # OpenStreetMap place=* values that are parts of, or not, settlements
                "suburb": "other",
                "neighbourhood": "other",
                "quarter": "other",
                "locality": "other",
                "farm": "isolated_dwelling",
            },
            aliases=("place", "type", "settlement_class", "category"),
        ),
    ),
)
