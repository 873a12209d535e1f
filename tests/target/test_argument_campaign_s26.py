"""How built functions and NDArrays take their arguments (bad-input campaign, session 26).

Every argument numpy would take gives numpy's answer, or a tensorlang ArgumentError naming the
argument and what is wrong, and then nothing was written; never a silent wrong answer (a view
read as if contiguous, an output written into a copy, a read-only array written).  Found here:
te.extern inputs (topi.sort, cblas) were taken for written, so a read-only input was refused
("writes to it") and one array passed as both inputs of a matmul "overlapped"; NDArrays kept a
big-endian dtype ('>f4', no TVM dtype) and read TVM's "int"/"float" as numpy's 64-bit types; a
read-only GPU array (``__cuda_array_interface__``) was accepted as an output."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, tir, topi
from tensorlang.contrib import cblas
from tensorlang.errors import ArgumentError
from tensorlang.target.binder import ArgBinder

pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
rng = np.random.default_rng(26)


def _f32(*shape):
    return rng.standard_normal(shape).astype("float32")


def _read_only(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@functools.cache
def _vadd(target="llvm"):
    A = te.placeholder((8,), name="A")
    B = te.placeholder((8,), name="B")
    C = te.compute((8,), lambda i: A[i] + B[i] * 2, name="C")
    s = te.create_schedule(C.op)
    if target != "llvm":
        xo, xi = s[C].split(C.op.axis[0], factor=4)
        s[C].bind(xo, te.thread_axis("blockIdx.x"))
        s[C].bind(xi, te.thread_axis("threadIdx.x"))
    return tl.build(s, [A, B, C], target=target)


@functools.cache
def _affine2d(symbolic=False, vectorize=False):
    n, m = (te.var("n"), te.var("m")) if symbolic else (4, 6)
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 2 + 1, name="B")
    s = te.create_schedule(B.op)
    if vectorize:
        s[B].vectorize(B.op.axis[1])
    return tl.build(s, [A, B])


def _unaligned(shape, offset=1):
    """A writeable float32 array whose data pointer is not 4-byte aligned."""
    n = int(np.prod(shape))
    out = np.frombuffer(bytearray(4 * n + offset), "float32", count=n, offset=offset).reshape(shape)
    assert not out.flags.aligned
    return out


def _as(x, kind):
    if kind == "matrix":
        return np.asmatrix(x)
    if kind == "masked":
        return np.ma.masked_array(x, mask=np.arange(x.size).reshape(x.shape) % 2 == 1)
    if kind == "unaligned":
        u = _unaligned(x.shape)
        u[...] = x
        return u
    return x


@pytest.mark.parametrize("kind", ["matrix", "masked", "unaligned"])
def test_array_subclasses_and_unaligned_arrays_give_numpy_results(kind):
    # numpy computes on a masked array's data, as a compiled function does.
    for f in (_affine2d(), _affine2d(vectorize=True), _affine2d(symbolic=True)):
        a = _f32(4, 6)
        out = _as(np.zeros((4, 6), "float32"), kind)
        f(_as(a, kind), out)
        np.testing.assert_allclose(np.asarray(out), a * 2 + 1, rtol=1e-6)


def test_memmaps_in_and_out(tmp_path):
    path = tmp_path / "c.dat"
    a, b = _f32(8), _f32(8)
    src = np.memmap(tmp_path / "a.dat", dtype="float32", mode="w+", shape=(8,))
    src[:] = a
    out = np.memmap(path, dtype="float32", mode="w+", shape=(8,))
    _vadd()(src, b, out)
    out.flush()
    np.testing.assert_allclose(np.fromfile(path, "float32"), a + b * 2, rtol=1e-6)
    with pytest.raises(ArgumentError, match="argument C is read-only"):
        _vadd()(a, b, np.memmap(path, dtype="float32", mode="r", shape=(8,)))


def _bad_layouts():
    a, b, out = _f32(8), _f32(8), np.zeros(8, "float32")
    big = _f32(24)
    shared = np.zeros(9, "float32")
    return {
        # inputs numpy takes but a compiled function reads as contiguous memory: refused
        "strided input": ((big[::2][:8], b, out), r"argument A is not C-contiguous; pass np.ascontiguousarray\(A\)"),
        "reversed input": ((a, b[::-1], out), "argument B is not C-contiguous"),
        "broadcast input": ((np.broadcast_to(np.float32(2), (8,)), b, out), "argument A is not C-contiguous"),
        "big-endian input": ((a.astype(">f4"), b, out), "argument A: expected float32, got >f4"),
        "float64 input": ((a.astype("float64"), b, out), "argument A: expected float32, got float64"),
        "bool input": ((a > 0, b, out), "argument A: expected float32, got bool"),
        "object input": ((a.astype(object), b, out), "argument A: expected float32, got object"),
        "0-d input": ((np.array(1, "float32"), b, out), r"argument A: expected 1 dimensions \(8,\), got 0"),
        "shape (1,) input": ((np.ones(1, "float32"), b, out), "argument A: dimension 0 must be 8, got 1"),
        "rank-2 input": ((a.reshape(2, 4), b, out), "argument A: expected 1 dimensions"),
        "numpy scalar": ((np.float32(1), b, out), "argument A: expected a numpy array of float32, got the numpy "
                                                  r"scalar float32 1.0; pass an array: np.asarray"),
        "list input": ((a.tolist(), b, out), "argument A: expected a numpy array of float32, got list"),
        "float input": ((1.5, b, out), "argument A: expected a numpy array of float32, got float"),
        "1-d matrix": ((np.asmatrix(a), b, out), r"argument A: expected 1 dimensions \(8,\), got 2"),
        # outputs: never written into a copy or into read-only memory
        "strided output": ((a, b, np.zeros(16, "float32")[::2]), "argument C is not C-contiguous"),
        "reversed output": ((a, b, out[::-1]), "argument C is not C-contiguous"),
        "broadcast output": ((a, b, np.broadcast_to(out[:1], (8,))), "argument C is not C-contiguous"),
        "read-only output": ((a, b, _read_only(out)), "argument C is read-only, but default_function writes to it"),
        "float64 output": ((a, b, np.zeros(8)), "argument C: expected float32, got float64"),
        "list output": ((a, b, [0.0] * 8), "argument C: expected a numpy array of float32, got list"),
        "output is input": ((a, b, a), "arguments A and C overlap in memory"),
        "output overlaps input": ((shared[:8], b, shared[1:]), "arguments A and C overlap in memory"),
        "output views input": ((a, b, np.frombuffer(a.data, "float32")), "arguments A and C overlap in memory"),
    }


def test_bad_layouts_name_the_argument_and_write_nothing():
    f = _vadd()
    for name, (args, message) in _bad_layouts().items():
        before = [np.array(x, copy=True) if isinstance(x, np.ndarray) else None for x in args]
        with pytest.raises(ArgumentError, match=message):
            f(*args)
        for x, was in zip(args, before):
            if was is not None:
                np.testing.assert_array_equal(np.asarray(x), was, err_msg=name)


def test_two_dimensional_views_and_fortran_order_are_refused():
    f = _affine2d(symbolic=True)
    m = _f32(6, 4)
    for a in (m.T, np.asfortranarray(_f32(4, 6)), _f32(4, 6)[:, ::-1], _f32(8, 6)[::2]):
        with pytest.raises(ArgumentError, match="argument A is not C-contiguous"):
            f(a, np.zeros(a.shape, "float32"))
    with pytest.raises(ArgumentError, match="argument B is not C-contiguous"):
        f(m.T.copy(), np.zeros((6, 4), "float32").T.copy().T)
    # contiguous views at any offset, and disjoint views of one buffer, are fine
    store = np.zeros(60, "float32")
    store[1:25] = _f32(24)
    f(store[1:25].reshape(4, 6), store[30:54].reshape(4, 6))
    np.testing.assert_allclose(store[30:54], store[1:25] * 2 + 1, rtol=1e-6)
    assert (store[25:30] == 0).all() and (store[54:] == 0).all()


@functools.cache
def _add_scalar(dtype):
    v = te.var("v", dtype)
    A = te.placeholder((4,), dtype, name="A")
    B = te.compute((4,), lambda i: A[i] + v, name="B")
    return tl.build(te.create_schedule(B.op), [A, v, B])


def test_scalar_arguments():
    for dtype, value in (("int32", np.int64(-7)), ("int32", True), ("int64", 2**40), ("float32", np.float64(1.5)),
                         ("float32", 3), ("float32", float("nan")), ("float32", float("-inf")), ("int8", 100)):
        a = (rng.integers(-100, 100, 4) if dtype.startswith("int") else rng.standard_normal(4)).astype(dtype)
        b = np.zeros(4, dtype)
        _add_scalar(dtype)(a, value, b)
        with np.errstate(over="ignore"):
            want = a + np.array(value).astype(dtype)  # int8 wraps around, NaN propagates
        np.testing.assert_array_equal(b, want)
    bad = [("int32", 2**40, "argument v: 1099511627776 does not fit in int32"),
           ("int32", -2**31 - 1, "does not fit in int32"),
           ("int32", float("nan"), "argument v: expected a int32 scalar, got float nan"),
           ("int64", 3.0, "expected a int64 scalar, got float 3.0"),
           ("int64", 2**63, "does not fit in int64"),
           ("int8", np.uint64(200), "argument v: 200 does not fit in int8"),
           ("float32", 1e39, r"argument v: 1e\+39 is beyond the range of float32"),
           ("float32", "1.5", "expected a float32 scalar, got str"),
           ("float32", np.array(1.5), "expected a float32 scalar, got ndarray"),
           ("float32", None, "expected a float32 scalar, got NoneType")]
    for dtype, value, message in bad:
        with pytest.raises(ArgumentError, match=message):
            _add_scalar(dtype)(np.zeros(4, dtype), value, np.zeros(4, dtype))


@functools.cache
def _row_reduce(reducer):
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((n,), lambda i: reducer(A[i, k], axis=k), name="B")
    return tl.build(te.create_schedule(B.op), [A, B])


@functools.cache
def _pair_formula():
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n * 2,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[2 * i + 1], name="C")
    return tl.build(te.create_schedule(C.op), [A, B, C])


def test_symbolic_shapes_consistent_inconsistent_and_empty():
    f = _pair_formula()
    a, b = _f32(5), _f32(10)
    c = np.zeros(5, "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a + b[1::2], rtol=1e-6)
    with pytest.raises(ArgumentError, match=r"argument B: dimension 0 must be \(n \* 2\) = 10, got 11"):
        f(a, _f32(11), c)
    with pytest.raises(ArgumentError, match="argument C: dimension 0 is 4, but n = 5 from argument A"):
        f(a, b, np.zeros(4, "float32"))
    f(_f32(0), _f32(0), np.zeros(0, "float32"))
    out = _f32(3)  # a sum over an empty axis is 0, whatever the output held
    _row_reduce(te.sum)(np.zeros((3, 0), "float32"), out)
    np.testing.assert_array_equal(out, np.zeros((3, 0), "float32").sum(axis=1))
    with pytest.raises(ArgumentError, match="max has no identity for an empty reduction"):
        _row_reduce(te.max)(np.zeros((3, 0), "float32"), _f32(3))
    a = _f32(3, 5)
    _row_reduce(te.max)(a, out)
    np.testing.assert_array_equal(out, a.max(axis=1))


def test_shapes_past_int32_index_math_are_right_or_refused(tmp_path):
    # Sparse files: the arrays take no memory, only the elements read are touched.
    def sparse(name, shape):
        arr = np.memmap(tmp_path / name, dtype="int8", mode="w+", shape=shape)
        arr.flat[-1], arr.flat[0] = 77, 11
        return arr

    big = sparse("big.dat", (65536, 65536))  # 2**32 elements: the last one's flat index overflows int32
    A = te.placeholder((65536, 65536), "int8", name="A")
    n, m = te.var("n"), te.var("m")
    S = te.placeholder((n, m), "int8", name="S")
    for src, read in ((A, lambda i: A[65535, 65535 - i]), (S, lambda i: S[n - 1, m - 1 - i])):
        B = te.compute((1,), read, name="B")
        out = np.zeros(1, "int8")
        tl.build(te.create_schedule(B.op), [src, B])(big, out)
        assert out[0] == 77
    f = _pair_formula_int8()
    half = 2**30 + 8
    with pytest.raises(ArgumentError, match=r"dimension 0 of B is \(n \* 2\), and \(n \* 2\) = 2147483664 does not "
                                            r"fit int32.*n = 1073741832 from dimension 0 of A"):
        f(sparse("a.dat", (half,)), sparse("b.dat", (2 * half,)), np.zeros(4, "int8"))


@functools.cache
def _pair_formula_int8():
    n = te.var("n")
    A = te.placeholder((n,), "int8", name="A")
    B = te.placeholder((n * 2,), "int8", name="B")
    C = te.compute((4,), lambda i: A[n - 1 - i] + B[2 * n - 1 - i], name="C")
    return tl.build(te.create_schedule(C.op), [A, B, C])


# --- te.extern inputs are read, not written (fixed) -----------------------------------------

@functools.cache
def _sort():
    A = te.placeholder((6,), name="A")
    B = topi.sort(A)
    return tl.build(te.create_schedule(B.op), [A, B])


@functools.cache
def _matmul():
    A = te.placeholder((4, 4), name="A")
    B = te.placeholder((4, 4), name="B")
    C = cblas.matmul(A, B)
    return tl.build(te.create_schedule(C.op), [A, B, C])


def test_extern_inputs_may_be_read_only_or_shared():
    # Refused before: "argument A is read-only, but default_function writes to it" and
    # "arguments A and B overlap in memory", though topi.sort and cblas only read their inputs.
    a = _read_only(_f32(6))
    out = np.zeros(6, "float32")
    _sort()(a, out)
    np.testing.assert_array_equal(out, np.sort(a))
    m = _read_only(_f32(4, 4))
    c = np.zeros((4, 4), "float32")
    _matmul()(m, m, c)
    np.testing.assert_allclose(c, m @ m, rtol=1e-5, atol=1e-6)
    # what the extern writes is still checked
    with pytest.raises(ArgumentError, match="argument sort_cpu is read-only"):
        _sort()(_f32(6), _read_only(out))
    with pytest.raises(ArgumentError, match="arguments A and sort_cpu overlap in memory"):
        _sort()(out, out)
    with pytest.raises(ArgumentError, match="arguments A and C overlap in memory"):
        _matmul()(c, m, c)


def test_extern_code_that_stores_into_its_input_still_needs_it_writeable():
    A = te.placeholder((8,), name="A")

    def body(ins, outs):
        ib = tir.ir_builder.create()
        a, b = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, 8, name="i") as i:
            b[i] = a[i] * 2.0
            a[i] = 0.0
        return ib.get()

    B = te.extern((8,), [A], body, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B])
    a = _read_only(_f32(8))
    with pytest.raises(ArgumentError, match="argument A is read-only, but default_function writes to it"):
        f(a, np.zeros(8, "float32"))
    assert (a != 0).all()


# --- NDArrays and DLPack -------------------------------------------------------------------

def test_nd_arrays_hold_native_tvm_dtypes():
    # Fixed: nd.array of big-endian data kept dtype '>f4' (no TVM dtype; no function took it),
    # and nd.empty read TVM's "float"/"int" as numpy's float64/int64.
    be = _f32(8).astype(">f4")
    x = tl.nd.array(be)
    assert x.dtype == "float32"
    np.testing.assert_array_equal(x.numpy(), be)
    b, c = _f32(8), tl.nd.empty((8,), "float32")
    _vadd()(x, b, c)
    np.testing.assert_allclose(c.numpy(), be.astype("float32") + b * 2, rtol=1e-6)
    assert tl.nd.empty((2,), ">f4").dtype == "float32"
    assert [tl.nd.empty((2,), t).dtype for t in ("float", "int", "uint")] == ["float32", "int32", "uint32"]
    assert tl.nd.array([1.7, -2.5], dtype="int").numpy().tolist() == [1, -2]


def test_nd_arrays_and_dlpack_views_as_arguments():
    a, b = _f32(8), _f32(8)
    for target in ("llvm", "cuda -emulate"):
        out = tl.nd.empty((8,), "float32")
        _vadd(target)(tl.nd.array(a), tl.nd.array(b), out)
        np.testing.assert_allclose(out.numpy(), a + b * 2, rtol=1e-6)
        with pytest.raises(ArgumentError, match="argument C is read-only"):
            _vadd(target)(a, b, tl.nd.from_dlpack(_read_only(a)))
        with pytest.raises(ArgumentError, match="argument B is not C-contiguous"):
            _vadd(target)(a, tl.nd.from_dlpack(_f32(16)[::2]), out)
    base = np.zeros(8, "float32")
    _vadd()(a, b, tl.nd.from_dlpack(base))  # a view: the caller's array is updated
    np.testing.assert_allclose(base, a + b * 2, rtol=1e-6)
    x = tl.nd.array(a)
    with pytest.raises(ArgumentError, match="arguments A and C overlap in memory"):
        _vadd()(x, b, x)
    with pytest.raises(ArgumentError, match="argument A is not C-contiguous"):
        _vadd()(tl.nd.from_dlpack(_f32(16)[::2]), b, base)
    ro = tl.nd.from_dlpack(_read_only(a))
    with pytest.raises(ArgumentError, match="argument C is read-only"):
        _vadd()(a, b, ro)
    with pytest.raises(ArgumentError, match="copyfrom: this NDArray views read-only memory"):
        ro.copyfrom(b)
    with pytest.raises(ArgumentError, match="to_dlpack: .*read-only memory"):
        ro.to_dlpack()
    np.testing.assert_array_equal(ro.numpy(), a)
    with pytest.raises(ArgumentError, match=re.escape("copyfrom: shape (2, 4) does not match (8,)")):
        x.copyfrom(a.reshape(2, 4))
    with pytest.raises(ArgumentError, match=re.escape("copyto: this array's shape (8,) does not match the target's")):
        x.copyto(tl.nd.empty((4,)))
    with pytest.raises(ArgumentError, match="from_dlpack: cannot view ndarray"):
        tl.nd.from_dlpack(a.astype(">f4"))


def test_read_only_device_array_is_no_output():
    # Fixed: __cuda_array_interface__'s read-only flag was ignored, so a CUDA module would have
    # written into a read-only GPU array.  (Binding touches no device: no GPU is needed.)
    binder = ArgBinder(_vadd().signature, device_arrays=True)

    class DeviceArray:
        def __init__(self, address, read_only):
            self.__cuda_array_interface__ = {"shape": (8,), "typestr": "<f4", "data": (address, read_only),
                                             "strides": None, "version": 3}

    inputs = (DeviceArray(0x10000, True), DeviceArray(0x20000, True))  # read-only inputs are fine
    assert binder.bind((*inputs, DeviceArray(0x30000, False))).device == {0: 0x10000, 1: 0x20000, 2: 0x30000}
    with pytest.raises(ArgumentError, match="argument C is a read-only device array, but default_function writes"):
        binder.bind((*inputs, DeviceArray(0x30000, True)))


def test_emulated_grid_a_gpu_cannot_launch_is_refused():
    # Fixed: "cuda -emulate" ran any grid, where a GPU call of the same arguments fails
    # (gridDim.y is at most 65535): a program tested by emulation must fail the same way.
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=4)
    s[B].bind(xo, te.thread_axis("blockIdx.y"))
    s[B].bind(xi, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B], target="cuda -emulate")
    for size in (7, 65535 * 4):
        a, b = _f32(size), np.zeros(size, "float32")
        f(a, b)
        np.testing.assert_array_equal(b, a * 2)
    a, b = np.ones(65535 * 4 + 1, "float32"), np.zeros(65535 * 4 + 1, "float32")
    with pytest.raises(ArgumentError, match=r"kernel \w+ needs more than 65535 blocks along y for these arguments, "
                                            r"which no GPU launches \(n = 262141 from dimension 0 of A\)"):
        f(a, b)
    assert not b.any()


def test_numpy_reads_an_ndarray_as_its_contents():
    a = np.random.default_rng().standard_normal((3, 5)).astype("float32")
    nd = tl.nd.array(a)
    np.testing.assert_array_equal(nd, a)
    assert np.asarray(nd).dtype == np.float32 and np.asarray(nd, dtype="float64").dtype == np.float64
    got = np.asarray(nd)
    got[0, 0] += 1  # a copy: the NDArray keeps its contents
    np.testing.assert_array_equal(nd.numpy(), a)


def test_messages_name_an_array_by_shape_and_copyto_in_its_own_terms():
    k = te.var("k", dtype="float32")
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * k, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B, k])
    a = np.random.default_rng().standard_normal(8).astype("float32")
    b = np.empty_like(a)
    with pytest.raises(ArgumentError, match=r"argument k: expected a float32 scalar, got NDArray of shape \(100,\)$"):
        f(a, b, tl.nd.array(np.arange(100, dtype="float32")))
    f(a, b, np.float32(1.5))
    np.testing.assert_array_equal(b, a * np.float32(1.5))
    with pytest.raises(ArgumentError, match=r"copyto: this array's shape \(8,\) does not match the target's \(4,\)"):
        tl.nd.array(a).copyto(tl.nd.empty((4,), "float32"))
