"""``tl.lower`` and ``tl.build``: from a schedule to loop IR, and from loop IR to a module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import TargetError
from .ir.function import PrimFunc
from .ir.lower import lower as _lower
from .ir.stmt import For, ForKind
from .schedule.schedule import Schedule
from .target.target import Target, as_target
from .te.functor import post_order_visit


def lower(inputs: Schedule | PrimFunc, args: Sequence[Any] | None = None, name: str = "main",
          binds: Any = None, simple_mode: bool = False) -> PrimFunc:
    """Lower a schedule to loop IR; ``str()`` of the result is readable IR."""
    if isinstance(inputs, PrimFunc):
        return inputs
    if args is None:
        raise TargetError("lower(s, args): the argument tensors are required")
    # A schedule with GPU thread bindings lowers for the GPU (with its shared-memory barriers).
    gpu = any(attr.bind_thread is not None for st in inputs.stages for attr in st.iter_var_attrs.values())
    return _lower(inputs, args, name=name, target_kind="cuda" if gpu else "llvm")


def _check_cpu_schedule(sch: Schedule, target: Target) -> None:
    for st in sch.stages:
        for iv, attr in st.iter_var_attrs.items():
            if attr.bind_thread is not None:
                raise TargetError(
                    f"stage {st.op.name}: axis {iv.name} is bound to {attr.bind_thread.thread_tag}, which needs a "
                    f"GPU target (target='cuda'); for target '{target}' use parallel/vectorize instead")


def _check_cpu_func(func: PrimFunc, target: Target) -> None:
    def fn(n: Any) -> None:
        if isinstance(n, For) and n.kind == ForKind.THREAD_BINDING:
            raise TargetError(f"loop {n.loop_var.name} is bound to {n.thread_tag}, which needs a GPU target; "
                              f"target '{target}' runs on the CPU")
    post_order_visit(func.body, fn)


def build(inputs: Schedule | PrimFunc, args: Sequence[Any] | None = None, target: str | Target | None = None,
          target_host: Any = None, name: str = "default_function", *, jit: bool = True) -> Any:
    """Compile a schedule (or a lowered PrimFunc) into a callable module for ``target``
    (default: the current ``with Target(...)`` target, else ``llvm``).  ``jit=False`` skips
    loading the code into this process: the module can only ``export_library``."""
    tgt = as_target(target)
    if tgt.kind.name == "llvm":
        if isinstance(inputs, Schedule):
            _check_cpu_schedule(inputs, tgt)
        func = lower(inputs, args, name=name)
        _check_cpu_func(func, tgt)
        from .target.build import build_llvm
        from .target.llvm_target import LLVMTarget
        return build_llvm(func, LLVMTarget.from_string(str(tgt)), jit=jit)
    # cuda: kernels are compiled with NVRTC at build time; "-emulate" runs them on the CPU instead.
    from .target.cuda.target import CUDATarget
    ctarget = CUDATarget.from_string(str(tgt))
    func = lower(inputs, args, name=name) if isinstance(inputs, PrimFunc) else \
        _lower(inputs, args, name=name, target_kind="cuda")
    if ctarget.emulate:
        from .target.cuda.emulate import build_emulated
        return build_emulated(func, ctarget)
    from .target.cuda.build import build_cuda
    return build_cuda(func, ctarget)
