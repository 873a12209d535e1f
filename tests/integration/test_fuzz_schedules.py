"""Differential fuzzing of whole schedules against numpy: a random elementwise producer over
two 2-D inputs (the expression trees of test_fuzz_numpy.py plus unary ops, casts and
te.fmax/te.fmin) feeding a consumer that reduces one axis (max, min, fmax, fmin, integer sum)
or maps elementwise, under random schedules: split factors (dividing or not), reorder, fuse,
vectorize, unroll, parallel, and the producer inlined, at root or computed at any consumer loop;
shapes static or symbolic. Results must equal numpy's exactly (-fp-contract=off; float sums are
not drawn: their order of additions differs from numpy's).

The CI run is bounded; ``tools/fuzz_numpy.py --schedules`` runs it longer.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te

from .test_fuzz_numpy import DTYPES, FLOAT_DTYPES, INT_DTYPES, _data, _np_op, _te_op

UNARY = ["neg", "abs", "cast"]
BINARY = ["add", "sub", "mul", "floordiv", "mod", "max", "min", "select", "fmax", "fmin"]
LEAF_ONLY = {"floordiv", "mod", "select"}  # on floats: discontinuous, so only on exact inputs


@st.composite
def trees(draw: st.DrawFn, dtype: str, depth: int = 0):
    """("x",) / ("y",) leaves, (unary, child) or (binary, left, right); casts go to a dtype and back."""
    is_float = dtype in FLOAT_DTYPES
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return (draw(st.sampled_from(["x", "y"])),)
    if draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(UNARY))
        if op == "cast":
            # int -> int wraps, int <-> float rounds, and float -> int of out-of-range values
            # gives what numpy's C cast gives (target.llvm codegen's _float_to_int), so an int
            # may go through float16 and back. Floats stay floats: numpy's SIMD float -> uint32
            # loops disagree with its own C cast on out-of-range values.
            to = draw(st.sampled_from(FLOAT_DTYPES if is_float else DTYPES))
            return ("cast", to, draw(trees(dtype, depth + 1)))
        return (op, draw(trees(dtype, depth + 1)))
    op = draw(st.sampled_from(BINARY))
    if is_float and op in LEAF_ONLY:
        return (op, (draw(st.sampled_from(["x", "y"])),), (draw(st.sampled_from(["x", "y"])),))
    return (op, draw(trees(dtype, depth + 1)), draw(trees(dtype, depth + 1)))


def _te_eval(tree, leaves, dtype: str):
    if len(tree) == 1:
        return leaves[tree[0]]
    op = tree[0]
    if op == "neg":
        return -_te_eval(tree[1], leaves, dtype)
    if op == "abs":
        return te.abs(_te_eval(tree[1], leaves, dtype))
    if op == "cast":
        return _te_eval(tree[2], leaves, dtype).astype(tree[1]).astype(dtype)
    a, b = _te_eval(tree[1], leaves, dtype), _te_eval(tree[2], leaves, dtype)
    if op in ("fmax", "fmin"):
        return getattr(te, op)(a, b)
    return _te_op(op, a, b)


def _np_eval(tree, leaves, dtype: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        if len(tree) == 1:
            return leaves[tree[0]]
        op = tree[0]
        if op == "neg":
            return -_np_eval(tree[1], leaves, dtype)
        if op == "abs":
            return np.abs(_np_eval(tree[1], leaves, dtype))
        if op == "cast":
            return _np_eval(tree[2], leaves, dtype).astype(tree[1]).astype(dtype)
        a, b = _np_eval(tree[1], leaves, dtype), _np_eval(tree[2], leaves, dtype)
        if op in ("fmax", "fmin"):
            return getattr(np, op)(a, b)
        return np.asarray(_np_op(op, a, b)).astype(dtype)


@st.composite
def schedule_cases(draw: st.DrawFn):
    dtype = draw(st.sampled_from(DTYPES))
    tree = draw(trees(dtype))
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 20))
    reducers = ["max", "min", "fmax", "fmin", "none"] + (["sum"] if dtype in INT_DTYPES else [])
    consumer = draw(st.sampled_from(reducers))
    place = draw(st.sampled_from(["inline", "root", "at0", "at1", "at2"]))
    knobs = dict(
        symbolic=draw(st.booleans()),
        f0=draw(st.sampled_from([1, 2, 3, 4, 8])), f1=draw(st.sampled_from([1, 2, 4, 5, 8, 16])),
        reorder=draw(st.booleans()), fuse=draw(st.booleans()),
        inner=draw(st.sampled_from(["none", "vectorize", "unroll"])), parallel=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)))
    return dtype, tree, rows, cols, consumer, place, knobs


def _consumer(P, consumer: str, rows, cols):
    if consumer == "none":
        return te.compute((rows, cols), lambda i, j: P[i, j] + P[i, j], name="C")
    k = te.reduce_axis((0, cols), "k")
    return te.compute((rows,), lambda i: getattr(te, consumer)(P[i, k], axis=k), name="C")


def _np_consumer(p: np.ndarray, consumer: str, dtype: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        if consumer == "none":
            return (p + p).astype(dtype)
        if p.shape[1] == 0:
            raise AssertionError("empty reduction is not drawn")
        if consumer == "sum":
            return p.sum(axis=1, dtype=dtype)
        fn = {"max": np.maximum, "min": np.minimum, "fmax": np.fmax, "fmin": np.fmin}[consumer]
        return fn.reduce(p, axis=1)


def _specials(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Floats with some NaN and infinities (where max, min, fmax and fmin differ)."""
    if x.dtype.kind == "f":
        pick = rng.random(x.size)
        x[pick < 0.06] = np.nan
        x[(pick >= 0.06) & (pick < 0.09)] = rng.choice([np.inf, -np.inf], ((pick >= 0.06) & (pick < 0.09)).sum())
    return x


def check_schedule_case(case) -> None:
    dtype, tree, rows, cols, consumer, place, knobs = case
    rng = np.random.default_rng(knobs["seed"])
    R, K = (te.var("rows"), te.var("cols")) if knobs["symbolic"] else (rows, cols)
    X = te.placeholder((R, K), dtype, name="X")
    Y = te.placeholder((R, K), dtype, name="Y")
    P = te.compute((R, K), lambda i, j: _te_eval(tree, {"x": X[i, j], "y": Y[i, j]}, dtype), name="P")
    C = _consumer(P, consumer, R, K)
    s = te.create_schedule(C.op)
    axes = list(C.op.axis) + list(C.op.reduce_axis)
    outer, inner = s[C].split(axes[0], factor=knobs["f0"])
    loops = [outer, inner]
    if len(axes) > 1:
        o2, i2 = s[C].split(axes[1], factor=knobs["f1"])
        loops += [o2, i2]
        if knobs["reorder"] and consumer == "none":
            s[C].reorder(outer, o2, inner, i2)
            loops = [outer, o2, inner, i2]
    if knobs["fuse"] and consumer == "none" and len(loops) == 4:
        fused = s[C].fuse(loops[0], loops[1])
        loops = [fused] + loops[2:]
    last = loops[-1]
    reduces_last = consumer != "none"
    if knobs["inner"] == "vectorize" and not reduces_last:
        s[C].vectorize(last)
    elif knobs["inner"] == "unroll":
        s[C].unroll(last)
    if knobs["parallel"]:
        s[C].parallel(loops[0])
    if place == "inline":
        s[P].compute_inline()
    elif place.startswith("at"):
        s[P].compute_at(s[C], loops[min(int(place[2]), len(loops) - 1)])
    desc = f"{tree} on {dtype}, {rows}x{cols}, consumer {consumer}, producer {place}, {knobs}"
    args = [X, Y, C]
    f = tl.build(s, args, "llvm -fp-contract=off")
    x, y = (_specials(_data(dtype, rows * cols, rng), rng).reshape(rows, cols) for _ in range(2))
    want = _np_consumer(_np_eval(tree, {"x": x, "y": y}, dtype).astype(dtype), consumer, dtype)
    out = _data(dtype, want.size, rng).reshape(want.shape)  # garbage the kernel must overwrite
    f(x, y, out)
    np.testing.assert_array_equal(out, want, err_msg=desc)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule_cases())
def test_random_schedules_match_numpy(case) -> None:
    check_schedule_case(case)
