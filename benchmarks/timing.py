"""The timing loop the benchmarks share: the best of a few calls, by a clock of their choice.

The scripts run as ``python benchmarks/bench_*.py``, so this module is imported by name from
the folder they are in."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeats: int = 3,
            clock: Callable[[], float] = time.perf_counter) -> tuple[float, T]:
    """The shortest of ``repeats`` calls of ``fn`` (seconds by ``clock``: wall time by default,
    ``time.process_time`` for CPU) and the last call's result."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        out = fn()
        best = min(best, clock() - start)
    return best, out
