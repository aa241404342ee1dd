"""Wall time and peak memory of a call, measured the same way for minemap and baselines."""

from __future__ import annotations

import gc
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Measurement:
    label: str
    seconds: float
    peak_rss_mb: float
    result: Any = None

    def line(self) -> str:
        return f"{self.label:<38} {self.seconds:9.2f} s   peak RSS {self.peak_rss_mb:8.0f} MB"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def measure(label: str, func: Callable[[], Any]) -> Measurement:
    """Run ``func`` once; wall time and the peak resident memory seen while it ran."""
    gc.collect()
    peak = _rss_mb()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.02):
            peak = max(peak, _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = func()
    finally:
        elapsed = time.perf_counter() - start
        stop.set()
        sampler.join()
    peak = max(peak, _rss_mb())
    return Measurement(label, elapsed, peak, result)


def ratio_line(ours: Measurement, baseline: Measurement) -> str:
    """``baseline time / minemap time``: above 1 means minemap is faster."""
    ratio = baseline.seconds / ours.seconds
    return f"ratio (baseline / minemap): {ratio:.2f}x  [{baseline.label} vs {ours.label}]"
