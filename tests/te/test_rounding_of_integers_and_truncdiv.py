"""te.floor/ceil/trunc/round of an integer keep the integer (numpy 2 and TVM 0.12 both do): a float64
detour loses the low bits of int64 values beyond 2**53.  te.truncdiv of floats is refused, as TVM
refuses it, instead of silently being the true quotient."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import DTypeError

rng = np.random.default_rng()


NAMES = ("floor", "ceil", "trunc", "round")


def _run(fns, a, target="llvm"):
    """Each of ``fns`` of ``a``, elementwise, from one build."""
    A = te.placeholder(a.shape, str(a.dtype), name="A")
    outs = [te.compute(a.shape, lambda i, fn=fn: fn(A[i]), name=f"C{k}") for k, fn in enumerate(fns)]
    s = te.create_schedule([C.op for C in outs])
    for C in outs:
        outer, inner = s[C].split(C.op.axis[0], factor=8)
        if target.startswith("cuda"):
            s[C].bind(outer, te.thread_axis("blockIdx.x"))
            s[C].bind(inner, te.thread_axis("threadIdx.x"))
        else:
            s[C].vectorize(inner)
    f = tl.build(s, [A, *outs], target)
    res = [np.empty(a.shape, str(C.dtype)) for C in outs]
    f(a, *res)
    return res


@pytest.mark.parametrize("dtype,target", [("int8", "llvm"), ("uint16", "llvm"), ("int32", "cuda -emulate"),
                                          ("int64", "llvm"), ("int64", "cuda -emulate"), ("uint64", "llvm")])
def test_integer_argument_is_returned_exactly_in_its_dtype(dtype, target):
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, 37, endpoint=True, dtype=dtype)
    a[:2] = [info.min, info.max]
    for name, got in zip(NAMES, _run([getattr(te, n) for n in NAMES], a, target)):
        want = getattr(np, name)(a)
        assert got.dtype == want.dtype == np.dtype(dtype), name
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_bool_and_float_arguments_keep_numpys_dtypes():
    b = rng.random(16) < 0.5
    for name, got in zip(NAMES, _run([getattr(te, n) for n in NAMES], b)):
        assert got.dtype == getattr(np, name)(b).dtype, name  # bool, and float16 for round, as numpy
        np.testing.assert_array_equal(got, getattr(np, name)(b), err_msg=name)
    x = (rng.standard_normal(40) * 8).astype("float32")
    x[::5] = np.round(x[::5]) + 0.5  # ties go to even
    for name, got in zip(NAMES, _run([getattr(te, n) for n in NAMES], x)):
        np.testing.assert_array_equal(got, getattr(np, name)(x), err_msg=name)


def test_truncdiv_of_floats_is_refused_and_of_integers_rounds_toward_zero():
    x = te.placeholder((4,), "float32", name="X")
    with pytest.raises(DTypeError, match="te.truncdiv expects integer operands"):
        te.truncdiv(x[0], x[1])
    with pytest.raises(DTypeError, match="te.truncdiv"):
        te.truncdiv(x[0], 2)
    a = rng.integers(-100, 100, 32).astype("int32")
    d = rng.integers(1, 9, 32).astype("int32") * rng.choice([-1, 1], 32).astype("int32")
    A, D = te.placeholder((32,), "int32", name="A"), te.placeholder((32,), "int32", name="D")
    C = te.compute((32,), lambda i: te.truncdiv(A[i], D[i]), name="C")
    out = np.empty(32, "int32")
    tl.build(te.create_schedule(C.op), [A, D, C])(a, d, out)
    np.testing.assert_array_equal(out, np.trunc(a / d).astype("int32"))
