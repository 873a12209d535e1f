"""TVM's integer and exponent intrinsics: popcount, clz, ldexp, ceildiv (and infinity, tir.pow,
tir's reducers and SizeVar), checked against numpy and Python integers on fresh random data,
scalar and vectorized on the CPU and in CUDA emulation."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, tir, topi
from tensorlang.errors import DTypeError

rng = np.random.default_rng()
INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def _run(fn, *arrays, how="scalar"):
    n = len(arrays[0])
    ins = [te.placeholder((n,), str(a.dtype), name=f"A{k}") for k, a in enumerate(arrays)]
    out = te.compute((n,), lambda i: fn(*[t[i] for t in ins]), name="out")
    s = te.create_schedule(out.op)
    target = "llvm"
    if how == "vector":
        _, xi = s[out].split(out.op.axis[0], factor=8)
        s[out].vectorize(xi)
    elif how == "cuda":
        bx, tx = s[out].split(out.op.axis[0], factor=32)
        s[out].bind(bx, te.thread_axis("blockIdx.x"))
        s[out].bind(tx, te.thread_axis("threadIdx.x"))
        target = "cuda -emulate"
    res = np.zeros(n, str(out.dtype))
    tl.build(s, [*ins, out], target=target)(*arrays, res)
    return res


def _random_ints(dtype, n=160):
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    a[:5] = [0, 1, info.max, info.min, info.max // 3]
    return a


def _bits(a):
    """The two's complement bit patterns of ``a`` as Python integers."""
    return [int(v) for v in a.view(f"uint{a.dtype.itemsize * 8}").astype(object)]


@pytest.mark.parametrize("how", ["scalar", "vector"])
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_popcount_and_clz_count_the_twos_complement_bits(dtype, how):
    a = _random_ints(dtype)
    width = a.dtype.itemsize * 8
    pop = _run(tir.popcount, a, how=how)
    assert pop.dtype == a.dtype  # TVM: popcount keeps x's dtype, clz is int32
    np.testing.assert_array_equal(pop, [bin(v).count("1") for v in _bits(a)])
    lead = _run(tir.clz, a, how=how)
    assert lead.dtype == np.int32
    np.testing.assert_array_equal(lead, [width - v.bit_length() for v in _bits(a)])
    assert te.popcount is tir.popcount and te.clz is tir.clz


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint16", "int64"])
def test_popcount_and_clz_in_cuda_emulation(dtype):
    a = _random_ints(dtype, 96)
    width = a.dtype.itemsize * 8
    np.testing.assert_array_equal(_run(te.popcount, a, how="cuda"), [bin(v).count("1") for v in _bits(a)])
    np.testing.assert_array_equal(_run(te.clz, a, how="cuda"), [width - v.bit_length() for v in _bits(a)])


@pytest.mark.parametrize("how", ["scalar", "vector", "cuda"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_ldexp_is_numpys_rounded_once(dtype, how):
    x = (rng.standard_normal(256) * 20).astype(dtype)
    x[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 3.0, -5.0, np.finfo(dtype).tiny]
    n = rng.integers(-160, 160, 256).astype("int64")
    n[:12] = [4, 4, -4, 4, 1, 5000, -5000, -3, 2**40, -(2**40), 2**62, 0]
    n[200:] = rng.integers(-1100, 1100, 56)  # subnormal and overflowing results of every dtype
    got = _run(te.ldexp, x, n, how=how)
    with np.errstate(all="ignore"):
        want = np.ldexp(x, np.clip(n, -(2**31), 2**31 - 1).astype(np.int32))
    np.testing.assert_array_equal(got, want)  # NaN where NaN, and exactly equal elsewhere
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_ldexp_takes_any_integer_exponent_type_and_has_a_gradient():
    x = rng.standard_normal(64).astype("float32")
    for ndt in ("int8", "uint8", "int16", "uint32", "uint64"):
        n = rng.integers(0, 100, 64).astype(ndt)
        np.testing.assert_array_equal(_run(tir.ldexp, x, n), np.ldexp(x, n.astype(np.int32)))
    A = te.placeholder((6,), name="A", dtype="float64")
    N = te.placeholder((6,), name="N", dtype="int32")
    B = te.compute((6,), lambda i: te.ldexp(A[i] * A[i], N[i]), name="B")
    (grad,) = te.gradient(B, [A], head=topi.full_like(B, 1.0))
    a, n, g = rng.standard_normal(6), rng.integers(-3, 4, 6).astype("int32"), np.empty(6)
    tl.build(te.create_schedule(grad.op), [A, N, grad])(a, n, g)
    np.testing.assert_allclose(g, 2 * a * np.ldexp(1.0, n), rtol=1e-15)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_ceildiv_rounds_up_without_overflow(dtype):
    a = _random_ints(dtype)
    info = np.iinfo(dtype)
    b = rng.integers(1, 40, len(a)).astype(dtype)
    if info.min < 0:
        b[::3] = (-b[::3].astype(np.int64)).astype(dtype)
    b[:3] = [1, 7, 3]
    got = _run(tir.ceildiv, a, b, how="vector")
    want = [-((-int(x)) // int(y)) for x, y in zip(a, b)]
    # The true quotient wraps only for INT_MIN / -1, as numpy's floor division does.
    want = np.array([(w - info.min) % (info.max - info.min + 1) + info.min for w in want], dtype=object)
    np.testing.assert_array_equal(got.astype(object), want)


def test_ceildiv_of_floats_and_constants():
    x = rng.standard_normal(50).astype("float32") * 10
    y = rng.uniform(0.5, 3, 50).astype("float32")
    np.testing.assert_array_equal(_run(te.ceildiv, x, y), np.ceil(x / y))
    k = np.array([-7, 7, 0, 9], "int32")
    np.testing.assert_array_equal(_run(lambda v: te.ceildiv(v, 2) + te.ceildiv(7, 2), k), [-3 + 4, 4 + 4, 4, 5 + 4])


def test_tvm_names_and_errors():
    assert tir.pow is tir.power
    assert float(tir.infinity("float32").value) == np.inf
    with pytest.raises(DTypeError, match="only float dtypes"):
        tir.infinity("int32")
    with pytest.raises(DTypeError, match="te.popcount expects an integer expression"):
        te.popcount(te.const(1.5))
    with pytest.raises(DTypeError, match="te.ldexp expects an integer exponent"):
        te.ldexp(te.const(1.5), te.const(2.0))
    with pytest.raises(DTypeError, match="te.ldexp expects a float expression"):
        te.ldexp(te.const(3), 2)
    n = tir.SizeVar("n", "int32")
    A = te.placeholder((n,), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((1,), lambda _: tir.max(A[k], axis=k), name="B")
    assert tir.sum is te.sum and tir.comm_reducer is te.comm_reducer and isinstance(k, tir.IterVar)
    a = rng.standard_normal(37).astype("float32")
    out = np.empty(1, "float32")
    tl.build(te.create_schedule(B.op), [A, B])(a, out)
    assert out[0] == a.max()
    assert isinstance(te.placeholder((2, 3), name="M")[1], te.TensorSlice)
