"""Tensor operator inventory (TVM's ``topi``): declarations of common ops as ``te.compute``
stages, helpers for writing schedules, numpy references (``topi.testing``) and AutoTVM
templates for x86 and CUDA (``topi.x86``, ``topi.cuda``).

    from tensorlang import topi
    C = topi.nn.conv2d_nchw(A, W, stride=1, padding=1)
"""

from __future__ import annotations

from . import cuda, generic, nn, tag, testing, utils, x86  # noqa: I001 - registers the AutoTVM templates, as importing TVM's topi does
from .broadcast import (
    add,
    broadcast_to,
    divide,
    equal,
    floor_divide,
    floor_mod,
    greater,
    greater_equal,
    less,
    less_equal,
    logical_and,
    logical_or,
    maximum,
    minimum,
    mod,
    multiply,
    not_equal,
    power,
    subtract,
)
from .math import (
    abs,
    cast,
    ceil,
    clip,
    cos,
    erf,
    exp,
    fast_exp,
    fast_tanh,
    floor,
    identity,
    isnan,
    log,
    log2,
    log10,
    negative,
    round,
    rsqrt,
    sigmoid,
    sin,
    sqrt,
    tan,
    tanh,
    trunc,
)
from .reduction import argmax, argmin, max, min, prod, sum
from .transform import concatenate, expand_dims, flatten, reshape, split, squeeze, stack, take, transpose

__all__ = ["generic", "nn", "tag", "testing", "utils", "add", "broadcast_to", "divide", "equal", "floor_divide",
           "floor_mod", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or", "maximum",
           "minimum", "mod", "multiply", "not_equal", "power", "subtract", "abs", "cast", "ceil", "clip", "cos",
           "erf", "exp", "fast_exp", "fast_tanh", "floor", "identity", "isnan", "log", "log2", "log10", "negative",
           "round", "rsqrt", "sigmoid", "sin", "sqrt", "tan", "tanh", "trunc", "argmax", "argmin", "max", "min",
           "prod", "sum", "concatenate", "expand_dims", "flatten", "reshape", "split", "squeeze", "stack", "take",
           "transpose", "x86", "cuda"]
