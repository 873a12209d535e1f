"""Which config a template gets: the ambient config of ``get_config()`` and dispatch contexts.

Both live in ``contextvars`` values that the caller sets and resets (``Task.instantiate``,
the template wrapper, ``with apply_history_best(...)``), so configs never leak between tasks,
threads or worker processes.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from ..errors import TensorLangError
from .fingerprint import cpu_fingerprint
from .space import ConfigEntity, FallbackConfigEntity, _ConfigBase

_current_config: ContextVar[_ConfigBase | None] = ContextVar("tensorlang_autotune_config", default=None)
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


def current_config() -> _ConfigBase | None:
    """The ambient config, or None outside template instantiation (no error, unlike get_config)."""
    return _current_config.get()


class config_scope:  # noqa: N801 - used as a context manager, like TVM's lower-case contexts
    """Make ``cfg`` the ambient config for the duration of a ``with`` block."""

    def __init__(self, cfg: _ConfigBase):
        self.cfg = cfg
        self._token: Any = None

    def __enter__(self) -> _ConfigBase:
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

    def query(self, target: Any, workload: Any) -> _ConfigBase:
        """The config for ``workload`` (a workload key or TVM's ``task.workload`` tuple) on
        ``target`` (a string or Target): this context's, else a fallback config."""
        cfg = self._query_inside(_target_str(target), _key_of(workload))
        return cfg if cfg is not None else FallbackConfigEntity()

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        raise NotImplementedError

    def __enter__(self) -> DispatchContext:
        self._token = _dispatch.set(_dispatch.get() + (self,))
        return self

    def __exit__(self, *exc: Any) -> None:
        _dispatch.reset(self._token)


class ApplyConfig(DispatchContext):
    """Every template called inside the block gets ``config``."""

    def __init__(self, config: ConfigEntity):
        if not isinstance(config, _ConfigBase):
            raise TensorLangError(f"ApplyConfig expects a config (a ConfigEntity, e.g. task.config_space.get(i)), "
                                  f"got {config!r}")
        self.config = config

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        return self.config


class ApplyHistoryBest(DispatchContext):
    """Templates get the best config recorded for their (task, args, target), by the rule of
    ``record.Ranking``: the confirmed best when the leaders were re-measured, else the lowest
    median repeat.

    A real CUDA build gets only records measured on a GPU of its architecture: records of
    ``cuda -emulate`` (CPU emulation) or of another ``-arch`` are refused, with a warning naming
    them, unless ``allow_other_device=True``."""

    def __init__(self, records: Any, allow_other_device: bool = False):
        from .record import RecordError, best_by_workload, best_records, load_with_confirmations
        if isinstance(records, (str, bytes)) or hasattr(records, "__fspath__"):
            records = list(load_with_confirmations(os.fsdecode(records)))
        elif isinstance(records, (list, tuple)) and records and all(
                isinstance(r, (str, bytes)) or hasattr(r, "__fspath__") for r in records):
            # several log files
            records = [rec for path in records for rec in load_with_confirmations(os.fsdecode(path))]
        records = list(records) if isinstance(records, Iterable) else [records]
        for r in records:
            if not (isinstance(r, (tuple, list)) and len(r) == 2 and hasattr(r[0], "task") and hasattr(r[1], "costs")):
                raise RecordError(f"apply_history_best expects the path of a tuning log or (MeasureInput, "
                                  f"MeasureResult) records, got {r!r:.100}")
        self.allow_other_device = allow_other_device
        # CPU records measured on another CPU model (or with other vector features) are kept
        # apart: applied only with allow_other_device, else named in a warning.
        self._foreign_cpu: dict[str, set[str]] = {}
        if not allow_other_device:
            records = [r for r in records if not self._other_cpu(*r)]
        self.best = best_by_workload(records)
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
        device = res.device
        if device is None or device.kind != "cpu" or device.same_device(cpu_fingerprint()):
            return False
        self._foreign_cpu.setdefault(inp.task.workload_key, set()).add(device.describe())
        return True

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        from .record import target_kind
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
    """Every template called inside the block gets a fallback config (TVM's root context)."""

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        return FallbackConfigEntity()  # type: ignore[return-value]


class _RootContext(FallbackContext):
    """What ``DispatchContext.current`` is outside every context: no answer of its own (so the
    warning about a missing record is given, unless ``silent``)."""

    def _query_inside(self, target: str, workload_key: str) -> ConfigEntity | None:
        return None

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


def dispatch(target: str, workload_key: str, what: str) -> _ConfigBase:
    """The config for a template call outside tuning: innermost context first, else fallback."""
    for ctx in reversed(_dispatch.get()):
        cfg = ctx._query_inside(target, workload_key)
        if cfg is not None:
            return cfg
    if workload_key not in _warned and not _silent.get():
        _warned.add(workload_key)
        warnings.warn(f"tensorlang.autotune: no tuning record for {what} on target '{target}'; using a fallback "
                      "config, which may be slow (tune it with `tensorlang tune`)", stacklevel=3)
    return FallbackConfigEntity()


__all__ = ["get_config", "current_config", "config_scope", "DispatchContext", "ApplyConfig", "ApplyHistoryBest",
           "FallbackContext",
           "apply_history_best", "dispatch"]
