"""Validate and repair a source frame as one of the five canonical layers.

:func:`validate_layer` maps the source columns onto the layer's fields, types and checks
every value, checks and repairs every geometry, and collects **every** problem in one
pass into a :class:`~minemap._report.Report` — it never raises for bad data. See
``docs/validation.md`` for each problem class: what is checked, repaired or rejected.
"""

from __future__ import annotations

from minemap.validate._layer import ValidationResult, validate_layer

__all__ = ["ValidationResult", "validate_layer"]
