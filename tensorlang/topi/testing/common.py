"""Picking a target's schedule in tests, as TVM's topi tests do: ``get_injective_schedule(target)``
gives ``topi.x86.schedule_injective`` for "llvm", ``topi.cuda.schedule_injective`` for "cuda"."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ...build_module import build
from ...runtime.ndarray import array as nd_array
from ...target import Target
from ...te import placeholder
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


def compare_numpy_tvm(inputs: Sequence[np.ndarray], output: np.ndarray, target: str | Target, device: Any,
                      compute: Callable[..., Any], schedule: Callable[..., Any]) -> None:
    """Declare ``compute`` on placeholders shaped as the numpy ``inputs``, schedule it with
    ``schedule([out])`` under ``target``, build, run on ``device`` and check the result against
    ``output`` (within 1e-7, relative and absolute, as TVM's)."""
    args = [placeholder(a.shape, dtype=str(a.dtype), name=f"input{k}") for k, a in enumerate(inputs)]
    tgt = target if isinstance(target, Target) else Target(target)
    with tgt:
        out = compute(*args)
        f = build(schedule([out]), [*args, out], target=tgt)
    # the output starts as random garbage, so an element the operator does not write shows
    res = nd_array(np.random.default_rng().standard_normal(output.shape).astype(str(out.dtype)), device)
    f(*[nd_array(a, device) for a in inputs], res)
    np.testing.assert_allclose(res.numpy(), output, rtol=1e-7, atol=1e-7)
