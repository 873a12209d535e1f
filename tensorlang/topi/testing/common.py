"""Picking a target's schedule in tests, as TVM's topi tests do: ``get_injective_schedule(target)``
gives ``topi.x86.schedule_injective`` for "llvm", ``topi.cuda.schedule_injective`` for "cuda"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...target import Target
from .. import cuda, generic, nn, x86

_injective_schedule = {"generic": generic.schedule_injective, "cpu": x86.schedule_injective,
                       "gpu": cuda.schedule_injective}
_reduce_schedule = {"generic": generic.schedule_reduce, "cpu": x86.schedule_reduce, "gpu": cuda.schedule_reduce}
_conv2d_nchw_implement = {"generic": (nn.conv2d_nchw, generic.schedule_conv2d_nchw),
                          "cpu": (x86.conv2d_nchw, x86.schedule_conv2d_nchw),
                          "gpu": (cuda.conv2d_nchw, cuda.schedule_conv2d_nchw)}


def dispatch(target: str | Target, dispatch_map: Mapping[str, Any]) -> Any:
    """The entry of ``dispatch_map`` for the first of ``target``'s keys it has, else its "generic" one."""
    target = target if isinstance(target, Target) else Target(target)
    for key in target.keys:
        if key in dispatch_map:
            return dispatch_map[key]
    return dispatch_map["generic"]


def get_injective_schedule(target: str | Target) -> Callable[..., Any]:
    """The ``schedule_injective`` for ``target`` (x86 for "llvm", cuda for "cuda")."""
    return dispatch(target, _injective_schedule)


def get_reduce_schedule(target: str | Target) -> Callable[..., Any]:
    """The ``schedule_reduce`` for ``target`` (x86 for "llvm", cuda for "cuda")."""
    return dispatch(target, _reduce_schedule)


def get_broadcast_schedule(target: str | Target) -> Callable[..., Any]:
    """The ``schedule_broadcast`` for ``target`` (the injective schedule, as in TVM)."""
    return get_injective_schedule(target)


def get_elemwise_schedule(target: str | Target) -> Callable[..., Any]:
    """The ``schedule_elemwise`` for ``target`` (the injective schedule, as in TVM)."""
    return get_injective_schedule(target)


def get_conv2d_nchw_implement(target: str | Target) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(compute, schedule) of NCHW conv2d for ``target``: the tunable x86 or CUDA pair (their
    fallback configs when no tuning log applies), else the generic one."""
    return dispatch(target, _conv2d_nchw_implement)
