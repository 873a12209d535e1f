"""Which config a template gets: the ambient config of ``get_config()`` and dispatch contexts.

Both live in ``contextvars`` values that the caller sets and resets (``Task.instantiate``,
the template wrapper, ``with apply_history_best(...)``), so configs never leak between tasks,
threads or worker processes.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from ..errors import TensorLangError
from .fingerprint import cpu_fingerprint, foreign_cpu
from .space import ConfigBase, ConfigEntity, FallbackConfigEntity

_current_config: ContextVar[ConfigBase | None] = ContextVar("tensorlang_autotune_config", default=None)
_dispatch: ContextVar[tuple[DispatchContext, ...]] = ContextVar("tensorlang_autotune_dispatch", default=())
# Workload keys already warned about (a log de-duplication set, not configuration state).
_warned: set[str] = set()


def get_config() -> Any:
    """The config of the template being instantiated (call it inside an @autotune.template)."""
    cfg = _current_config.get()
    if cfg is None:
        raise TensorLangError("autotune.get_config() is only valid inside a function decorated with "
                              "@autotune.template while it runs")
    return cfg


def current_config() -> ConfigBase | None:
    """The ambient config, or None outside template instantiation (no error, unlike get_config)."""
    return _current_config.get()


class config_scope:  # noqa: N801 - used as a context manager, like TVM's lower-case contexts
    """Make ``cfg`` the ambient config for the duration of a ``with`` block."""

    def __init__(self, cfg: ConfigBase):
        self.cfg = cfg
        self._token: Any = None

    def __enter__(self) -> ConfigBase:
        self._token = _current_config.set(self.cfg)
        return self.cfg

    def __exit__(self, *exc: Any) -> None:
        _current_config.reset(self._token)


def _target_str(target: Any) -> str:
    return str(target) if target is not None else "llvm"


def _key_of(workload: Any) -> str:
    """A workload key from a key string or from TVM's workload tuple ``(name, *args)``."""
    if isinstance(workload, str):
        return workload
    from .task.task import workload_key
    return workload_key(workload[0], workload[1:])


class _Current:
    """``DispatchContext.current``: the innermost context entered, else the root fallback."""

    def __get__(self, obj: Any, owner: Any) -> DispatchContext:
        stack = _dispatch.get()
        return stack[-1] if stack else _ROOT


class DispatchContext:
    """Answers ``query(target, workload)`` with a config; ``_query_inside`` returns None to ask
    an outer context.  ``DispatchContext.current`` is the innermost one (TVM's name)."""

    current = _Current()

    def query(self, target: Any, workload: Any) -> ConfigBase:
        """The config for ``workload`` (a workload key or TVM's ``task.workload`` tuple) on
        ``target`` (a string or Target): this context's, else a fallback config."""
        cfg = self._query_inside(_target_str(target), _key_of(workload))
        return cfg if cfg is not None else FallbackConfigEntity()

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        raise NotImplementedError

    def update(self, target: Any, workload: Any, cfg: ConfigBase) -> None:
        """Make later queries of ``workload`` on ``target`` answer ``cfg`` (TVM's ``update``)."""
        raise NotImplementedError(f"{type(self).__name__} does not take updates")

    def __enter__(self) -> DispatchContext:
        self._token = _dispatch.set(_dispatch.get() + (self,))
        return self

    def __exit__(self, *exc: Any) -> None:
        _dispatch.reset(self._token)


class ApplyConfig(DispatchContext):
    """Every template called inside the block gets ``config``."""

    def __init__(self, config: ConfigEntity):
        if not isinstance(config, ConfigBase):
            raise TensorLangError(f"ApplyConfig expects a config (a ConfigEntity, e.g. task.config_space.get(i)), "
                                  f"got {config!r}")
        self.config = config

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        return self.config

    def update(self, target: Any, workload: Any, cfg: ConfigBase) -> None:
        """Every later query answers ``cfg`` (TVM's ApplyConfig.update)."""
        self.config = _checked_config(cfg)


class ApplyFixedConfig(DispatchContext):
    """TVM's ``apply_fixed_config(tasks, schedule_names)``: a template of one of ``tasks`` gets
    that task's first valid config (a deterministic schedule, to test a template without a
    log); its ``cost`` is tiny when the template's name is in ``schedule_names`` and large
    otherwise, which is how TVM prefers the named schedules among several implementations.
    Templates of no task in ``tasks`` are asked of the outer contexts."""

    def __init__(self, tasks: Iterable[Any], schedule_names: str | Iterable[str]):
        self._tasks = {}
        for task in tasks:
            if not hasattr(task, "config_space") or not isinstance(getattr(task, "name", None), str):
                raise TensorLangError(f"apply_fixed_config expects tuning tasks (autotvm.task.create(...)), "
                                      f"got {task!r:.100}")
            self._tasks.setdefault(task.name, task)
        if isinstance(schedule_names, str):
            schedule_names = [schedule_names]
        self._schedule_names = set(schedule_names)
        self.workload: Any = None  # the last workload queried (TVM's attribute)
        self._pinned: dict[tuple[str, str], ConfigBase] = {}

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        pinned = self._pinned.get((target, workload_key))
        if pinned is not None:
            return pinned  # type: ignore[return-value]
        try:
            name = json.loads(workload_key)[0]
        except (ValueError, IndexError, TypeError):
            return None
        task = self._tasks.get(name)
        if task is None:
            return None
        self.workload = workload_key
        config = next(iter(task.config_space), None)  # the first config multi_filter kept
        if config is not None:
            config.cost = 1e-6 if name in self._schedule_names else 1e5
        return config

    def update(self, target: Any, workload: Any, cfg: ConfigBase) -> None:
        """Later queries of ``workload`` on ``target`` answer ``cfg``."""
        self.workload = _key_of(workload)
        self._pinned[(_target_str(target), self.workload)] = _checked_config(cfg)


def apply_fixed_config(tasks: Iterable[Any], schedule_names: str | Iterable[str]) -> ApplyFixedConfig:
    """``with apply_fixed_config(tasks, names):`` — see ApplyFixedConfig."""
    return ApplyFixedConfig(tasks, schedule_names)


def _checked_config(cfg: Any) -> ConfigBase:
    if not isinstance(cfg, ConfigBase):
        raise TensorLangError(f"update expects a config (a ConfigEntity, e.g. task.config_space.get(i)), got {cfg!r}")
    return cfg


def _unpack_records(records: Any) -> list[Any]:
    """The (MeasureInput, MeasureResult) pairs of ``records``, as TVM's ApplyHistoryBest.load:
    a log path, an open log file, pairs, or an iterable mixing them (recursively)."""
    from .record import load_from_buffer, load_with_confirmations
    if isinstance(records, (str, bytes)) or hasattr(records, "__fspath__"):
        return list(load_with_confirmations(os.fsdecode(records)))
    if hasattr(records, "read"):  # an open file: its lines are records
        return list(load_from_buffer(records))
    if _is_record(records):
        return [records]
    if not isinstance(records, Iterable):
        return [records]  # not records: named in the caller's error
    out: list[Any] = []
    for item in records:
        if _is_record(item):
            out.append(item)
        elif isinstance(item, (str, bytes)) or hasattr(item, "__fspath__") or hasattr(item, "read"):
            out += _unpack_records(item)
        elif isinstance(item, (list, tuple)) and item and not (len(item) == 2 and hasattr(item[1], "costs")):
            out += _unpack_records(item)  # a nested collection of records
        elif _is_source_collection(item):
            out += _unpack_records(item)  # an iterator of records or of sources (zip, generator)
        else:
            out.append(item)  # not a record: named in the caller's error
    return out


def _is_source_collection(item: Any) -> bool:
    """Whether ``item`` is an iterable of records or sources (TVM accepts any iterable there),
    not a record part (a MeasureInput or MeasureResult is iterable too) or a mapping."""
    return (isinstance(item, Iterable) and not isinstance(item, dict)
            and not hasattr(item, "task") and not hasattr(item, "costs"))


def _is_record(r: Any) -> bool:
    return isinstance(r, (tuple, list)) and len(r) == 2 and hasattr(r[0], "task") and hasattr(r[1], "costs")


class ApplyHistoryBest(DispatchContext):
    """Templates get the best config recorded for their (task, args, target), by the rule of
    ``record.Ranking``: the confirmed best when the leaders were re-measured, else the lowest
    median repeat.  ``records`` is a log path, an open log file, an iterable of
    (MeasureInput, MeasureResult), or an iterable (list, zip, generator) of those sources.

    ``best_by_targetkey`` (TVM's) maps (target key such as "cpu" or "gpu", workload tuple) to the
    best (MeasureInput, MeasureResult) by that rule; ``best_by_model`` maps (the target's
    ``-model``, workload) the same way, for records whose target names a model.

    A real CUDA build gets only records measured on a GPU of its architecture: records of
    ``cuda -emulate`` (CPU emulation) or of another ``-arch`` are refused, with a warning naming
    them, unless ``allow_other_device=True``."""

    def __init__(self, records: Any, allow_other_device: bool = False):
        from .record import RecordError, best_by_workload, best_records
        records = _unpack_records(records)
        for r in records:
            if not _is_record(r):
                raise RecordError(f"apply_history_best expects the path of a tuning log, an open log file or "
                                  f"(MeasureInput, MeasureResult) records (or a list mixing them), got {r!r:.100}")
        self.allow_other_device = allow_other_device
        # Configs pinned by update(), by (workload key, target): they answer before the log's.
        self._pinned: dict[tuple[str, str], ConfigBase] = {}
        # CPU records measured on another CPU model (or with other vector features) are kept
        # apart: applied only with allow_other_device, else named in a warning.
        self._foreign_cpu: dict[str, set[str]] = {}
        if not allow_other_device:
            records = [r for r in records if not self._other_cpu(*r)]
        self.best = best_by_workload(records)
        self.best_by_targetkey = _best_by(records, lambda target: _target_keys(target))
        self.best_by_model = _best_by(records, lambda target: _target_model(target))
        # Best CUDA records per (workload, device): "sm_90" for a GPU, "emulate" for CPU emulation.
        self._gpu: dict[tuple[str, str], tuple[float, ConfigEntity]] = {}
        self._gpu_targets: dict[str, set[str]] = {}  # to say what was refused
        self._refused: set[tuple[str, str]] = set()
        def gpu_key(inp: Any, res: Any) -> tuple[str, str] | None:
            target = str(inp.task.target)
            return (inp.task.workload_key, _device_of(target)) if target.split()[:1] == ["cuda"] else None

        for key, ranking in best_records(records, gpu_key).items():
            if ranking.best is not None:
                self._gpu[key] = (ranking.cost, ranking.best[0].config)
        for inp, res in records:
            target = str(inp.task.target)
            if res.ok and res.costs and target.split()[:1] == ["cuda"]:
                self._gpu_targets.setdefault(inp.task.workload_key, set()).add(target)

    def _other_cpu(self, inp: Any, res: Any) -> bool:
        """Whether a record was measured by a CPU other than this host's (and says so)."""
        other = foreign_cpu(res.device)
        if other is None:
            return False
        self._foreign_cpu.setdefault(inp.task.workload_key, set()).add(other)
        return True

    def update(self, target: Any, workload: Any, cfg: ConfigBase) -> None:
        """Later queries of ``workload`` on ``target``, or on a target of its kind (``llvm``
        for ``llvm -mcpu=...``), answer ``cfg`` before the log's best (TVM's update, which pins
        by target model and keys)."""
        from .record import target_kind
        target, key = _target_str(target), _key_of(workload)
        cfg = _checked_config(cfg)
        self._pinned[(key, target)] = cfg
        self._pinned[(key, target_kind(target))] = cfg

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        from .record import target_kind
        pinned = self._pinned.get((workload_key, target))
        if pinned is None:
            pinned = self._pinned.get((workload_key, target_kind(target) if target else "llvm"))
        if pinned is not None:
            return pinned  # type: ignore[return-value]
        exact = self.best.get((workload_key, target))
        if exact is not None:
            return exact
        kind = target_kind(target) if target else "llvm"
        if kind != "cuda":
            found = self.best.get((workload_key, kind))
            foreign = self._foreign_cpu.get(workload_key)
            if found is None and foreign:
                self._refuse(workload_key, target, "; ".join(sorted(foreign)),
                             f"this machine ({cpu_fingerprint().describe()})",
                             " (tensorlang build --allow-other-device)")
            return found
        # A real GPU: records of the same architecture only (other options may differ).
        same = self._gpu.get((workload_key, _device_of(target)))
        if same is not None:
            return same[1]
        others = sorted(self._gpu_targets.get(workload_key, ()))
        if not others:
            return None
        if self.allow_other_device:
            return min((v for (wk, _), v in self._gpu.items() if wk == workload_key), key=lambda v: v[0])[1]
        self._refuse(workload_key, target, ", ".join(repr(t) for t in others),
                     f"'{target}' (CPU emulation or another GPU architecture)")
        return None

    def _refuse(self, workload_key: str, target: str, measured_on: str, here: str, cli_hint: str = "") -> None:
        """Warn, once per context and task, that the log's records for ``workload_key`` were
        measured on other devices (``measured_on``) than ``here`` and are not applied."""
        if (workload_key, target) in self._refused:
            return
        self._refused.add((workload_key, target))
        # stacklevel: the user's call, above _query_inside and this method
        warnings.warn(f"tensorlang.autotune: the log's records for {workload_key} were measured on {measured_on}, "
                      f"not on {here}: they are not applied; pass apply_history_best(..., allow_other_device=True)"
                      f"{cli_hint} to apply them anyway", stacklevel=5)


def _workload_of(task: Any) -> tuple:
    """TVM's workload tuple ``(name, *args)`` of a Task or a logged TaskRef."""
    return (task.name,) + tuple(task.args)


def _target_keys(target: str) -> list[str]:
    from ..target.target import Target
    try:
        return list(Target(target).keys)
    except Exception:  # noqa: BLE001 - a target this build does not know has no keys here
        return []


def _target_model(target: str) -> list[str]:
    words = [w.split("=", 1)[1] for w in target.split() if w.startswith("-model=")]
    return [w for w in words if w and w != "unknown"]


def _best_by(records: list[Any], names: Any) -> dict[tuple[str, tuple], tuple[Any, Any]]:
    """The best record (``record.Ranking``) per (name, workload tuple), for each name that
    ``names(target)`` gives a record's target (a record may count under several)."""
    from .record import Ranking
    names_of: dict[str, list[str]] = {}
    table: dict[tuple[str, tuple], Ranking] = {}
    for inp, res in records:
        target = str(inp.task.target)
        if target not in names_of:
            names_of[target] = names(target)
        for name in names_of[target]:
            table.setdefault((name, _workload_of(inp.task)), Ranking()).add(inp, res)
    return {k: r.best for k, r in table.items() if r.best is not None}


def _device_of(target: str) -> str:
    """"emulate" for an emulated CUDA target, else its -arch ("sm_90")."""
    words = target.split()
    if "-emulate" in words:
        return "emulate"
    return next((w.split("=", 1)[1] for w in words if w.startswith("-arch=")), "")


# Whether the root context stays quiet about missing records (TVM code sets
# ``autotvm.DispatchContext.current.silent = True`` outside any context to do so).
_silent: ContextVar[bool] = ContextVar("tensorlang_autotune_silent", default=False)


class FallbackContext(DispatchContext):
    """Every template called inside the block gets a fallback config (TVM's root context), or
    the config that ``update`` pinned for its workload and target."""

    def __init__(self) -> None:
        # Configs pinned by update(), by (target, workload key); unlike TVM's, fallback configs
        # themselves are not cached: each template call gets a fresh one.
        self.memory: dict[tuple[str, str], ConfigBase] = {}

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        pinned = self.memory.get((target, workload_key))
        return pinned if pinned is not None else FallbackConfigEntity()  # type: ignore[return-value]

    def update(self, target: Any, workload: Any, cfg: ConfigBase) -> None:
        """Later queries of ``workload`` on ``target`` answer ``cfg`` (TVM's update)."""
        self.memory[(_target_str(target), _key_of(workload))] = _checked_config(cfg)

    def clear_cache(self, target: Any, workload: Any) -> None:
        """Forget what ``update`` pinned for ``workload`` on ``target`` (TVM's clear_cache)."""
        self.memory.pop((_target_str(target), _key_of(workload)), None)


class _RootContext(FallbackContext):
    """What ``DispatchContext.current`` is outside every context: no answer of its own (so the
    warning about a missing record is given, unless ``silent``), except configs pinned by
    ``update`` (process-wide, as TVM's root context)."""

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        return self.memory.get((target, workload_key))  # type: ignore[return-value]

    @property
    def silent(self) -> bool:
        return _silent.get()

    @silent.setter
    def silent(self, value: bool) -> None:
        _silent.set(bool(value))


_ROOT = _RootContext()


def apply_history_best(records: Any, allow_other_device: bool = False) -> ApplyHistoryBest:
    """``with apply_history_best("tuning_logs/x.json"):`` — templates built inside use the best
    configs of that log (or of a list of (MeasureInput, MeasureResult) records); see
    ApplyHistoryBest for which records a CUDA build accepts."""
    return ApplyHistoryBest(records, allow_other_device)


def clear_fallback_cache(target: Any, workload: Any) -> None:
    """``clear_cache`` on the innermost FallbackContext (the root one outside all), as TVM's."""
    for ctx in reversed(_dispatch.get()):
        if isinstance(ctx, FallbackContext):
            ctx.clear_cache(target, workload)
            return
    _ROOT.clear_cache(target, workload)


def dispatch(target: str, workload_key: str, what: str) -> ConfigBase:
    """The config for a template call outside tuning: innermost context first, else fallback."""
    for ctx in (*reversed(_dispatch.get()), _ROOT):
        cfg = ctx._query_inside(target, workload_key)
        if cfg is not None:
            return cfg
    if workload_key not in _warned and not _silent.get():
        _warned.add(workload_key)
        warnings.warn(f"tensorlang.autotune: no tuning record for {what} on target '{target}'; using a fallback "
                      "config, which may be slow (tune it with `tensorlang tune`)", stacklevel=3)
    return FallbackConfigEntity()


__all__ = ["get_config", "current_config", "config_scope", "DispatchContext", "ApplyConfig", "ApplyHistoryBest",
           "ApplyFixedConfig", "apply_fixed_config",
           "FallbackContext",
           "apply_history_best", "clear_fallback_cache", "dispatch"]
