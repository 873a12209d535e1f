"""Which auto-scheduled schedule a workload gets (TVM's ``auto_scheduler.dispatcher``).

``with ApplyHistoryBest(log):`` makes the log's best candidates answer
``DispatchContext.current.query(target, workload_key, ...)``: the best record's state (its
sketch and decisions, what ``task.compute_dag.apply_steps_from_state`` takes), or None.  Inside
such a block ``task.apply_best()`` needs no log.  The best is named by the rule every reader of
a log follows (``record.Ranking``, confirmations of the leaders included), so the block, the log's
``load_best_record`` and ``task.apply_best(log)`` agree.  Contexts nest; the innermost one that
knows the workload answers, and outside every block the fallback answers None.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from ..autotune import record
from ..autotune.fingerprint import cpu_fingerprint, foreign_cpu
from ..errors import TensorLangError
from ..target.target import Target, as_target
from .cost_model import XGBRankModel
from .records import from_config, tvm_key_forms
from .search import SketchSearch
from .task import SearchTask
from .workload_registry import WorkloadError, parse_workload_key

# The contexts entered, innermost last (per thread and task, as every dispatch state here).
_entered: ContextVar[tuple[DispatchContext, ...]] = ContextVar("tensorlang_autoschedule_dispatch", default=())


class _Current:
    """``DispatchContext.current``: the innermost context entered, else the fallback."""

    def __get__(self, obj: Any, owner: Any) -> DispatchContext:
        stack = _entered.get()
        return stack[-1] if stack else _ROOT


def _target_text(target: Any) -> str:
    if target is None:
        target = Target.current()
    if target is None:
        raise TensorLangError("auto_scheduler dispatch needs a target: pass one to query(), or query inside "
                              "`with tvm.target.Target('llvm'):`")
    return str(as_target(target))


def _keys(workload_key: str) -> list[str]:
    """The key as given and, for TVM's form '["name", args...]', the key tensorlang's logs use."""
    return [workload_key, *tvm_key_forms(workload_key)]


class DispatchContext:
    """Answers ``query(target, workload_key, has_complex_op, dag, func_name)`` with a state, or
    asks the context it was entered in.  ``DispatchContext.current`` is the innermost one."""

    current = _Current()

    def query(self, target: Any, workload_key: str, has_complex_op: bool = True, dag: Any = None,
              func_name: str | None = None) -> Any:
        """The state (a record's ``inp.state``) for ``workload_key`` on ``target`` (a Target or
        its text; the current ``Target`` when None), or None when no context knows it."""
        text = _target_text(target)
        found = self._query_inside(text, workload_key, func_name)
        if found is not None:
            return found
        return self.__dict__.get("_outer", _ROOT).query(text, workload_key, has_complex_op, dag, func_name)

    def _query_inside(self, target: str, workload_key: str, func_name: str | None = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define _query_inside")

    def update(self, target: Any, workload_key: str, state: Any) -> None:
        """Make later queries of ``workload_key`` on ``target`` answer ``state``."""
        raise NotImplementedError(f"{type(self).__name__} does not take updates")

    def __enter__(self) -> DispatchContext:
        self._outer = DispatchContext.current
        self._token = _entered.set(_entered.get() + (self,))
        return self

    def __exit__(self, *exc: Any) -> None:
        _entered.reset(self._token)


class ApplyHistoryBest(DispatchContext):
    """The best candidate of each (workload, target) in ``records``: a log path (its
    confirmations, ``LOG.confirmed``, included) or (MeasureInput, MeasureResult) pairs; only the
    first ``n_lines`` records with ``n_lines``.  A target's records answer first, then those of
    any target of its kind ("llvm -mcpu=x" for "llvm").  ``include_compatible`` (TVM's matching
    of workloads with other shapes) is accepted and not used: a workload gets its own records.
    Records measured on another CPU model are left out unless ``allow_other_device`` (a warning
    names them when a workload had no other), as ``autotvm.apply_history_best`` does."""

    def __init__(self, records: Any, n_lines: int | None = None, include_compatible: bool = False,
                 allow_other_device: bool = False):
        self.include_compatible = include_compatible
        self.allow_other_device = allow_other_device
        self._pinned: dict[tuple[str, str], Any] = {}
        self._exact: dict[tuple[str, str], record.Ranking] = {}
        self._by_kind: dict[tuple[str, str], record.Ranking] = {}
        self._foreign: dict[str, set[str]] = {}  # workload key -> the other CPUs its left-out records name
        self._warned: set[tuple[str, str]] = set()
        self.load(records, n_lines)

    def load(self, records: Any, n_lines: int | None = None) -> None:
        """Add ``records`` (a log path or (MeasureInput, MeasureResult) pairs) to what this context knows."""
        if n_lines is not None and (isinstance(n_lines, bool) or not isinstance(n_lines, int) or n_lines < 0):
            raise TensorLangError(f"ApplyHistoryBest n_lines must be a non-negative int or None, got {n_lines!r}")
        if isinstance(records, (str, os.PathLike)):
            if not os.path.exists(records):
                raise TensorLangError(f"{os.fspath(records)}: no such tuning log")
            records = record.load_with_confirmations(records)
        elif not isinstance(records, Iterable):
            raise TensorLangError(f"ApplyHistoryBest expects a tuning log path or (MeasureInput, MeasureResult) "
                                  f"records, got {records!r:.100}")
        for count, item in enumerate(records):
            if n_lines is not None and count >= n_lines:
                break
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and hasattr(item[0], "task")):
                raise TensorLangError(f"ApplyHistoryBest: {item!r:.100} is not a (MeasureInput, MeasureResult) record")
            inp, res = item
            try:
                from_config(inp.config)
            except Exception:  # noqa: BLE001 - an AutoTVM template's record: autotvm.apply_history_best's
                continue
            other = None if self.allow_other_device else foreign_cpu(getattr(res, "device", None))
            if other is not None:
                self._foreign.setdefault(inp.task.workload_key, set()).add(other)
                continue
            target = str(inp.task.target)
            self._exact.setdefault((inp.task.workload_key, target), record.Ranking()).add(inp, res)
            self._by_kind.setdefault((inp.task.workload_key, record.target_kind(target)),
                                     record.Ranking()).add(inp, res)

    def best(self, target: Any, workload_key: str) -> tuple[Any, Any] | None:
        """The best (MeasureInput, MeasureResult) of ``workload_key`` on ``target`` here, if any."""
        text = _target_text(target)
        for table, tkey in ((self._exact, text), (self._by_kind, record.target_kind(text))):
            for key in _keys(workload_key):
                ranking = table.get((key, tkey))
                if ranking is not None and ranking.best is not None:
                    return ranking.best
        return None

    def _query_inside(self, target: str, workload_key: str, func_name: str | None = None) -> Any:
        for key in _keys(workload_key):
            if (key, target) in self._pinned:
                return self._pinned[(key, target)]
        found = self.best(target, workload_key)
        if found is None:
            self._warn_foreign(target, workload_key)
        return found[0].state if found is not None else None

    def _warn_foreign(self, target: str, workload_key: str) -> None:
        """Warn, once per workload and target, that its records were measured on other CPUs."""
        other = set().union(*(self._foreign.get(key, set()) for key in _keys(workload_key)))
        if not other or (workload_key, target) in self._warned:
            return
        self._warned.add((workload_key, target))
        warnings.warn(f"tensorlang.auto_scheduler: the log's records for {workload_key} were measured on "
                      f"{'; '.join(sorted(other))}, not on this machine ({cpu_fingerprint().describe()}): they "
                      f"are not applied; pass ApplyHistoryBest(..., allow_other_device=True) to apply them anyway",
                      stacklevel=4)

    def update(self, target: Any, workload_key: str, state: Any) -> None:
        text = _target_text(target)
        for key in _keys(workload_key):
            self._pinned[(key, text)] = state


class ApplyHistoryBestOrSample(ApplyHistoryBest):
    """``ApplyHistoryBest``, and for a workload the records lack (a registered workload, with a
    complex operator unless ``sample_simple_workloads``): a candidate of its own search, the
    prior's first pick, or with ``num_measure`` > 0 the best of that many measured trials (not
    logged).  ``cost_model_file`` is a cost model to rank candidates with."""

    def __init__(self, records: Any, sample_simple_workloads: bool = False, cost_model_file: str | None = None,
                 num_measure: int = -1):
        super().__init__(records)
        self.sample_simple_workloads = sample_simple_workloads
        self.cost_model_file = cost_model_file
        self.num_measure = num_measure

    def query(self, target: Any, workload_key: str, has_complex_op: bool = True, dag: Any = None,
              func_name: str | None = None) -> Any:
        text = _target_text(target)
        found = self._query_inside(text, workload_key, func_name)
        if found is None and (has_complex_op or self.sample_simple_workloads):
            found = self._sample(text, workload_key)
            if found is not None:
                self.update(text, workload_key, found)
        if found is not None:
            return found
        return self.__dict__.get("_outer", _ROOT).query(text, workload_key, has_complex_op, dag, func_name)

    def _sample(self, target: str, workload_key: str) -> Any:
        name, _ = parse_workload_key(workload_key)
        try:
            task = SearchTask(workload_key=workload_key, target=target)
        except WorkloadError:
            return None  # not a registered computation: nothing to sample from
        model = XGBRankModel(pretrained=self.cost_model_file) if self.cost_model_file else None
        search = SketchSearch(task, seed=0, cost_model=model)
        if self.num_measure > 0:
            task.tune(self.num_measure, search=search, verbose=False, confirm_top=0)
            return search.best_config
        batch = search.next_batch(1)
        if not batch:
            raise TensorLangError(f"ApplyHistoryBestOrSample: no candidate of {name} on {target} to sample")
        return batch[0]


class FallbackContext(DispatchContext):
    """The outermost context: knows no workload (a te user schedules it by hand), except what
    ``update`` pins on this instance."""

    def __init__(self) -> None:
        self.memory: dict[tuple[str, str], Any] = {}

    def query(self, target: Any, workload_key: str, has_complex_op: bool = True, dag: Any = None,
              func_name: str | None = None) -> Any:
        return self._query_inside(_target_text(target), workload_key, func_name)

    def _query_inside(self, target: str, workload_key: str, func_name: str | None = None) -> Any:
        return next((self.memory[(k, target)] for k in _keys(workload_key) if (k, target) in self.memory), None)

    def update(self, target: Any, workload_key: str, state: Any) -> None:
        self.memory[(workload_key, _target_text(target))] = state


class _Root(FallbackContext):
    """What answers outside every context: nothing, and it takes no updates (it would be
    state shared by every thread; enter an ``ApplyHistoryBest`` to pin a state)."""

    def update(self, target: Any, workload_key: str, state: Any) -> None:
        raise TensorLangError("auto_scheduler.DispatchContext.current is the fallback outside every dispatch "
                              "context; pin states in a context you enter (`with ApplyHistoryBest(log) as ctx: "
                              "ctx.update(...)`)")


_ROOT = _Root()  # immutable: answers None for every workload


__all__ = ["DispatchContext", "ApplyHistoryBest", "ApplyHistoryBestOrSample", "FallbackContext"]
