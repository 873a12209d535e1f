"""TVM's topi namespaces for targets tensorlang does not compile for (``topi.hls``, ``topi.mali``,
``topi.bifrost``, ``topi.intel_graphics``, ``topi.arm_cpu``): every name exists, so TVM code can
build its per-target tables of computes and schedules, and calling one raises a ``TargetError``
that says the target is not available (the CPU and CUDA entries run)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from ..errors import TargetError

NAMES = ("hls", "mali", "bifrost", "intel_graphics", "arm_cpu")


class AbsentTarget(types.ModuleType):
    """``topi.<target>`` for a target with no tensorlang backend."""

    def __init__(self, target: str):
        super().__init__(f"tensorlang.topi.{target}", __doc__)
        self.target = target

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise TargetError(f"topi.{self.target}.{name}: tensorlang compiles for llvm (CPUs) and cuda only; "
                              f"there is no '{self.target}' target (use topi.x86 / topi.cuda / topi.generic)")
        unavailable.__name__ = unavailable.__qualname__ = name
        return unavailable


__all__ = ["NAMES", "AbsentTarget"]
