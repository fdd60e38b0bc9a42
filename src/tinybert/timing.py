"""Timing a call: the loop ``tinybert benchmark`` and the latency budget of ``tinybert prune`` share."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["time_calls"]


def time_calls(
    call: Callable[[], object], warmup: int, min_repeats: int, min_seconds: float, max_repeats: int
) -> list[float]:
    """Seconds per call of ``call``: after ``warmup`` untimed calls, call by call until at least
    ``min_repeats`` calls and ``min_seconds`` have passed (at most ``max_repeats`` calls)."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeats:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_repeats and time.perf_counter() - start >= min_seconds:
            break
    return times
