"""The canonical layers, their schemas declared as data (one module each).

Five evidence and context layers, plus the optional ``settlements`` layer (people
exposed); every layer may be empty.
"""

from __future__ import annotations

from minemap.layers import casualties, cleared, farmland, hazards, settlements, strikes
from minemap.layers._schema import Field, FieldKind, LayerSchema

__all__ = ["LAYERS", "LAYER_NAMES", "Field", "FieldKind", "LayerSchema", "get_schema"]

LAYERS: dict[str, LayerSchema] = {
    m.SCHEMA.name: m.SCHEMA for m in (casualties, strikes, hazards, cleared, farmland, settlements)
}
LAYER_NAMES: tuple[str, ...] = tuple(LAYERS)


def get_schema(layer: str) -> LayerSchema:
    """The schema of ``layer``; a clear error naming the valid layers otherwise."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise ValueError(
            f"unknown layer {layer!r}; choose one of: {', '.join(LAYER_NAMES)}"
        ) from None
