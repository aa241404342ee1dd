"""minemap: prioritised mine-clearance maps with a farmland-impact risk score.

The core package is UI-free (it never imports Streamlit). One module per concern:

- :mod:`minemap.layers` — the five canonical layers, schemas declared as data;
- :mod:`minemap.io` — all file access: safe reading of uploads, export;
- :mod:`minemap.validate` — collect-every-problem validation and recorded repairs;
- :mod:`minemap.store` — the embedded GeoPackage store (all-or-nothing imports);
- :mod:`minemap.risk` — hazard surface, tasks and explainable priorities;
- :mod:`minemap.geometry` — equal-area and geodesic areas, CRS safety.
"""

from __future__ import annotations

from minemap._errors import (
    ConfigError,
    CRSError,
    MinemapError,
    StoreError,
    UnsafeInputError,
    UnsupportedFormatError,
    UploadError,
    ValidationError,
)
from minemap._report import Problem, Repair, Report

__version__ = "0.1.0"

__all__ = [
    "CRSError",
    "ConfigError",
    "MinemapError",
    "Problem",
    "Repair",
    "Report",
    "StoreError",
    "UnsafeInputError",
    "UnsupportedFormatError",
    "UploadError",
    "ValidationError",
    "__version__",
]
