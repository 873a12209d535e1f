"""The tensor-expression language: declare computations with placeholders, compute and reducers.

``te.create_schedule`` is re-exported from ``tensorlang.schedule`` for TVM compatibility; it is
imported lazily so that the te layer itself never depends on the schedule layer.
"""

from __future__ import annotations

from typing import Any

from .dtype import DType, as_dtype, promote
from .expr import (
    EQ,
    GE,
    GT,
    LE,
    LT,
    NE,
    Add,
    And,
    Broadcast,
    Call,
    Cast,
    Div,
    FloatImm,
    FloorDiv,
    FloorMod,
    IntImm,
    Let,
    Load,
    Max,
    Min,
    Mod,
    Mul,
    Not,
    Or,
    PrimExpr,
    Ramp,
    Reduce,
    Select,
    Sub,
    TensorRead,
    Var,
    cast,
    const,
    if_then_else,
)
from .expr import all_ as all
from .expr import any_ as any
from .extern import (
    DeclBuffer,
    ExternOp,
    call_extern,
    call_intrin,
    call_packed,
    call_pure_extern,
    decl_buffer,
    extern,
)
from .intrin import (
    abs,
    ceil,
    cos,
    erf,
    exp,
    exp2,
    exp10,
    floor,
    floordiv,
    floormod,
    fmod,
    indexdiv,
    indexmod,
    isnan,
    log,
    log2,
    log10,
    max_value,
    min_value,
    power,
    round,
    rsqrt,
    sigmoid,
    sin,
    sqrt,
    tan,
    tanh,
    trunc,
    truncdiv,
    truncmod,
)
from .operation import compute, placeholder, reduce_axis, size_var, thread_axis, var
from .reduction import CommReducer, Reducer, comm_reducer, max, min, sum
from .scan import ScanOp, scan
from .tensor import ComputeOp, IterVar, IterVarType, Operation, PlaceholderOp, Range, Tensor

__all__ = [
    "DType", "as_dtype", "promote", "PrimExpr", "Var", "IntImm", "FloatImm", "Cast", "Add", "Sub",
    "Mul", "Div", "Mod", "FloorDiv", "FloorMod", "Min", "Max", "EQ", "NE", "LT", "LE", "GT", "GE",
    "And", "Or", "Not", "Select", "Call", "Let", "TensorRead", "Reduce", "Load", "Ramp",
    "Broadcast", "all", "any", "cast", "const", "if_then_else", "abs", "ceil", "cos", "erf", "exp",
    "exp2", "exp10", "floor", "floordiv", "floormod", "fmod", "indexdiv", "indexmod", "isnan",
    "log", "log2", "log10", "max_value", "min_value", "power", "round", "rsqrt", "sigmoid", "sin",
    "sqrt", "tan", "tanh", "trunc", "truncdiv", "truncmod", "compute", "placeholder",
    "reduce_axis", "size_var", "thread_axis", "var", "CommReducer", "Reducer", "comm_reducer",
    "max", "min", "sum", "ComputeOp", "IterVar", "IterVarType", "Operation", "PlaceholderOp",
    "Range", "Tensor", "create_schedule", "Schedule", "Stage", "DeclBuffer", "ExternOp", "call_extern",
    "call_intrin", "call_packed", "call_pure_extern", "decl_buffer", "extern", "ScanOp", "scan",
]


def __getattr__(name: str) -> Any:
    # TVM users call te.create_schedule; the schedule layer sits above te, so fetch lazily.
    if name in ("create_schedule", "Schedule", "Stage"):
        from .. import schedule
        return getattr(schedule, name)
    if name == "schedule":  # te.schedule.InferBound, te.schedule.Split ... as in TVM
        import importlib
        return importlib.import_module("..schedule", __name__)
    raise AttributeError(f"module 'tensorlang.te' has no attribute '{name}'")
