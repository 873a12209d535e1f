"""TVM's ``tvm.contrib.cudnn``: tensorlang has no cuDNN binding, so ``exists()`` is False, as on a
TVM build without cuDNN, and code that checks it takes its other path."""

from __future__ import annotations

from typing import Any

from ..errors import TargetError


def exists() -> bool:
    """Whether cuDNN can be called: never, here."""
    return False


def __getattr__(name: str) -> Any:
    # every cuDNN entry point (conv_forward, softmax ...) exists and refuses when called
    if name.startswith("__"):
        raise AttributeError(name)

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise TargetError(f"tvm.contrib.cudnn.{name}: tensorlang has no cuDNN binding (cudnn.exists() is "
                          "False); use topi.cuda's computes and schedules instead")
    unavailable.__name__ = unavailable.__qualname__ = name
    return unavailable


__all__ = ["exists"]
