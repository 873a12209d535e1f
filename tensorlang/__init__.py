"""tensorlang: a pure-Python tensor compiler with TVM's classic te/schedule API.

    import tensorlang as tl
    from tensorlang import te
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import container, contrib, driver, error, errors, runtime, schedule, target, te, testing, tir, topi, transform
from .build_module import build, lower
from .errors import *  # noqa: F403 - the error classes, at top level as in TVM
from .errors import TensorLangError as TVMError
from .runtime import cpu, cuda, device, get_global_func, register_func
from .runtime import ndarray as nd

__all__ = ["__version__", "container", "contrib", "driver", "error", "transform", "errors", "topi", "TVMError",
           "runtime", "schedule", "target", "te", "testing", "tir", "build", "lower",
           "cpu", "cuda", "device", "get_global_func", "register_func",
           "nd", *errors.__all__]
