"""Plain data of measurement: what was measured, what came out, and why it failed.

A failing candidate is a result with an error kind, never an exception, so a tuning run
survives any candidate.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from ..space import ConfigEntity


class MeasureErrorNo(enum.IntEnum):
    """Why a measurement has no valid cost."""

    NO_ERROR = 0
    INSTANTIATION_ERROR = 1  # the template or a constraint rejected the config
    COMPILE_HOST = 2         # lowering or LLVM/NVRTC compilation failed
    COMPILE_DEVICE = 3
    RUNTIME_DEVICE = 4       # the candidate crashed (segfault, abort, exception) while running
    WRONG_ANSWER = 5         # the output differs from the reference
    BUILD_TIMEOUT = 6
    RUN_TIMEOUT = 7
    UNKNOWN_ERROR = 8

    @property
    def kind(self) -> str:
        """Short lower-case name used in logs and progress output."""
        return {0: "ok", 1: "instantiation", 2: "compile", 3: "compile", 4: "runtime", 5: "wrong_answer",
                6: "build_timeout", 7: "run_timeout", 8: "unknown"}[int(self)]


@dataclass(frozen=True)
class TaskRef:
    """A task's identity as stored in a log (usable without importing its template)."""

    name: str
    args: tuple
    target: str
    workload_key: str
    flop: float = 0.0


@dataclass(frozen=True)
class MeasureInput:
    """One candidate: the task (a Task or a TaskRef from a log) and its config."""

    target: str
    task: Any
    config: ConfigEntity

    def __getitem__(self, k: int) -> Any:  # TVM's MeasureInput is a namedtuple: inp[2] is the config
        return (self.target, self.task, self.config)[k]

    @property
    def state(self) -> ConfigEntity:
        """An auto-scheduler record's schedule (TVM's ``inp.state``): its sketch and decisions, which
        ``task.compute_dag.apply_steps_from_state`` and ``print_python_code_from_state`` take."""
        if "sketch" not in getattr(self.config, "_knobs", {}):
            raise AttributeError("only auto-scheduler records have a state; this record is an AutoTVM config "
                                 "(use inp.config)")
        return self.config

    def __iter__(self) -> Any:
        return iter((self.target, self.task, self.config))


@dataclass(frozen=True)
class Confirmation:
    """Marks a result as a confirmation, not a trial: the leaders of a tuning run re-measured
    together, interleaved, before a best was declared.  ``rank`` is this config's place among
    the ``of`` leaders (1: the declared best); the result's costs are one figure per round.
    ``after`` is how many lines the tuning log held when the confirmation was written beside it
    (``LOG.confirmed``): readers put it right after those lines, whatever the clocks of the
    machines that measured say (None: unknown, in logs written before it existed)."""

    rank: int
    of: int
    after: int | None = None


@dataclass(frozen=True, eq=False)
class MeasureResult:
    """Outcome of one candidate: per-repeat seconds (``costs``) when ``error_no`` is 0.

    The first four fields are TVM's, in TVM's order (``costs, error_no, all_cost, timestamp``)."""

    costs: tuple[float, ...]
    error_no: MeasureErrorNo
    all_cost: float = 0.0       # wall seconds spent on this candidate (build + run)
    timestamp: float = field(default_factory=time.time)
    error_msg: str = ""
    build_time: float = 0.0
    run_time: float = 0.0
    device: Any = None          # DeviceFingerprint of the device that measured it, when known
    confirm: Confirmation | None = None  # set on a confirmation of the leaders (not a trial)

    def __getitem__(self, k: int) -> Any:  # TVM's MeasureResult is a namedtuple of its first four fields
        return (self.costs, self.error_no, self.all_cost, self.timestamp)[k]

    def _key(self) -> tuple:
        return (tuple(self.costs), int(self.error_no), self.all_cost, self.timestamp, self.error_msg)

    def __eq__(self, other: object) -> bool:
        # What was measured, not where (device) or how long each phase took: a result read
        # back from a log equals the one written, as TVM's namedtuple results do.
        return isinstance(other, MeasureResult) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def ok(self) -> bool:
        return self.error_no == MeasureErrorNo.NO_ERROR

    @property
    def mean_cost(self) -> float:
        return sum(self.costs) / len(self.costs) if self.ok and self.costs else float("inf")


# TVM's autotvm.measure.measure also holds the builder/runner bases and measure_option; here
# they live in .local, which imports this module, so they are fetched on first use.
_IN_LOCAL = ("Builder", "Runner", "measure_option", "LocalBuilder", "LocalRunner", "BuildResult",
             "create_measure_batch")


def __getattr__(name: str) -> Any:
    if name in _IN_LOCAL:
        from . import local
        return getattr(local, name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
