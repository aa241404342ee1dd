"""Farmland parcels: what clearance gives back to farmers."""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="farmland",
    description="Farmland parcels with land use and value",
    geometry_types=("Polygon", "MultiPolygon"),
    id_field="parcel_id",
    fields=(
        Field(
            "parcel_id",
            "str",
            "Unique parcel id (e.g. cadastral number)",
            required=True,
            unique=True,
            max_length=100,
            aliases=("id", "cadnum", "cadastral_number"),
        ),
        Field(
            "land_use",
            "enum",
            "Land use",
            required=True,
            choices=(
                "arable",
                "pasture",
                "orchard",
                "vineyard",
                "hayfield",
                "fallow",
                "greenhouse",
                "other",
            ),
            choice_aliases={
                "cropland": "arable",
                "meadow": "hayfield",
                "grassland": "pasture",
                "ріллі": "arable",
                "рілля": "arable",
                "пасовище": "pasture",
                "сад": "orchard",
            },
            aliases=("landuse", "use_type"),
        ),
        Field("crop", "str", "Crop grown, where known", max_length=100),
        Field(
            "value_per_ha",
            "float",
            "Value per hectare per year (UAH/ha)",
            min_value=0,
            max_value=10_000_000,
            aliases=("value", "value_uah_per_ha"),
        ),
    ),
)
