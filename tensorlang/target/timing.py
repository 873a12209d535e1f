"""The one timing loop of every runtime's ``time_evaluator``, and the result type it returns.

Guarantees: every figure is the mean seconds per call over at least ``number`` calls, and a
repeat grows its call count until it lasts ``min_repeat_ms``; options are checked the same way
for every backend.
"""

from __future__ import annotations

import math
import numbers
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ArgumentError


@dataclass(frozen=True)
class ProfileResult:
    """Per-repeat mean seconds per call, and summary statistics over the repeats."""

    results: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.results)

    @property
    def median(self) -> float:
        return statistics.median(self.results)

    @property
    def min(self) -> float:
        return min(self.results)

    @property
    def max(self) -> float:
        return max(self.results)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.results)

    def __str__(self) -> str:
        return (f"ProfileResult(mean={self.mean * 1e3:.4f} ms, median={self.median * 1e3:.4f} ms, "
                f"min={self.min * 1e3:.4f} ms, max={self.max * 1e3:.4f} ms, repeats={len(self.results)})")


def timing_options(module: Any, func_name: Any, dev: Any, number: int | None, repeat: int | None,
                   min_repeat_ms: float | None) -> tuple[int, int, float]:
    """Normalize time_evaluator's TVM-style arguments (also ``time_evaluator(number, repeat,
    min_repeat_ms)`` positionally) to (number, repeat, min_repeat_ms)."""
    if isinstance(func_name, numbers.Integral) and not isinstance(func_name, bool):
        number, repeat, min_repeat_ms = (int(func_name), dev if dev is not None else repeat,
                                         number if number is not None else min_repeat_ms)
    elif func_name is not None:
        module[func_name]  # noqa: B018 -- raises KeyError for another name
    for arg, value in (("number", number), ("repeat", repeat)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise ArgumentError(f"time_evaluator {arg} must be an int, got {value!r}")
    if min_repeat_ms is not None and (isinstance(min_repeat_ms, bool) or not isinstance(min_repeat_ms, numbers.Real)):
        raise ArgumentError(f"time_evaluator min_repeat_ms must be a number, got {min_repeat_ms!r}")
    number = 10 if number is None else int(number)
    repeat = 1 if repeat is None else int(repeat)
    min_ms = 0.0 if min_repeat_ms is None else float(min_repeat_ms)
    if number < 1 or repeat < 1:
        raise ArgumentError(f"time_evaluator needs number >= 1 and repeat >= 1, got {number}, {repeat}")
    return number, repeat, min_ms


# TVM's f_preproc that evicts the arguments from the CPU caches before each repeat (all but the
# first, the output, in TVM; here the whole cache, which covers them).
CACHE_FLUSH = "cache_flush_cpu_non_first_arg"
FLUSH_BYTES = 64 * 2**20  # a cache flush writes this much: more than the last-level caches here (32 MiB L3)


def before_repeat(f_preproc: str = "", cooldown_interval_ms: float = 0.0,
                  repeats_to_cooldown: int = 1) -> Callable[[int], None] | None:
    """What runs, untimed, before repeat ``r`` of a time_evaluator (TVM 0.12's options): a cache
    flush (``f_preproc`` "cache_flush_cpu_non_first_arg"), and a sleep of ``cooldown_interval_ms``
    after every ``repeats_to_cooldown`` repeats; None when nothing does."""
    if f_preproc not in ("", CACHE_FLUSH):
        raise ArgumentError(f"time_evaluator f_preproc must be '' or '{CACHE_FLUSH}', got {f_preproc!r}")
    for arg, value in (("cooldown_interval_ms", cooldown_interval_ms), ("repeats_to_cooldown", repeats_to_cooldown)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ArgumentError(f"time_evaluator {arg} must be a non-negative number, got {value!r}")
    every = max(int(repeats_to_cooldown), 1)
    flush = np.empty(FLUSH_BYTES, np.uint8) if f_preproc == CACHE_FLUSH else None
    if flush is None and not cooldown_interval_ms:
        return None

    def prepare(r: int) -> None:
        if cooldown_interval_ms and r and r % every == 0:
            time.sleep(cooldown_interval_ms / 1e3)
        if flush is not None:
            flush.fill(r & 0xFF)
    return prepare


def repeat_timings(run: Callable[[int], float], number: int, repeat: int, min_ms: float,
                   prepare: Callable[[int], None] | None = None) -> ProfileResult:
    """``repeat`` figures, each the mean seconds per call of ``run(n)`` (n calls, returning the
    elapsed seconds), with n starting at ``number`` and growing until a repeat lasts ``min_ms``;
    ``prepare(r)`` runs untimed before repeat ``r`` (``before_repeat``)."""
    n, results = number, []
    for r in range(repeat):
        if prepare is not None:
            prepare(r)
        while True:
            elapsed = run(n)
            if elapsed * 1e3 >= min_ms or n >= 1 << 30:
                break
            n = max(2 * n, math.ceil(n * min_ms / max(elapsed * 1e3, 1e-3) * 1.2))
        results.append(elapsed / n)
    return ProfileResult(tuple(results))
