"""Findings of the s24 fuzz and bad-input campaign against numpy (one test per finding).

* topi.argmax / topi.argmin take TVM 0.12's ``select_last_index`` (ties give the last index);
  tensorlang raised a raw TypeError for the keyword.  numpy's answer for "the last index" is the
  first index of the reversed axis, mapped back; NaN counts as the extreme, as in numpy.
* TVM 0.12's ``ir_builder`` ``while_loop``: it must either work (match Python) or be refused with a
  tensorlang error naming it; it raised a raw AttributeError.
* A scratch buffer from ``ib.allocate`` that the kernel surely runs past (constant size, loops
  with constant extents) is refused at build, as the stage's own tensors already were; it ran and
  returned wrong values.  A negative or fractional allocation size is refused where it is written.
* A hybrid script's ``max``/``min``/``round`` with NaN or signed zeros: run as Python (its
  emulation) it used Python's builtins: ``max(1.0, nan)`` is 1.0 and ``max(-0.0, 0.0)`` is -0.0
  (the built stage and numpy give NaN and 0.0), and under numpy 2 ``round(np.float32(nan))``
  raised a raw ValueError (built: NaN; inf alike).
"""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import TensorLangError


def _last_index(fn, x, axis):
    """numpy's index of the last extreme along ``axis`` (the flat index when None)."""
    if axis is None:
        return np.asarray(x.size - 1 - fn(x.ravel()[::-1]))
    return x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis)


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_argmax_argmin_select_last_index_match_numpy_with_ties_and_nan(target):
    rng = np.random.default_rng()
    cases = [("float32", (6, 7), 1), ("uint8", (3, 4, 5), None)] if target == "llvm" else \
        [("float16", (6, 7), -1), ("int8", (5, 6), 0)]
    for dtype, shape, axis in cases:
        if dtype.startswith("float"):
            # few distinct values: many ties; some rows hold NaN (numpy: NaN is the extreme)
            x = rng.choice(np.array([-1.5, 0.0, 2.0, 2.0, -np.inf, np.inf], dtype), shape)
            x[rng.random(shape) < 0.08] = np.nan
        else:
            info = np.iinfo(dtype)
            x = rng.choice(np.array([info.min, info.max, 0, 1], dtype), shape)
        X = te.placeholder(shape, dtype, name="X")
        for op in ("argmax", "argmin"):
            if target == "llvm":
                Y = getattr(topi, op)(X, axis=axis, select_last_index=True)
                s = te.create_schedule(Y.op)
            else:
                with tvm.target.Target(target):
                    Y = getattr(topi, op)(X, axis=axis, select_last_index=True)
                    s = topi.cuda.schedule_reduce(Y)
            f = tvm.build(s, [X, Y], target=target)
            y = np.zeros([int(d) for d in Y.shape], str(Y.dtype))
            f(x, y)
            want = _last_index(getattr(np, op), x, axis)
            np.testing.assert_array_equal(y, want, err_msg=f"{op} select_last_index {dtype} axis={axis}\n{x}")


def test_ir_builder_while_loop_works_or_is_refused_clearly():
    n = 6
    a = np.random.default_rng().integers(1, 60, n).astype("int32")

    def gen(ins, outs):
        ib = tvm.tir.ir_builder.create()
        src, dst = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, n, name="i") as i:
            x = ib.allocate("int32", (1,), name="x", scope="local")
            steps = ib.allocate("int32", (1,), name="steps", scope="local")
            x[0] = src[i]
            steps[0] = 0
            with ib.while_loop(x[0] > 1):  # Collatz steps
                with ib.if_scope(x[0] % 2 == 0):
                    x[0] = x[0] // 2
                with ib.else_scope():
                    x[0] = x[0] * 3 + 1
                steps[0] = steps[0] + 1
            dst[i] = steps[0]
        return ib.get()

    A = te.placeholder((n,), "int32", name="A")
    try:
        C = te.extern((n,), [A], gen, dtype="int32", name="collatz")
        f = tvm.build(te.create_schedule(C.op), [A, C])
    except TensorLangError as e:
        assert "while_loop" in str(e)
        return
    c = np.zeros(n, "int32")
    f(a, c)

    def steps(v):
        k = 0
        while v > 1:
            v = v // 2 if v % 2 == 0 else 3 * v + 1
            k += 1
        return k

    assert c.tolist() == [steps(int(v)) for v in a]


def _scratch_kernel(n, shape, uses):
    """An extern stage copying A through an ib.allocate scratch buffer of ``shape``: out[j] =
    (A[j] + 1) * 2 for j < uses (the rest of out is never written)."""
    A = te.placeholder((n,), "float32", name="A")

    def gen(ins, outs):
        ib = tvm.tir.ir_builder.create()
        src, dst = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tmp = ib.allocate("float32", shape, name="tmp", scope="local")
        with ib.for_range(0, uses, name="j") as j:
            tmp[j] = src[j] + 1.0
        with ib.for_range(0, uses, name="k") as k:
            dst[k] = tmp[k] * 2.0
        return ib.get()

    return A, te.extern((n,), [A], gen, dtype="float32", name="scratch")


def test_ir_builder_scratch_buffer_overrun_is_refused():
    rng = np.random.default_rng()
    n = 8
    size = int(rng.integers(1, 5))
    uses = size + int(rng.integers(1, 3))  # surely past the end of tmp
    A, C = _scratch_kernel(n, (size,), uses)
    with pytest.raises(TensorLangError, match="tmp"):
        tvm.build(te.create_schedule(C.op), [A, C])
    for bad in [(-size,), (size + 0.5,)]:
        with pytest.raises(TensorLangError, match="allocate"):
            _scratch_kernel(n, bad, 1)
    # the same kernel with a large enough buffer runs and matches numpy
    A, C = _scratch_kernel(n, (uses,), uses)
    f = tvm.build(te.create_schedule(C.op), [A, C])
    a = rng.standard_normal(n).astype("float32")
    c = np.zeros(n, "float32")
    f(a, c)
    np.testing.assert_array_equal(c[:uses], (a[:uses] + np.float32(1)) * np.float32(2))


@te.hybrid.script
def _hybrid_max_min_round(a, b):
    c = output_tensor(a.shape, a.dtype)  # noqa: F821 (a hybrid script keyword)
    d = output_tensor(a.shape, a.dtype)  # noqa: F821
    e = output_tensor(a.shape, a.dtype)  # noqa: F821
    for i in range(a.shape[0]):
        c[i] = max(a[i], b[i])
        d[i] = min(a[i], b[i])
        e[i] = round(a[i] * 2.0)
    return c, d, e


def test_hybrid_max_min_round_with_nan_agree_between_emulation_build_and_numpy():
    rng = np.random.default_rng()
    n = 12
    a = (rng.standard_normal(n) * 4).astype("float32")
    b = rng.standard_normal(n).astype("float32")
    a[rng.permutation(n)[:3]] = np.nan  # NaN on either side, and on both at some places
    b[rng.permutation(n)[:3]] = np.nan
    a[rng.integers(n)] = rng.choice([np.inf, -np.inf])
    k, m = rng.choice(n, 2, replace=False)  # equal zeros of both signs, both ways round
    a[k], b[k], a[m], b[m] = -0.0, 0.0, 0.0, -0.0
    A, B = te.placeholder((n,), name="A"), te.placeholder((n,), name="B")
    outs = _hybrid_max_min_round(A, B)
    f = tvm.build(te.create_schedule([o.op for o in outs]), [A, B, *outs])
    built = [np.zeros(n, "float32") for _ in outs]
    f(a, b, *built)
    emulated = _hybrid_max_min_round(a, b)
    wants = [np.maximum(a, b), np.minimum(a, b), np.round(a * np.float32(2))]
    for got, emu, want in zip(built, emulated, wants):
        emu = np.asarray(emu, "float32")
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(emu, want)
        # the sign of a zero too (numpy's maximum of -0.0 and 0.0 is the second)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_array_equal(np.signbit(emu), np.signbit(want))
