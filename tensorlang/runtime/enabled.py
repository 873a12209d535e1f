"""``tvm.runtime.enabled(target)``: whether code built for a target can run here."""

from __future__ import annotations

from typing import Any

from .ndarray import cuda


def enabled(target: Any) -> bool:
    """True for "llvm" (and "c", "cpu") and for "cuda -emulate"; for "cuda" only when a GPU is
    usable, so that code which checks before running on a GPU skips cleanly on a machine
    without one (TVM answers whether the runtime was compiled in, which here it always is)."""
    words = str(target).split()
    if not words or words[0] in ("llvm", "c", "cpu"):
        return True
    if words[0] in ("cuda", "gpu"):
        return "-emulate" in words or cuda(0).exist
    return False
