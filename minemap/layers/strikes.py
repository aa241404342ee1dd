"""Cluster-munition and other strike sites: a point, or a footprint polygon where mapped."""

from __future__ import annotations

from minemap.layers._schema import Field, LayerSchema

__all__ = ["SCHEMA"]

SCHEMA = LayerSchema(
    name="strikes",
    description="Strike sites (cluster munitions and other ordnance), points or footprints",
    geometry_types=("Point", "Polygon", "MultiPolygon"),
    id_field="strike_id",
    fields=(
        Field(
            "strike_id",
            "str",
            "Unique strike id",
            required=True,
            unique=True,
            max_length=100,
            aliases=("id", "event_id", "site_id"),
        ),
        Field(
            "date",
            "date",
            "Date of the strike (ISO 8601)",
            required=True,
            aliases=("strike_date", "event_date"),
        ),
        Field(
            "munition_type",
            "str",
            "Munition as reported, e.g. 9M55K, Uragan, M26 (free text)",
            required=True,
            max_length=200,
            aliases=("munition", "weapon", "weapon_system"),
        ),
        Field(
            "cluster_munition",
            "bool",
            "Whether it was a cluster munition",
            required=True,
            aliases=("cluster", "is_cluster", "cluster_munitions"),
        ),
        Field(
            "submunitions",
            "int",
            "Number of submunitions, where known",
            min_value=0,
            max_value=100_000,
            aliases=("submunition_count",),
        ),
        Field(
            "uxo_reported",
            "int",
            "Unexploded items reported at the site",
            min_value=0,
            max_value=100_000,
            aliases=("uxo", "duds_reported"),
        ),
        Field(
            "status",
            "enum",
            "Survey status of the site",
            choices=("reported", "confirmed", "surveyed", "cleared"),
            aliases=("site_status",),
        ),
        Field("source", "str", "Who reported it", max_length=300),
    ),
)
