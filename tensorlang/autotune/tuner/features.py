"""Fixed-length feature vectors of configs for cost models; an invalid config gets ``None`` (scored -inf).

Three feature types, one class each (``FEATURE_TYPES`` maps their names to classes at the
API edge):

* ``ItervarFeature`` ("itervar"): from the lowered loop IR of the config (``lower`` only, no
  LLVM).  For the heaviest groups of stores, per enclosing loop (innermost first, a fixed
  depth): log2 extent, loop-kind one-hot, log2 of the iterations outside and inside, and per
  buffer access the stride w.r.t. that loop, the bytes touched below it and its reuse.
* ``CurveFeature`` ("curve"): per store group and buffer, the curve "log2 iterations of the
  innermost d loops" -> "log2 bytes touched by them", sampled at fixed points.
* ``KnobFeature`` ("knob"): ``ConfigEntity.get_flatten_feature()`` (no lowering at all).

The loop-IR analysis the first two read is ``loop_analysis.summarize``.

``FeatureCache`` keeps the rows of one task's configs by config index and can extract
missing rows in forked worker processes; every job carries the task's identity explicitly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ...ir.stmt import ForKind
from ...lowering import lower_schedule
from ..measure.executor import map_in_children
from ..space import ConfigEntity
from ..task import Task
from .loop_analysis import LoopNestSummary, StoreGroup, summarize
from .tuner import TunerError

# Extraction work of a config, in units of one plain config: lowering time grows with the
# unrolled IR (measured on a 256^3 matmul space: about 3.3 ms + 0.48 ms per store statement),
# so a config costs 1 unit plus one per this many stores of its lowered body.
STORES_PER_UNIT = 8
_KINDS = list(ForKind)


def _log2(x: float) -> float:
    return math.log2(x + 1.0) if x > 0 else 0.0


# --- feature types ----------------------------------------------------------------------------

class FeatureType(ABC):
    """How a config becomes a fixed-length vector (``None`` for a config that cannot be built)."""

    name: ClassVar[str]
    needs_lowering: ClassVar[bool] = True  # False: cheap enough to compute on every call

    @abstractmethod
    def length(self, task: Task) -> int:
        """Length of every vector of this task (IR-based types: the same for every task)."""

    @abstractmethod
    def extract(self, task: Task, config: ConfigEntity) -> np.ndarray | None:
        """The vector of ``config`` of ``task``; ``None`` when the template, a constraint
        or lowering rejects it."""

    def extract_costed(self, task: Task, config: ConfigEntity) -> tuple[np.ndarray | None, float]:
        """The vector and the work it took, in units of one plain config (see STORES_PER_UNIT)."""
        return self.extract(task, config), 1.0


class LoweredFeature(FeatureType):
    """Base of feature types read from the lowered loop IR of the config."""

    def extract(self, task: Task, config: ConfigEntity) -> np.ndarray | None:
        return self.extract_costed(task, config)[0]

    def extract_costed(self, task: Task, config: ConfigEntity) -> tuple[np.ndarray | None, float]:
        try:
            sch, args = task.instantiate(config)
            func = lower_schedule(sch, args, "main", target_kind=task.target_kind, check_ir=False)
        except Exception:  # noqa: BLE001 - template code and lowering may reject a config any way
            return None, 1.0
        summary = summarize(func)
        return self.from_summary(summary), 1.0 + summary.n_stores / STORES_PER_UNIT

    @abstractmethod
    def from_summary(self, summary: LoopNestSummary) -> np.ndarray:
        """The vector of one lowered function."""


def _global_features(summary: LoopNestSummary) -> list[float]:
    """Whole-function numbers: log2 of all element updates and of store statements, the
    number of allocations and log2 of their bytes (all, and local ones)."""
    total = sum(g.work for g in summary.groups)
    return [_log2(total), _log2(summary.n_stores), float(summary.n_allocs), _log2(summary.alloc_bytes),
            _log2(summary.local_alloc_bytes)]


class ItervarFeature(LoweredFeature):
    """Per-loop features of the heaviest store groups (TVM's "itervar" features).

    Layout: 5 global numbers, then per group (``n_groups``): 7 group numbers, 2 per access
    slot (vector lanes, vector stride), and per loop slot (``depth``, innermost first)
    ``8 + 3 * n_access`` numbers.  Missing groups, loops and accesses are zeros."""

    name = "itervar"
    N_GLOBAL = 5
    N_GROUP = 7
    N_LOOP = 8  # log2 extent, 5 kind one-hot, log2 iterations outside, log2 iterations inside

    def __init__(self, depth: int = 6, n_groups: int = 3, n_access: int = 4):
        self.depth, self.n_groups, self.n_access = depth, n_groups, n_access

    def _group_len(self) -> int:
        return self.N_GROUP + 2 * self.n_access + self.depth * (self.N_LOOP + 3 * self.n_access)

    def length(self, task: Task | None = None) -> int:
        return self.N_GLOBAL + self.n_groups * self._group_len()

    def from_summary(self, summary: LoopNestSummary) -> np.ndarray:
        out = np.zeros(self.length(), dtype=np.float32)
        out[:self.N_GLOBAL] = _global_features(summary)
        pos = self.N_GLOBAL
        for g in summary.groups[:self.n_groups]:
            self._group(g, out[pos:pos + self._group_len()])
            pos += self._group_len()
        return out

    def _group(self, g: StoreGroup, out: np.ndarray) -> None:
        accesses = g.accesses[:self.n_access]
        out[:self.N_GROUP] = [_log2(g.work), _log2(g.copies), _log2(g.lanes), float(g.reduction),
                              float(g.guarded), float(len(g.accesses)), float(len(g.extents))]
        pos = self.N_GROUP
        for k, a in enumerate(accesses):
            out[pos + 2 * k:][:2] = [_log2(a.lanes), _log2(abs(a.vec_stride))]
        pos += 2 * self.n_access
        n = len(g.extents)
        for slot in range(min(self.depth, n)):
            level = n - 1 - slot  # innermost loop first, so that slots line up across nests
            ext = g.extents[level]
            row = out[pos + slot * (self.N_LOOP + 3 * self.n_access):][:self.N_LOOP + 3 * self.n_access]
            row[0] = _log2(ext)
            row[1 + _KINDS.index(g.kinds[level])] = 1.0
            row[6] = _log2(math.prod(g.extents[:level]))
            row[7] = _log2(math.prod(g.extents[level:]) * g.lanes * g.copies)
            for k, a in enumerate(accesses):
                touched = a.footprint(g.extents, level)
                inner = math.prod(g.extents[level:]) * (a.lanes if a.vec_stride else 1)
                row[self.N_LOOP + 3 * k:][:3] = [_log2(abs(a.coeffs[level])), _log2(touched * a.elem_bytes),
                                                 _log2(inner / touched)]


class CurveFeature(LoweredFeature):
    """Per group and access slot, "log2 iterations of the innermost d loops" -> "log2 bytes
    touched", sampled at ``n_samples`` points from 0 to ``x_max`` (linear interpolation,
    flat beyond the outermost loop), followed by the 5 global numbers of ``ItervarFeature``."""

    name = "curve"

    def __init__(self, n_groups: int = 3, n_access: int = 4, n_samples: int = 16, x_max: float = 30.0):
        self.n_groups, self.n_access, self.n_samples = n_groups, n_access, n_samples
        self.xs = np.linspace(0.0, x_max, n_samples)

    def length(self, task: Task | None = None) -> int:
        return ItervarFeature.N_GLOBAL + self.n_groups * self.n_access * self.n_samples

    def from_summary(self, summary: LoopNestSummary) -> np.ndarray:
        out = np.zeros(self.length(), dtype=np.float32)
        out[:ItervarFeature.N_GLOBAL] = _global_features(summary)
        pos = ItervarFeature.N_GLOBAL
        for g in summary.groups[:self.n_groups]:
            n = len(g.extents)
            for k, a in enumerate(g.accesses[:self.n_access]):
                # Points from the innermost statement outwards: (iterations, bytes touched).
                x = [math.log2(g.lanes * g.copies)]
                y = [math.log2(a.footprint(g.extents, n) * a.elem_bytes)]
                for level in range(n - 1, -1, -1):
                    x.append(math.log2(math.prod(g.extents[level:]) * g.lanes * g.copies))
                    y.append(math.log2(a.footprint(g.extents, level) * a.elem_bytes))
                start = pos + k * self.n_samples
                out[start:start + self.n_samples] = np.interp(self.xs, np.maximum.accumulate(x), y)
            pos += self.n_access * self.n_samples
        return out


class KnobFeature(FeatureType):
    """The knob choices themselves (``ConfigEntity.get_flatten_feature``); constraint checks
    only, so a config the template itself rejects still gets a vector."""

    name = "knob"
    needs_lowering = False

    def length(self, task: Task) -> int:
        return len(task.config_space.get(0).get_flatten_feature())

    def extract(self, task: Task, config: ConfigEntity) -> np.ndarray | None:
        space = task.config_space
        if any(not check(config) for check, _ in space.constraints):
            return None
        return np.asarray(config.get_flatten_feature(), dtype=np.float32)


FEATURE_TYPES: dict[str, type[FeatureType]] = {cls.name: cls for cls in (ItervarFeature, CurveFeature, KnobFeature)}


def feature_type(spec: str | FeatureType) -> FeatureType:
    """A feature type from its name ("itervar", "knob", "curve") or an instance."""
    if isinstance(spec, FeatureType):
        return spec
    cls = FEATURE_TYPES.get(spec)
    if cls is None:
        raise TunerError(f"unknown feature type '{spec}' (known: {', '.join(FEATURE_TYPES)})")
    return cls()


# --- caching and parallel extraction ---------------------------------------------------------

@dataclass
class FeatureCache:
    """Rows of one task's configs by config index, extracted on demand, with the work each
    extraction took (units of one plain config).

    ``n_jobs > 1`` extracts batches of at least ``min_parallel`` missing configs in that many
    forked children (``executor.map_in_children``: a child that fails has its share extracted
    here).  Off by default: on the shared
    2-core machine two workers were anywhere from 1.7x faster to 1.3x slower than one."""

    task: Task
    ftype: FeatureType
    n_jobs: int = 1
    min_parallel: int = 16
    _rows: dict[int, np.ndarray | None] = field(default_factory=dict, repr=False)
    _len: int = 0

    def __post_init__(self) -> None:
        self._len = self.ftype.length(self.task)

    @property
    def length(self) -> int:
        return self._len

    def __len__(self) -> int:
        return len(self._rows)

    def cached(self, indices: Iterable[int]) -> np.ndarray:
        """Which indices need no new extraction (all of them for cheap feature types)."""
        if not self.ftype.needs_lowering:
            return np.ones(len(list(indices)), dtype=bool)
        return np.array([int(i) in self._rows for i in indices], dtype=bool)

    def known_indices(self) -> list[int]:
        """Indices with a stored row, in the order they were extracted."""
        return list(self._rows)

    def extract(self, indices: Iterable[int]) -> float:
        """Extract the rows of ``indices`` not stored yet; returns the work it took."""
        missing = list(dict.fromkeys(i for i in map(int, indices) if i not in self._rows))
        work = 0.0
        for i, (row, cost) in zip(missing, self._extract(missing)):
            self._rows[i] = self._fit(row)
            work += cost
        return work

    def rows(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(matrix of rows, validity mask) for ``indices``, extracting the missing ones."""
        idx = [int(i) for i in indices]
        self.extract(idx)
        x = np.zeros((len(idx), self._len), dtype=np.float32)
        valid = np.zeros(len(idx), dtype=bool)
        for r, i in enumerate(idx):
            row = self._rows[i]
            if row is not None:
                x[r] = row
                valid[r] = True
        return x, valid

    def _fit(self, row: np.ndarray | None) -> np.ndarray | None:
        if row is None or len(row) == self._len:
            return row
        out = np.zeros(self._len, dtype=np.float32)
        out[:min(len(row), self._len)] = row[:self._len]
        return out

    def _extract(self, indices: list[int]) -> list[tuple[np.ndarray | None, float]]:
        space = self.task.config_space

        def share(part: list[int]) -> list[tuple[np.ndarray | None, float]]:
            return [self.ftype.extract_costed(self.task, space.get(i)) for i in part]

        if self.n_jobs <= 1 or len(indices) < self.min_parallel or not self.ftype.needs_lowering:
            return share(indices)
        return map_in_children(share, indices, self.n_jobs)
