"""What one ``SearchTask.tune(options)`` call does, in the names of TVM's ``auto_scheduler``:
``TuningOptions`` (trials, early stopping, verbosity, builder and runner, callbacks) and the
objects it holds (``RecordToFile``, ``LocalBuilder``, ``LocalRunner``, ``LocalRPCMeasureContext``).

They translate to the template tuner's measurement layer, which keeps its isolation and checks:
every candidate is built in a child process, run in a child, and checked against the reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..autotune.measure import local
from ..errors import TensorLangError


class TuningOptionsError(TensorLangError, ValueError):
    """A tuning option of the wrong type or range."""


class RecordToFile:
    """Append every measured trial to ``filename`` (the task's JSON-lines tuning log)."""

    def __init__(self, filename: str | os.PathLike = "auto_scheduler_tuning.json"):
        if not isinstance(filename, (str, os.PathLike)):
            raise TuningOptionsError(f"RecordToFile needs a file name, got {filename!r}")
        self.filename = os.fspath(filename)

    def __repr__(self) -> str:
        return f"RecordToFile({self.filename!r})"


class PythonBasedMeasureCallback:
    """TVM's base of custom measure callbacks: subclass it and define ``callback(policy, inputs,
    results)``, called after each batch of trials (``policy`` is the search running them)."""

    def callback(self, policy: Any, inputs: Any, results: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define callback(policy, inputs, results)")


MeasureCallback = PythonBasedMeasureCallback


def LocalBuilder(timeout: float | None = None, n_parallel: int | None = None,  # noqa: N802 - TVM's name
                 build_func: str = "default") -> local.LocalBuilder:
    """Candidates built in parallel child processes, each within ``timeout`` seconds.  The default
    is 60 s, not TVM's 15: tensorlang lowers in Python, and on a loaded machine a conv2d
    candidate's build can take tens of seconds."""
    return local.LocalBuilder(timeout=60.0 if timeout is None else timeout, n_parallel=n_parallel,
                              build_func=build_func)


def LocalRunner(timeout: float = 10, number: int = 3, repeat: int = 1, min_repeat_ms: float = 100,  # noqa: N802
                cooldown_interval: float = 0.0, enable_cpu_cache_flush: bool = False,
                device: int = 0) -> local.LocalRunner:
    """Each candidate checked against the reference, then timed: ``repeat`` figures, each the mean
    of ``number`` calls (more when a repeat is shorter than ``min_repeat_ms``).  TVM's defaults."""
    runner = local.LocalRunner(number=number, repeat=repeat, min_repeat_ms=min_repeat_ms, timeout=timeout,
                               cooldown_interval=cooldown_interval, enable_cpu_cache_flush=enable_cpu_cache_flush)
    if isinstance(device, bool) or not isinstance(device, int) or device < 0:
        raise TuningOptionsError(f"LocalRunner device must be a non-negative int, got {device!r}")
    runner.gpu_devices = (device,)
    return runner


class LocalRPCMeasureContext:
    """TVM runs GPU candidates through a local RPC server; tensorlang's runner already measures GPU
    candidates in a long-lived worker process per device (fork-safe), so this context only
    holds a ``runner`` with the given settings.  Nothing is started or needs stopping."""

    def __init__(self, priority: int = 1, n_parallel: int = 1, timeout: float = 10, number: int = 3,
                 repeat: int = 1, min_repeat_ms: float = 0, cooldown_interval: float = 0.0,
                 enable_cpu_cache_flush: bool = False, device: int = 0):
        self.runner = LocalRunner(timeout=timeout, number=number, repeat=repeat, min_repeat_ms=min_repeat_ms,
                                  cooldown_interval=cooldown_interval, enable_cpu_cache_flush=enable_cpu_cache_flush,
                                  device=device)


class TuningOptions:
    """``TuningOptions(num_measure_trials=64, measure_callbacks=[RecordToFile(log)], verbose=1)``.

    ``num_measure_trials`` counts the trials this call measures (as in TVM), not those a log
    already holds.  ``num_measures_per_round`` sizes a ``TaskScheduler``'s rounds (at most
    ``num_measure_trials // len(tasks)``, as in TVM); a search measures in batches of at most 8
    within a round, so that its cost model is refitted often.  ``early_stopping``: stop when
    the best (a ``TaskScheduler``'s objective) has not improved in that many trials.  ``builder`` and ``runner`` are
    ``"local"`` (tensorlang's defaults for auto-scheduling) or objects from ``LocalBuilder`` /
    ``LocalRunner`` here or in ``autotune``.  ``measure_callbacks`` holds ``RecordToFile`` and
    any callables ``f(search, inputs, results)``, called after every batch."""

    def __init__(self, num_measure_trials: int = 0, early_stopping: int | None = None,
                 num_measures_per_round: int = 64, verbose: int = 1, builder: Any = "local",
                 runner: Any = "local", measure_callbacks: Sequence[Any] | None = None):
        for name, value in (("num_measure_trials", num_measure_trials), ("num_measures_per_round",
                                                                         num_measures_per_round)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TuningOptionsError(f"TuningOptions {name} must be a non-negative int, got {value!r}")
        if early_stopping is not None and (isinstance(early_stopping, bool) or not isinstance(early_stopping, int)):
            raise TuningOptionsError(f"TuningOptions early_stopping must be an int or None, got {early_stopping!r}")
        self.num_measure_trials = num_measure_trials
        # TVM reads a negative early_stopping as "never stop early"
        self.early_stopping = early_stopping if early_stopping is not None and early_stopping >= 0 else None
        self.num_measures_per_round = num_measures_per_round
        self.verbose = int(verbose)
        self.builder = builder
        self.runner = runner
        self.measure_callbacks = list(measure_callbacks or [])
        for cb in self.measure_callbacks:
            if not isinstance(cb, RecordToFile) and not callable(cb) and not callable(getattr(cb, "callback", None)):
                raise TuningOptionsError(f"TuningOptions measure_callbacks: {cb!r} is neither a RecordToFile, "
                                         "an object with callback(policy, inputs, results) (TVM's "
                                         "PythonBasedMeasureCallback) nor a callable f(search, inputs, results)")
        logs = {cb.filename for cb in self.measure_callbacks if isinstance(cb, RecordToFile)}
        if len(logs) > 1:
            raise TuningOptionsError(f"TuningOptions: several RecordToFile logs ({', '.join(sorted(logs))}); "
                                     "a tuning run writes one log")

    @property
    def log(self) -> str | None:
        """The file of the ``RecordToFile`` callback (None: trials are not kept)."""
        return next((cb.filename for cb in self.measure_callbacks if isinstance(cb, RecordToFile)), None)

    @property
    def callbacks(self) -> list[Callable]:
        # TVM's callback objects are called through their callback method
        return [cb if callable(cb) else cb.callback for cb in self.measure_callbacks
                if not isinstance(cb, RecordToFile)]

    def measure_option(self, default: Callable[[], Any]) -> Any:
        """The measurement layer's option; ``default()`` where both are "local"."""
        base = default()
        if _is_local(self.builder) and _is_local(self.runner):
            return base
        builder = base.builder if _is_local(self.builder) else self.builder
        runner = base.runner if _is_local(self.runner) else self.runner
        return local.measure_option(builder=builder, runner=runner)


def _is_local(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "local")
