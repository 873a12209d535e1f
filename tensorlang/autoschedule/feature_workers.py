"""Feature vectors of many candidates, extracted in forked children side by side.

Guarantees: ``extract`` returns one entry per config, in order, each what ``cost_model.features``
gives in this process (a vector, or None for a candidate that cannot be lowered); a child that
fails or runs past its time has its share extracted here instead, so a result never depends on
the children.  A search's feature extraction (lowering each candidate up to loop partitioning,
~0.07 s of Python a matmul candidate) is most of its time, and while it searches no candidate is
built or measured: the cores the builder uses are free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autotune.measure.executor import map_in_children
from .cost_model import features

# Seconds a child may take for its share before it is extracted here instead.
_TIMEOUT = 120.0


def extract(task: Any, configs: Sequence[Any], workers: int) -> list[np.ndarray | None]:
    """The features of ``configs`` (``cost_model.features``), in up to ``workers`` forked children
    (each a contiguous share; from the main thread, as the builder forks)."""
    return map_in_children(lambda share: [features(task, c) for c in share], configs, workers, _TIMEOUT)
