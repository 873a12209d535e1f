"""TOPI-style templates: a compute and a schedule registered separately under one task name.

``@register_topi_compute("conv2d_nchw.cuda")`` wraps ``fcompute(cfg, *args)`` and
``@register_topi_schedule("conv2d_nchw.cuda")`` wraps ``fschedule(cfg, outs)``.  Together they
make a template named "conv2d_nchw.cuda" whose task arguments describe tensors as
``("TENSOR", shape, dtype)``, so ``task.create("conv2d_nchw.cuda", args=(...), target="cuda")``
works as in TVM.  Called directly, the compute picks its config from the dispatch contexts
(``apply_history_best``) and records the workload in the output op's attrs, where the
schedule finds it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TensorLangError
from ..target.target import Target
from ..te.operation import placeholder
from ..te.tensor import Operation, Tensor
from .dispatcher import current_config, dispatch
from .space import FallbackConfigEntity
from .task.task import TEMPLATES, serialize_args, workload_key

_COMPUTES: dict[str, Callable[..., Any]] = {}
_SCHEDULES: dict[str, Callable[..., Any]] = {}


def _is_tensor_arg(arg: Any) -> bool:
    return isinstance(arg, (tuple, list)) and len(arg) == 3 and arg[0] == "TENSOR"


def _config_for(name: str, args: Sequence[Any]) -> Any:
    ambient = current_config()
    if ambient is not None:  # inside Task creation or instantiation: the tuner's config
        return ambient
    target = str(Target.current() or Target("llvm"))
    return dispatch(target, workload_key(name, args), f"{name}{tuple(args)}")


def _make_template(name: str) -> None:
    if name not in _COMPUTES or name not in _SCHEDULES:
        return
    fcompute, fschedule = _COMPUTES[name], _SCHEDULES[name]

    def template(*args: Any) -> tuple[Any, list[Tensor]]:
        cfg = current_config()
        inputs: list[Tensor] = []
        call_args = []
        for n, a in enumerate(args):
            if _is_tensor_arg(a):
                t = placeholder(tuple(a[1]), a[2], name=f"input{n}")
                inputs.append(t)
                call_args.append(t)
            else:
                call_args.append(a)
        outs = fcompute(cfg, *call_args)
        out_list = [outs] if isinstance(outs, Tensor) else list(outs)
        s = fschedule(cfg, out_list)
        return s, inputs + out_list

    template.__name__ = name
    template.takes_serialized_args = True  # type: ignore[attr-defined]
    TEMPLATES[name] = template


def register_topi_compute(task_name: str, func: Callable | None = None) -> Callable:
    """Register ``fcompute(cfg, *args, **kwargs)`` as the compute of task ``task_name``; the
    decorated function is called without ``cfg``."""

    def deco(fcompute: Callable) -> Callable:
        _COMPUTES[task_name] = fcompute
        _make_template(task_name)

        @functools.wraps(fcompute)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wl_args = serialize_args(args)
            cfg = _config_for(task_name, wl_args)
            outs = fcompute(cfg, *args, **kwargs)
            for t in [outs] if isinstance(outs, Tensor) else list(outs):
                t.op.attrs["workload"] = (task_name,) + wl_args
                if isinstance(cfg, FallbackConfigEntity):
                    # The schedule gets this same config back, with the knobs the compute
                    # defined in it (TVM's root context remembers one fallback per workload).
                    t.op.attrs[_FALLBACK] = cfg
            return outs

        wrapper.task_name = task_name  # type: ignore[attr-defined]
        return wrapper

    return deco(func) if func is not None else deco


_FALLBACK = "autotune_fallback_config"


def _find_workload(outs: Sequence[Tensor]) -> tuple[tuple, Any] | None:
    """(workload, the fallback config its compute used or None) of the first op that has one."""
    seen: set[int] = set()
    stack: list[Operation] = [t.op for t in outs]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        attrs = getattr(op, "attrs", {})
        wl = attrs.get("workload")
        if wl is not None:
            return wl, attrs.get(_FALLBACK)
        stack.extend(t.op for t in op.input_tensors)
    return None


def register_topi_schedule(task_name: str, func: Callable | None = None) -> Callable:
    """Register ``fschedule(cfg, outs)`` as the schedule of task ``task_name``; the decorated
    function is called as ``schedule(outs)`` and finds the config its compute used."""

    def deco(fschedule: Callable) -> Callable:
        _SCHEDULES[task_name] = fschedule
        _make_template(task_name)

        @functools.wraps(fschedule)
        def wrapper(outs: Any) -> Any:
            out_list = [outs] if isinstance(outs, Tensor) else list(outs)
            ambient = current_config()
            if ambient is not None:
                return fschedule(ambient, out_list)
            found = _find_workload(out_list)
            if found is None:
                raise TensorLangError(f"schedule '{task_name}': the outputs were not made by a compute "
                                      "registered with register_topi_compute")
            wl, fallback = found
            cfg = _config_for(wl[0], wl[1:])
            if isinstance(cfg, FallbackConfigEntity) and fallback is not None:
                cfg = fallback
            return fschedule(cfg, out_list)

        wrapper.task_name = task_name  # type: ignore[attr-defined]
        return wrapper

    return deco(func) if func is not None else deco
