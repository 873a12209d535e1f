"""tensorlang: a pure-Python tensor compiler with TVM's classic te/schedule API.

    import tensorlang as tl
    from tensorlang import te
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from . import (
    container,
    contrib,
    driver,
    error,
    errors,
    ffi,
    rpc,
    runtime,
    schedule,
    target,
    te,
    testing,
    tir,
    topi,
    transform,
    tvm_paths,
)
from .build_module import build, lower
from .errors import *  # noqa: F403 - the error classes, at top level as in TVM
from .errors import TensorLangError as TVMError
from .ir import IRModule
from .runtime import DataType, DataTypeCode, convert, cpu, cuda, device, get_global_func, gpu, register_func
from .runtime import ndarray as nd

_ffi = ffi  # TVM code names it tvm._ffi (tvm._ffi.register_func, tvm._ffi.base.TVMError)
tvm_paths.install()  # TVM's dotted module paths (tensorlang.autotvm.tuner ...) import from here on

# TVM code names the tuners through the package too (``tvm.auto_scheduler.SearchTask``,
# ``tvm.autotvm.task.create``); they sit on top of everything, so they load on first use.
_TUNER_ALIASES = {"autotune": "autotune", "autotvm": "autotune", "autoschedule": "autoschedule",
                  "auto_scheduler": "autoschedule"}


# TVM's other stacks, which user code reaches through the package: their absence is by design,
# and the error says so rather than leaving the user to wonder about a missing install.
_NOT_HERE = {"relay": "Relay (TVM's graph-level IR)", "relax": "Relax", "meta_schedule": "MetaSchedule",
             "script": "TVMScript", "micro": "microTVM", "dlight": "DLight"}


def __getattr__(name: str) -> object:
    if name in _TUNER_ALIASES:
        return importlib.import_module(f".{_TUNER_ALIASES[name]}", __name__)
    if name in _NOT_HERE:
        raise AttributeError(f"module 'tensorlang' has no attribute '{name}': {_NOT_HERE[name]} is not part of "
                             "tensorlang, which follows TVM's classic te / schedule / AutoTVM / auto_scheduler "
                             "stack (tensorlang.autoschedule is the template-free tuner)")
    raise AttributeError(f"module 'tensorlang' has no attribute '{name}'")


__all__ = ["__version__", "container", "contrib", "driver", "error", "transform", "errors", "rpc", "topi", "TVMError",
           "runtime", "schedule", "target", "te", "testing", "tir", "build", "lower",
           "DataType", "DataTypeCode", "IRModule", "convert", "cpu", "cuda", "device", "get_global_func", "gpu",
           "register_func", "nd", *errors.__all__]
