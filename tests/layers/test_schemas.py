"""The layer schemas are consistent declarations."""

from __future__ import annotations

import pytest

from minemap.layers import LAYER_NAMES, LAYERS, get_schema


def test_canonical_layers() -> None:
    assert LAYER_NAMES == (
        "casualties",
        "strikes",
        "hazards",
        "cleared",
        "farmland",
        "settlements",
    )


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_aliases_do_not_collide(name: str) -> None:
    schema = LAYERS[name]
    seen: dict[str, str] = {}
    for field in schema.fields:
        for key in (field.name, *field.aliases):
            assert seen.setdefault(key.lower(), field.name) == field.name, (name, key)
    assert schema.field(schema.id_field).unique


def test_only_casualties_carry_personal_fields() -> None:
    assert LAYERS["casualties"].personal_fields == ("victim_name", "victim_age", "victim_sex")
    assert all(not LAYERS[n].personal_fields for n in LAYER_NAMES if n != "casualties")


def test_unknown_layer_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=", ".join(LAYER_NAMES)):
        get_schema("mines")
