"""Differential fuzzing against numpy: random expressions over every dtype, under random
schedules (split, vectorize, unroll, parallel), compiled with LLVM, give numpy's results.

Built with -fp-contract=off (no a*b+c fusion), every result must equal numpy's exactly:
integers (wrap-around, floor division, zero divisors, bitwise operators and shifts by any count)
and floats alike, NaN where numpy has NaN.  The CI run is bounded (300 examples, about 10 s);
``tools/fuzz_numpy.py`` runs the same property for as long as it is given.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOAT_DTYPES = ["float16", "float32", "float64"]
DTYPES = INT_DTYPES + FLOAT_DTYPES


def _np_op(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if name == "add":
            return a + b
        if name == "sub":
            return a - b
        if name == "mul":
            return a * b
        if name == "floordiv":
            out = np.floor_divide(a, b)
        elif name == "mod":
            out = np.remainder(a, b)
        elif name == "max":
            return np.maximum(a, b)
        elif name == "min":
            return np.minimum(a, b)
        elif name in _BITWISE:
            return _BITWISE[name][0](a, b)
        else:  # select on a comparison
            return np.where(a < b, a, b - a)
        if a.dtype.kind in "iu":
            out = np.where(b == 0, 0, out).astype(a.dtype)
        return out


def _te_op(name: str, a, b):
    if name == "add":
        return a + b
    if name == "sub":
        return a - b
    if name == "mul":
        return a * b
    if name == "floordiv":
        return a // b
    if name == "mod":
        return a % b
    if name == "max":
        return te.max(a, b)
    if name == "min":
        return te.min(a, b)
    if name in _BITWISE:
        return _BITWISE[name][1](a, b)
    return te.if_then_else(a < b, a, b - a)


# integer dtypes only: numpy's function, and the te operator
_BITWISE = {"and": (np.bitwise_and, lambda a, b: a & b), "or": (np.bitwise_or, lambda a, b: a | b),
            "xor": (np.bitwise_xor, lambda a, b: a ^ b), "shl": (np.left_shift, lambda a, b: a << b),
            "shr": (np.right_shift, lambda a, b: a >> b), "not": (lambda a, b: np.invert(a), lambda a, b: ~a)}


LEAF_ONLY = {"floordiv", "mod", "select"}  # on floats: discontinuous, so only on exact inputs


@st.composite
def expressions(draw: st.DrawFn, is_float: bool, depth: int = 0):
    """A nested list describing an expression: ("x",) / ("y",) leaves or (op, left, right)."""
    if depth >= 3 or draw(st.booleans()):
        return (draw(st.sampled_from(["x", "y"])),)
    ops = ["add", "sub", "mul", "floordiv", "mod", "max", "min", "select"]
    op = draw(st.sampled_from(ops if is_float else ops + sorted(_BITWISE)))
    if is_float and op in LEAF_ONLY:
        return (op, (draw(st.sampled_from(["x", "y"])),), (draw(st.sampled_from(["x", "y"])),))
    return (op, draw(expressions(is_float, depth + 1)), draw(expressions(is_float, depth + 1)))


def _eval(tree, leaves, op):
    if len(tree) == 1:
        return leaves[tree[0]]
    return op(tree[0], _eval(tree[1], leaves, op), _eval(tree[2], leaves, op))


def _data(dtype: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if dtype in INT_DTYPES:
        info = np.iinfo(dtype)
        out = rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
        small = rng.integers(max(info.min, -9), min(info.max, 9), n, endpoint=True).astype(dtype)
        return np.where(rng.random(n) < 0.5, small, out)  # zeros, -1 and extremes are all likely
    out = (rng.standard_normal(n) * 10).astype(dtype)
    out[rng.random(n) < 0.1] = 0
    return out


@st.composite
def cases(draw: st.DrawFn):
    dtype = draw(st.sampled_from(DTYPES))
    tree = draw(expressions(dtype in FLOAT_DTYPES))
    n = draw(st.integers(1, 40))
    factor = draw(st.sampled_from([1, 2, 3, 4, 8, 16]))
    inner = draw(st.sampled_from(["none", "vectorize", "unroll"]))
    parallel = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return dtype, tree, n, factor, inner, parallel, seed


def check_case(case) -> None:
    dtype, tree, n, factor, inner, parallel, seed = case
    rng = np.random.default_rng(seed)
    X = te.placeholder((n,), dtype, name="X")
    Y = te.placeholder((n,), dtype, name="Y")
    Z = te.compute((n,), lambda i: _eval(tree, {"x": X[i], "y": Y[i]}, _te_op), name="Z")
    s = te.create_schedule(Z.op)
    outer, inner_ax = s[Z].split(Z.op.axis[0], factor=factor)
    if inner == "vectorize":
        s[Z].vectorize(inner_ax)
    elif inner == "unroll":
        s[Z].unroll(inner_ax)
    if parallel:
        s[Z].parallel(outer)
    f = tl.build(s, [X, Y, Z], "llvm -fp-contract=off")
    x, y = _data(dtype, n, rng), _data(dtype, n, rng)
    z = _data(dtype, n, rng)  # garbage the kernel must overwrite
    f(x, y, z)
    want = np.asarray(_eval(tree, {"x": x, "y": y}, _np_op)).astype(dtype)
    np.testing.assert_array_equal(z, want, err_msg=f"{tree} on {dtype}, n={n}, split {factor}, {inner}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_expressions_and_schedules_match_numpy(case) -> None:
    check_case(case)
