"""The bundled demo data set and loading it into a store through the real pipeline.

The demo files (``minemap/data/demo/``, provenance in ``data/README.md``) go through the
same read → validate → store path as any field upload, so the demo exercises the real
ingestion, and a demo store is an ordinary store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from minemap._errors import MinemapError
from minemap.ingest import IngestResult, ingest_file
from minemap.layers import LAYER_NAMES

__all__ = ["DEMO_USER", "demo_data_dir", "load_demo"]

DEMO_USER = "demo-loader"


def demo_data_dir() -> Path:
    """Folder of the bundled demo GeoJSON files (one per layer, plus admin and region)."""
    return Path(str(resources.files("minemap") / "data" / "demo"))


def load_demo(
    store: str | os.PathLike[str],
    *,
    on_layer: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest every demo layer into ``store`` (all or nothing per file).

    Raises
    ------
    MinemapError
        If a demo file is rejected — the bundled data are broken, which tests guard against.
    """
    results = []
    for layer in LAYER_NAMES:
        path = demo_data_dir() / f"{layer}.geojson"
        result = ingest_file(path, layer, store=store, user=DEMO_USER)
        if result.status != "accepted":
            problems = "; ".join(str(p) for p in result.report.errors[:5])
            raise MinemapError(f"bundled demo file {path.name} was rejected: {problems}")
        results.append(result)
        if on_layer:
            on_layer(result)
    return results
