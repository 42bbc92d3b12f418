"""Helpers shared by the benchmark scripts (machine description, timing)."""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_proxgrad import machine_description  # noqa: E402,F401  (house-style machine block)


def median_time(fn, repeats):
    """Median wall time of ``repeats`` calls of ``fn``; returns (seconds, last output)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out
