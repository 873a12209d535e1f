"""The built libraries of a tuning run's fastest trials, kept until its leaders are re-measured.

A run ends by re-measuring its leaders side by side (``tuner.remeasure_leaders``).  Without this
their libraries, deleted after their trials, were built again for it: two or three builds at the
end of every run (a second or more of a small tune, more for a CUDA kernel).  A measure batch
offers each trial's library here; the fastest ``size`` trials' stay on disk, the rest are deleted
as they drop out, and the re-measurement takes what it finds.
"""

from __future__ import annotations

import bisect
import math
import os
from typing import Any

from .measure import MeasureInput, MeasureResult
from .timing import rank_cost

KEEP = 8  # as many as the tuners remember leaders (tuner._LEADERS)


def _unlink(build: Any) -> None:
    filename = getattr(build, "filename", None)
    if isinstance(filename, str) and os.path.exists(filename):
        os.unlink(filename)


class KeptBuilds:
    """Up to ``size`` successful trials' build results, fastest first, ranked as the tuners rank
    trials (the median repeat).  The files of builds that drop out, or that are still here at
    ``close``, are deleted; a build ``take`` returns belongs to the caller."""

    def __init__(self, size: int = KEEP):
        self.size = size
        self._ranked: list[tuple[float, int, int, Any]] = []  # (cost, arrival, config index, build)
        self._arrivals = 0

    def offer(self, inp: MeasureInput, build: Any, result: MeasureResult) -> bool:
        """Take ``build`` (the library ``inp``'s trial ``result`` ran) if that trial is among the
        fastest so far.  True when kept: the caller must not delete its file."""
        cost = rank_cost(result.costs) if result.ok and result.costs else math.inf
        index = getattr(inp.config, "index", None)
        if not math.isfinite(cost) or not isinstance(getattr(build, "filename", None), str) or index is None \
                or any(entry[2] == index for entry in self._ranked):
            return False
        self._arrivals += 1
        entry = (cost, self._arrivals, index, build)
        bisect.insort(self._ranked, entry, key=lambda e: (e[0], e[1]))
        if len(self._ranked) > self.size:
            dropped = self._ranked.pop()
            if dropped is entry:
                return False
            _unlink(dropped[3])
        return True

    def take(self, inp: MeasureInput) -> Any | None:
        """The kept build of ``inp``'s config (now the caller's), or None."""
        index = getattr(inp.config, "index", None)
        for k, entry in enumerate(self._ranked):
            if entry[2] == index and os.path.exists(entry[3].filename):
                del self._ranked[k]
                return entry[3]
        return None

    def close(self) -> None:
        """Delete the files of every build still kept."""
        for entry in self._ranked:
            _unlink(entry[3])
        self._ranked.clear()

    def __len__(self) -> int:
        return len(self._ranked)
