"""The tensor-expression language: declare computations with placeholders, compute and reducers.

``te.create_schedule`` is re-exported from ``tensorlang.schedule`` for TVM compatibility; it is
imported lazily so that the te layer itself never depends on the schedule layer.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import (
    broadcast,  # noqa: F401 - gives Tensor its + - * / operators
    expr,
    intrin,
)
from .dtype import DType, as_dtype, promote
from .expr import *  # noqa: F403 - the expression nodes and constructors (expr.__all__)
from .expr import all_of as all
from .expr import any_of as any
from .extern import (
    DeclBuffer,
    ExternOp,
    HybridOp,
    call_extern,
    call_intrin,
    call_packed,
    call_pure_extern,
    decl_buffer,
    extern,
)
from .intrin import *  # noqa: F403 - the math intrinsics (intrin.__all__)
from .operation import compute, placeholder, reduce_axis, size_var, thread_axis, var
from .reduction import CommReducer, Reducer, comm_reducer, fmax, fmin, max, min, sum
from .scan import ScanOp, scan
from .tag import tag_scope
from .tensor import ComputeOp, IterVar, IterVarType, Operation, PlaceholderOp, Range, Tensor, TensorSlice
from .tensor_intrin import TensorIntrin, decl_tensor_intrin

# TVM's marker between groups of physical axes in a Stage.transform_layout mapping (texture
# memory); tensorlang stores buffers flat and refuses it there, naming it.
AXIS_SEPARATOR = "axis_separator"

__all__ = [
    "DType", "as_dtype", "promote", *expr.__all__, "all", "any", *intrin.__all__, "compute", "placeholder",
    "reduce_axis", "size_var", "tag_scope", "thread_axis", "var", "CommReducer", "Reducer", "comm_reducer",
    "max", "min", "fmax", "fmin", "sum", "ComputeOp", "IterVar", "IterVarType", "Operation", "PlaceholderOp",
    "Range", "Tensor", "TensorSlice", "DeclBuffer", "ExternOp", "HybridOp", "call_extern", "call_intrin", "call_packed",
    "call_pure_extern", "decl_buffer", "extern", "TensorIntrin", "decl_tensor_intrin", "ScanOp", "scan",
    "AXIS_SEPARATOR", "create_schedule", "Schedule", "Stage", "gradient", "create_prim_func",  # noqa: F405 - by __getattr__ below
]


def __getattr__(name: str) -> Any:
    # TVM users call te.create_schedule; the schedule layer sits above te, so fetch lazily.
    if name in ("create_schedule", "Schedule", "Stage"):
        from .. import schedule
        return getattr(schedule, name)
    if name == "schedule":  # te.schedule.InferBound, te.schedule.Split ... as in TVM
        return importlib.import_module("..schedule", __name__)
    if name == "hybrid":  # te.hybrid.script: it builds loop IR, a layer above te
        return importlib.import_module("..hybrid", __name__)
    if name == "create_prim_func":  # te.create_prim_func: it lowers, a layer above te
        from ..build_module import create_prim_func
        return create_prim_func
    if name == "gradient":  # te.gradient: it simplifies index arithmetic, a layer above te
        from ..autodiff import gradient
        return gradient
    raise AttributeError(f"module 'tensorlang.te' has no attribute '{name}'")
