"""The file convention of ``tensorlang tune --auto FILE.py``: a top-level ``computations()``, or
else the file's top-level ``SearchTask`` objects.

``computations()`` returns ``{name: (func, args)}`` (or a list of ``(name, func, args)``), where
``func(*args)`` returns the computation's tensors, inputs then outputs, as the built function
takes them.  Every entry becomes a ``SearchTask``; no schedule or template is needed.  A file
without ``computations()`` that makes ``SearchTask(func=..., args=...)`` objects at top level, as
TVM's auto_scheduler scripts do, is tuned for those tasks, each made anew for ``--target``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ..autotune import record
from ..build_module import build
from ..errors import TensorLangError
from .scheduler import tune_tasks
from .task import NAME_PREFIX, SearchTask, best_config, is_trial_of


def tasks_from_module(module: Any, path: str, target: str) -> list[SearchTask]:
    """The search tasks a file's ``computations()`` declares."""
    fn = getattr(module, "computations", None)
    if not callable(fn):
        found = [v for k, v in vars(module).items() if isinstance(v, SearchTask) and not k.startswith("_")]
        if found:
            # The same computations for the command's target (a script's tasks name their own), on
            # the inputs the script fixed (task_inputs: same function and args, so same positions).
            tasks = []
            for t in found:
                task = SearchTask(t.func, t.args, target, name=t.name.removeprefix(NAME_PREFIX))
                task.task_inputs = dict(t.task_inputs)
                tasks.append(task)
            return tasks
        raise TensorLangError(f"{path} defines no computations() function and no top-level SearchTask; for "
                              "`tensorlang tune --auto` it should return {name: (func, args)} where func(*args) "
                              "returns the tensors (inputs, outputs)")
    got = fn()
    items = list(got.items()) if isinstance(got, dict) else [(e[0], tuple(e[1:])) for e in got]
    tasks = []
    for name, entry in items:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2 or not callable(entry[0]):
            raise TensorLangError(f"{path}: computations() entry '{name}' must be (func, args)")
        try:
            tasks.append(SearchTask(entry[0], tuple(entry[1]), target, name=str(name)))
        except TensorLangError as exc:
            # Say which of the file's computations it was (the error names a stage of it).
            raise type(exc)(f"{path}: computation '{name}': {exc}") from None
    if not tasks:
        raise TensorLangError(f"{path}: computations() returned nothing")
    return tasks


def build_file(module: Any, path: str, target: str, log: str, output: str, allow_other_device: bool = False) -> int:
    """``tensorlang build --auto``: every computation of the file built with the best candidate of
    ``log`` and exported as a library (``NAME.<task>N.so`` beside ``output`` for several)."""
    tasks = tasks_from_module(module, path, target)
    out = Path(output)
    missing = []
    for n, task in enumerate(tasks):
        cfg = best_config(task, log, allow_other_device)
        if cfg is None:
            missing.append(f"{task.name}{task.args}")
            continue
        sch, tensors = task.instantiate(cfg)
        fname = "".join(ch if ch.isalnum() else "_" for ch in task.name)
        lib = out if len(tasks) == 1 else out.with_name(f"{out.stem}.{fname}{n}{out.suffix}")
        build(sch, tensors, target=task.target, name=fname).export_library(str(lib))
        print(f"{task.name}{task.args} -> {lib}  (sketch {cfg['sketch'].val})")
    if missing:
        raise TensorLangError(f"{log}: no successful auto-scheduled trial of {', '.join(missing)} on {target}; "
                              f"run `tensorlang tune --auto --target={target} {path}` first")
    return 0


def default_auto_log(path: str, target: str) -> str:
    return str(Path("tuning_logs") / f"{Path(path).stem}.auto.{target.split()[0]}.json")


def logged_failures(log: str, task: SearchTask) -> tuple[dict[str, int], str | None]:
    """How many of ``task``'s trials in ``log`` failed, by kind, and the first one's message."""
    kinds: dict[str, int] = {}
    first = None
    if not os.path.isfile(log):
        return kinds, first
    with warnings.catch_warnings():  # the run read the log already, and warned about its bad lines
        warnings.simplefilter("ignore")
        records = list(record.load_from_file(log))
    for inp, res in records:
        if not is_trial_of(task, inp) or res.ok:
            continue
        kinds[res.error_no.kind] = kinds.get(res.error_no.kind, 0) + 1
        first = first or res.error_msg or res.error_no.kind
    return kinds, first


def tune_file(module: Any, path: str, target: str, trials: int, log: str | None, seed: int | None,
              measure_option: Any = None, confirm_top: int = 3, confirm_rounds: int = 3,
              early_stopping: int | None = None) -> int:
    """``tensorlang tune --auto``: tune every computation of the file, ``trials`` each on average
    (measured by ``measure_option``: local by default, a Ray cluster's for ``--cluster``; a
    computation stops after ``early_stopping`` trials without a better candidate), then
    re-measure each one's leaders (``--confirm-top``, ``--confirm-rounds``).  Exit status 1
    when a computation has no working candidate at all."""
    log = log or default_auto_log(path, target)
    # A second run into the same log stops at once, not after setting up its tasks (seconds for
    # a file of several computations); tune_tasks takes the lock itself.
    record.check_not_busy(log)
    tasks = tasks_from_module(module, path, target)
    print(f"auto-scheduling {len(tasks)} computation(s) of {path} on {target}, {trials} trials each; log {log}",
          file=sys.stderr)
    sched = tune_tasks(tasks, n_trials=trials * len(tasks), log=log, seed=seed, measure_option=measure_option,
                       confirm_top=confirm_top, confirm_rounds=confirm_rounds, early_stopping=early_stopping)
    print(f"{'task':40} {'trials':>7} {'failed':>7} {'best GFLOPS':>12}  sketch")
    hopeless = []
    for i, (task, search) in enumerate(zip(sched.tasks, sched.searches)):
        label = f"{task.name}{task.args}"
        best = f"{search.best_flops / 1e9:12.1f}" if search.best_config is not None else f"{'-':>12}"
        sketch = search.best_config["sketch"].val if search.best_config is not None else "-"
        # Failed trials of the log, those of the run this one resumes included, as the trials
        # column counts them: a rerun after a kill names a computation that never worked too.
        kinds, first = logged_failures(log, task)
        for kind, n in sched.task_errors[i].items():
            kinds[kind] = max(kinds.get(kind, 0), n)
        first = first or sched.first_error[i]
        failed = sum(kinds.values())
        print(f"{label[:40]:40} {search.trials_done:>7} {failed:>7} {best}  {sketch}")
        if search.best_config is None and first is not None:
            hopeless.append((label, kinds, first))
    for label, kinds, first in hopeless:
        text = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        first_line = (first.strip().splitlines() or ["?"])[0][:400]
        print(f"\n{label}: no working candidate ({text}); the first error: {first_line}", file=sys.stderr)
    if sched.searches and any(s.best_config is not None for s in sched.searches):
        print(f"\nlog: {log}   (apply with autoschedule.SearchTask(func, args).apply_best('{log}'))")
    return 1 if hopeless else 0
