"""Timing a candidate on a shared CPU: repeats whose cores were lent away are measured again.

Guarantees: every returned cost is the mean seconds of one repeat's calls; a repeat counts only
when the process's CPU time covered at least ``LENT_AWAY`` of its wall time times the kernel's
parallelism (the highest CPU/wall ratio seen, at least 1), else it is measured again, up to
``max_retries`` times (the last try counts whatever it shows, so a busy machine slows tuning
down but never stops it); exactly ``repeat`` costs come back (TVM's contract) unless an
``AdaptiveRepeats`` policy is given, which then decides how many (at least one).  ``rank_cost``
is the statistic tuners rank trials by, ``steady_cost`` the one confirmed leaders are ranked by.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

LENT_AWAY = 0.85
# ``number`` calls at the speed of a preceding untimed call must last this many times
# ``min_repeat_ms`` for the calibrating repeat to be skipped (a cold call may be the slower).
CALIBRATED = 1.5


@dataclass(frozen=True)
class Timings:
    costs: tuple[float, ...]
    retried: int  # repeats measured again because their cores were lent away
    parallelism: float  # the highest CPU time / wall time seen (threads really used)


@dataclass(frozen=True)
class AdaptiveRepeats:
    """How many repeats a candidate gets, chosen by what its first repeats show.

    A candidate whose first repeat is slower than ``cutoff`` seconds per call stops there: it
    cannot lead, and more repeats would only refine the figure of a loser.  A candidate whose
    ``repeat`` repeats disagree by more than ``noisy`` (range over median) gets more, up to
    ``max_repeat``: the median of a noisy candidate needs more samples to be trusted."""

    cutoff: float = math.inf
    noisy: float = 0.05
    max_repeat: int = 6


def spread_of(costs: Sequence[float]) -> float:
    """(slowest - fastest) / median of ``costs``; 0 for fewer than two."""
    return (max(costs) - min(costs)) / statistics.median(costs) if len(costs) > 1 else 0.0


def rank_cost(costs: Sequence[float]) -> float:
    """The cost tuners rank candidates by: the median repeat (robust to one lucky or one
    disturbed repeat, unlike the mean or the minimum)."""
    return statistics.median(costs) if costs else float("inf")


def steady_cost(costs: Sequence[float]) -> float:
    """The cost confirmed leaders are ranked by: the upper quartile of their round figures
    (each round a fresh process).  A config that is fast in some processes and slow in others
    (say, by where its memory landed) ranks by how slow it often is, not by its lucky rounds;
    the median and the upper quartile agree for a steady config, and with six rounds or more
    one disturbed round moves it little."""
    if not costs:
        return float("inf")
    if len(costs) == 1:
        return float(costs[0])
    return statistics.quantiles(costs, n=4, method="inclusive")[2]


def time_repeats(call: Callable[[], object], number: int, repeat: int, min_repeat_ms: float = 0.0,
                 before_repeat: Callable[[int], object] | None = None, max_retries: int = 1,
                 warm_up: bool = True, adaptive: AdaptiveRepeats | None = None,
                 first_call: float | None = None) -> Timings:
    """Time ``call``: ``repeat`` repeats of ``number`` calls (``number`` grows until a repeat
    lasts ``min_repeat_ms``); ``before_repeat(r)`` runs untimed before each (e.g. a cache flush).
    With ``adaptive``, the number of repeats follows the candidate (see ``AdaptiveRepeats``).
    ``first_call``: the seconds an untimed call just before took (the caller's check); when
    ``number`` such calls clearly last ``min_repeat_ms``, no calibrating repeat is run."""
    parallelism = 1.0
    if first_call is not None and number * first_call * 1e3 >= CALIBRATED * min_repeat_ms:
        min_repeat_ms = 0.0  # a cold first call is no faster than a warm one: number calls suffice

    def one(n: int, r: int) -> tuple[float, float]:
        if before_repeat is not None:
            before_repeat(r)
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            call()
        wall = time.perf_counter() - w0
        return wall, (time.process_time() - c0) / max(wall, 1e-9)

    if warm_up:
        wall, share = one(1, -1)
        parallelism = max(parallelism, share)
    n = number
    while min_repeat_ms > 0:
        wall, share = one(n, -1)
        parallelism = max(parallelism, share)
        if wall * 1e3 >= min_repeat_ms or n >= 1 << 30:
            break
        n = max(2 * n, int(n * min_repeat_ms / max(wall * 1e3, 1e-3) * 1.2))
    costs: list[float] = []
    retried = 0
    while True:
        r = len(costs)
        for attempt in range(max_retries + 1):
            wall, share = one(n, r)
            parallelism = max(parallelism, share)
            if share >= LENT_AWAY * parallelism or attempt == max_retries:
                break
            retried += 1
        costs.append(wall / n)
        if adaptive is None:
            if len(costs) >= repeat:
                break
        elif len(costs) == 1 and costs[0] > adaptive.cutoff:
            break
        elif len(costs) >= repeat and (len(costs) >= adaptive.max_repeat or spread_of(costs) <= adaptive.noisy):
            break
    return Timings(tuple(costs), retried, parallelism)
